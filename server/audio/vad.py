"""Frame-by-frame voice activity with faster-whisper's bundled Silero VAD model.

faster-whisper's own wrapper runs the model over a whole recording; a live
conversation needs it one 32 ms frame at a time, carrying the recurrent state
and the 64-sample context from frame to frame, so each connection owns a
`StreamingVad` over the one shared ONNX session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

FRAME_SAMPLES = 512  # 32 ms at 16 kHz, the frame size Silero was trained on
CONTEXT_SAMPLES = 64
FRAME_S = FRAME_SAMPLES / 16000
#: A frame whose loudest sample stays below this (-66 dBFS) is silence without asking
#: the model. Quiet speech peaks 30 dB above it; an echo-cancelled microphone while
#: the interviewer talks, and the gaps between answers, sit below it. Under load the
#: model was 9 % of the server's CPU, one call per 32 ms per session.
SILENCE_PEAK = 0.0005


class SpeechProbabilityModel(Protocol):
    def frame_probability(self, frame: np.ndarray, state: VadState) -> float: ...


@dataclass
class VadState:
    h: np.ndarray
    c: np.ndarray
    context: np.ndarray

    @classmethod
    def initial(cls) -> VadState:
        return cls(
            h=np.zeros((1, 1, 128), dtype=np.float32),
            c=np.zeros((1, 1, 128), dtype=np.float32),
            context=np.zeros((1, CONTEXT_SAMPLES), dtype=np.float32),
        )


class SileroModel:
    """The shared Silero ONNX session (thread-safe for concurrent `run` calls)."""

    def __init__(self) -> None:
        from server.engines.whisper_internals import silero_session

        self._session = silero_session()

    def frame_probability(self, frame: np.ndarray, state: VadState) -> float:
        batch = np.concatenate([state.context, frame.reshape(1, -1)], axis=1)
        out, state.h, state.c = self._session.run(None, {"input": batch, "h": state.h, "c": state.c})
        state.context = frame[-CONTEXT_SAMPLES:].reshape(1, -1)
        return float(np.asarray(out).reshape(-1)[0])


@dataclass(frozen=True)
class VadFrame:
    """One analysed frame: `t` is its end, in seconds of input audio."""

    t: float
    probability: float
    speech: bool
    changed: bool  # the smoothed state flipped at this frame


class StreamingVad:
    """Per-connection detector with hysteresis so that one noisy frame flips nothing.

    Speech starts after `start_frames` frames above `threshold`; it ends after
    `end_frames` frames below `threshold - 0.15`.
    """

    def __init__(
        self,
        model: SpeechProbabilityModel,
        threshold: float = 0.5,
        start_frames: int = 3,
        end_frames: int = 4,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.start_frames = start_frames
        self.end_frames = end_frames
        self.state = VadState.initial()
        self.speech = False
        self._pending = np.zeros(0, dtype=np.float32)
        self._run = 0
        self.frames_seen = 0

    @property
    def onset_pending(self) -> bool:
        """Frames above the threshold in a row, not yet enough to call speech."""
        return not self.speech and self._run > 0

    def process(self, samples: np.ndarray, threshold: float | None = None) -> list[VadFrame]:
        """Feed 16 kHz float samples; returns the frames completed by them."""
        self._pending = np.concatenate([self._pending, samples])
        enter = self.threshold if threshold is None else threshold
        leave = enter - 0.15
        frames: list[VadFrame] = []
        while len(self._pending) >= FRAME_SAMPLES:
            frame = self._pending[:FRAME_SAMPLES]
            self._pending = self._pending[FRAME_SAMPLES:]
            if float(np.abs(frame).max()) < SILENCE_PEAK:
                # Digital silence: nothing to hear, and a fresh state for what follows.
                p = 0.0
                self.state = VadState.initial()
            else:
                p = self.model.frame_probability(frame, self.state)
            self.frames_seen += 1
            changed = False
            if self.speech:
                self._run = self._run + 1 if p < leave else 0
                if self._run >= self.end_frames:
                    self.speech, changed, self._run = False, True, 0
            else:
                self._run = self._run + 1 if p >= enter else 0
                if self._run >= self.start_frames:
                    self.speech, changed, self._run = True, True, 0
            frames.append(VadFrame(self.frames_seen * FRAME_S, p, self.speech, changed))
        return frames
