"""Every use of faster-whisper (and its CTranslate2 model) in one place.

Also the two parts other models borrow from it: the Silero VAD session (`audio/vad.py`)
and the log-mel extractor (Smart Turn, `engines/turn_end.py`).

`stt.py` decodes short windows itself (see its module doc), which needs faster-whisper's
internals: the feature extractor, `model.model.encode` / `generate`, the prompt builder,
the tokenizer, the suppressed tokens and the word-timestamp aligner. None of them is a
public API, and a minor release may change any of them without notice, so they are
reached only from here, pinned to the version they were tested on
(`tests/test_whisper_golden.py` checks the exact text and word timings of each road).
A different version stops the import with a message saying what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faster_whisper
import numpy as np

#: The faster-whisper releases these internals were tested on (pyproject pins the same).
TESTED_VERSIONS = ((1, 2, 1), (1, 3, 0))  # from (inclusive), below (exclusive)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in text.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_version(found: str) -> None:
    """Raise ImportError naming the tested range when `found` lies outside it."""
    low, high = TESTED_VERSIONS
    if not low <= _version_tuple(found) < high:
        raise ImportError(
            f"viva uses faster-whisper internals tested on {'.'.join(map(str, low))} up to "
            f"(not including) {'.'.join(map(str, high))}; this environment has {found}. "
            f"Install the tested one: pip install 'faster-whisper>=1.2.1,<1.3'")


check_version(faster_whisper.__version__)

# After the check: these are the internals the check vouches for.
import ctranslate2  # noqa: E402  (installed with faster-whisper, pinned by it)
from faster_whisper import WhisperModel  # noqa: E402
from faster_whisper.audio import decode_audio as _decode_audio  # noqa: E402
from faster_whisper.feature_extractor import FeatureExtractor  # noqa: E402
from faster_whisper.tokenizer import Tokenizer  # noqa: E402
from faster_whisper.transcribe import get_suppressed_tokens  # noqa: E402
from faster_whisper.vad import get_vad_model  # noqa: E402

_PREPEND_PUNCTUATION = "\"'“¿([{-"
_APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class Decoded:
    """One window's greedy decoding: token ids (the prompt left out), the mean log
    probability CTranslate2 scored it with, and the no-speech probability."""

    tokens: list[int]
    score: float
    no_speech_prob: float


@dataclass(frozen=True)
class Segment:
    """One segment of faster-whisper's own `transcribe`, drained."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    words: list[tuple[str, float, float, float]]  # word, start, end, probability


class WhisperInternals:
    """One loaded Whisper model and the faster-whisper internals `WhisperSTT` drives.

    Not thread-safe: one CTranslate2 model decodes one request at a time (the caller
    holds a lock)."""

    def __init__(self, model_path: str, device: str, compute_type: str, cpu_threads: int) -> None:
        self._model = WhisperModel(model_path, device=device, compute_type=compute_type,
                                   cpu_threads=cpu_threads, local_files_only=True)
        self._tokenizers: dict[str, Tokenizer] = {}

    # ---------------------------------------------------------------- tokens

    def _tokenizer(self, language: str) -> Tokenizer:
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(
                self._model.hf_tokenizer, self._model.model.is_multilingual,
                task="transcribe", language=language)
        return self._tokenizers[language]

    def encode_text(self, language: str, text: str) -> list[int]:
        return list(self._tokenizer(language).encode(text))

    def decode_tokens(self, language: str, tokens: list[int]) -> str:
        return str(self._tokenizer(language).decode(tokens))

    def end_of_text(self, language: str) -> int:
        return int(self._tokenizer(language).eot)

    def prompt(self, language: str, previous: list[int]) -> list[int]:
        """The decoder prompt: previous text tokens, then start-of-transcript, language,
        task and no-timestamps tokens."""
        return list(self._model.get_prompt(self._tokenizer(language), previous,
                                           without_timestamps=True))

    # ---------------------------------------------------------------- windows

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Log-mel features (mels x 10 ms frames); the last frame is padding."""
        return np.asarray(self._model.feature_extractor(audio))

    def encode(self, window: np.ndarray) -> Any:
        """The encoder output of one (mels x frames) window, an even frame count."""
        return self._model.model.encode(ctranslate2.StorageView.from_array(window[None]))

    def generate(self, encoded: Sequence[Any], prompts: list[list[int]], language: str,
                 beam_size: int, max_length: int) -> list[Decoded]:
        """Decode encoder outputs (one per window, equal widths) together, prompts of one
        length; suppresses blanks and Whisper's default non-speech tokens."""
        batch = encoded[0] if len(encoded) == 1 else ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.concatenate([np.asarray(e) for e in encoded])))
        tokenizer = self._tokenizer(language)
        results = self._model.model.generate(
            batch, prompts, beam_size=beam_size, max_length=max_length,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
        )
        return [Decoded(list(r.sequences_ids[0]), float(r.scores[0]), float(r.no_speech_prob))
                for r in results]

    def word_timings(self, language: str, encoded: Any, frames: int, tokens: list[int],
                     duration_s: float) -> list[tuple[str, float, float, float]]:
        """Words of a decoded window with their times, aligned on cross-attention:
        (word, start, end, probability)."""
        segments: list[list[dict[str, Any]]] = [
            [{"seek": 0, "start": 0.0, "end": duration_s, "tokens": tokens}]]
        self._model.add_word_timestamps(segments, self._tokenizer(language), encoded, frames,
                                        _PREPEND_PUNCTUATION, _APPEND_PUNCTUATION, 0.0)
        return [(str(w["word"]), float(w["start"]), float(w["end"]), float(w["probability"]))
                for w in segments[0][0].get("words", [])]

    # ---------------------------------------------------------------- the 30 s road

    def transcribe(self, audio: np.ndarray, **options: Any) -> list[Segment]:
        """faster-whisper's own `transcribe`, its lazy generator drained here."""
        segments, _info = self._model.transcribe(audio, **options)
        return [
            Segment(s.text, float(s.no_speech_prob), float(s.avg_logprob),
                    [(w.word, float(w.start), float(w.end), float(w.probability))
                     for w in (s.words or [])])
            for s in segments
        ]


def decode_audio(path: Path | str) -> np.ndarray:
    """A sound file as 16 kHz mono float32 (faster-whisper's PyAV decoder)."""
    return np.asarray(_decode_audio(str(path), sampling_rate=16000), dtype=np.float32)


def silero_session() -> Any:
    """The Silero VAD ONNX session that ships inside faster-whisper."""
    return get_vad_model().session


def log_mel_extractor(mels: int, sampling_rate: int, window_s: int) -> Callable[..., np.ndarray]:
    """Whisper's log-mel extractor for another model's input (Smart Turn's 80 x 8 s):
    called as `extract(audio, padding=0)`."""
    extract: Callable[..., np.ndarray] = FeatureExtractor(
        feature_size=mels, sampling_rate=sampling_rate, chunk_length=window_s)
    return extract
