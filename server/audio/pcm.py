"""PCM16 conversion and a streaming resampler to the 16 kHz that Whisper and Silero expect."""

from __future__ import annotations

import numpy as np

TARGET_RATE = 16000


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Little-endian signed 16-bit mono PCM to float32 in [-1, 1)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def _lowpass_taps(cutoff: float, num_taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass; `cutoff` is a fraction of the input Nyquist rate."""
    n = np.arange(num_taps) - (num_taps - 1) / 2
    taps = cutoff * np.sinc(cutoff * n) * np.blackman(num_taps)
    return (taps / taps.sum()).astype(np.float32)


class StreamingResampler:
    """Resamples a stream chunk by chunk, with no clicks at chunk boundaries.

    Downsampling first low-passes below the new Nyquist rate (otherwise a 48 kHz
    microphone folds its hiss into the speech band), then interpolates at the
    output instants. Filter history and the fractional read position carry over
    between chunks, so the output is the same as for one long buffer.
    """

    def __init__(self, source_rate: int, target_rate: int = TARGET_RATE) -> None:
        self.source_rate = source_rate
        self.target_rate = target_rate
        self._step = source_rate / target_rate
        self._taps = _lowpass_taps(0.9 / self._step) if self._step > 1 else None
        self._filter_history = np.zeros(0 if self._taps is None else len(self._taps) - 1,
                                        dtype=np.float32)
        self._tail = np.zeros(0, dtype=np.float32)  # filtered samples not yet consumed
        self._position = 0.0  # next output instant, in input samples from the tail's start

    def process(self, samples: np.ndarray) -> np.ndarray:
        if self.source_rate == self.target_rate:
            return samples.astype(np.float32, copy=False)
        if self._taps is not None:
            padded = np.concatenate([self._filter_history, samples])
            filtered = np.convolve(padded, self._taps, mode="valid").astype(np.float32)
            self._filter_history = padded[len(padded) - (len(self._taps) - 1):]
        else:
            filtered = samples.astype(np.float32, copy=False)
        buffer = np.concatenate([self._tail, filtered])
        if len(buffer) < 2:
            self._tail = buffer
            return np.zeros(0, dtype=np.float32)
        # Output instants that have both neighbours inside the buffer.
        last = len(buffer) - 1
        count = max(0, int(np.floor((last - self._position) / self._step)) + 1)
        instants = self._position + self._step * np.arange(count)
        out = np.interp(instants, np.arange(len(buffer)), buffer).astype(np.float32)
        next_position = self._position + self._step * count
        keep_from = int(np.floor(next_position))
        self._tail = buffer[keep_from:]
        self._position = next_position - keep_from
        return out
