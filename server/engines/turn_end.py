"""Whether the candidate sounds finished: Smart Turn v3.2 on the last seconds of a turn.

Smart Turn (pipecat-ai, BSD-2-Clause) is a Whisper-tiny encoder with a classifier,
trained on the prosody of finished and unfinished turns; it reads intonation and pacing
that the words alone do not carry ("...is too simple, and" sounds unfinished; so does a
sentence said with a rising, thinking tone). The ONNX file ships inside the pipecat-ai
wheel; it is found there without importing pipecat. Features: Whisper's 80-bin log-mel
over exactly 8 s (faster-whisper's extractor gives the reference's features to within
float rounding, checked in tests/test_turn_end.py), the waveform first normalized to zero
mean and unit variance, as the model was trained.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from server.config import SettingsError

RATE = 16_000
WINDOW_S = 8  # the model's input: the last 8 s of the turn, left-padded with silence
BUNDLED_SMART_TURN = "bundled:smart-turn-v3.2"
_BUNDLED_FILE = ("audio", "turn", "smart_turn", "data", "smart-turn-v3.2-cpu.onnx")


class TurnEndModel(Protocol):
    name: str

    def complete_probability(self, audio: np.ndarray) -> float:
        """P(the speaker has finished their turn), from 16 kHz float audio ending at the
        start of the silence being weighed."""
        ...


def bundled_smart_turn() -> Path:
    spec = importlib.util.find_spec("pipecat")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location).joinpath(*_BUNDLED_FILE)
        if path.is_file():
            return path
    raise SettingsError("Smart Turn v3.2 comes with the pipecat-ai package, which is not "
                        "installed (pip install pipecat-ai), or set VIVA_TURN_MODEL=off")


def resolve_turn_model(name: str) -> Path:
    if name == BUNDLED_SMART_TURN:
        return bundled_smart_turn()
    path = Path(name).expanduser()
    if not path.is_file():
        raise SettingsError(f"turn model {name!r}: no such ONNX file")
    return path


class SmartTurn:
    """One shared ONNX session; `complete_probability` is safe from several threads."""

    def __init__(self, model: str = BUNDLED_SMART_TURN) -> None:
        import onnxruntime

        from server.engines.whisper_internals import log_mel_extractor

        path = resolve_turn_model(model)
        options = onnxruntime.SessionOptions()
        # One thread: a call is ~10-80 ms, and more threads only fight Whisper for the cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session: Any = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._features = log_mel_extractor(80, RATE, WINDOW_S)
        self.name = f"smart-turn:{path.name}"

    def features(self, audio: np.ndarray) -> np.ndarray:
        """(80, 800) log-mel of the last 8 s, left-padded with silence."""
        window = np.asarray(audio, dtype=np.float32)[-WINDOW_S * RATE:]
        window = np.pad(window, (WINDOW_S * RATE - len(window), 0))
        window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        mel: np.ndarray = self._features(window, padding=0)[:, : WINDOW_S * RATE // 160]
        return mel.astype(np.float32)

    def complete_probability(self, audio: np.ndarray) -> float:
        features = self.features(audio)[None]
        (logits,) = self._session.run(None, {"input_features": features})
        return float(np.asarray(logits).reshape(-1)[0])
