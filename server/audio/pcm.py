"""PCM16 conversion and a streaming resampler to the 16 kHz that Whisper and Silero expect."""

from __future__ import annotations

import numpy as np

TARGET_RATE = 16000


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Little-endian signed 16-bit mono PCM to float32 in [-1, 1)."""
    samples: np.ndarray = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return samples


def float_to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    pcm: bytes = (clipped * 32767.0).astype("<i2").tobytes()
    return pcm


def _lowpass_taps(cutoff: float, num_taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass; `cutoff` is a fraction of the input Nyquist rate."""
    n = np.arange(num_taps) - (num_taps - 1) / 2
    taps = cutoff * np.sinc(cutoff * n) * np.blackman(num_taps)
    normalized: np.ndarray = (taps / taps.sum()).astype(np.float32)
    return normalized


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
        out: np.ndarray = np.interp(instants, np.arange(len(buffer)), buffer).astype(np.float32)
        next_position = self._position + self._step * count
        keep_from = int(np.floor(next_position))
        self._tail = buffer[keep_from:]
        self._position = next_position - keep_from
        return out


class SampleBuffer:
    """The recent input of one connection: 16 kHz samples, appended a frame at a time,
    dropped from the front, addressed by absolute sample index (samples since the
    stream began), so that positions stay exact however much has been dropped.

    Frames are copied into spare room at the end, the room doubling when it runs out:
    concatenating each 20 ms frame onto the turn so far copies the whole turn 50 times
    a second (a two-minute answer, ~1.5 GB a minute, and past glibc's 4 MB mmap
    threshold, fresh pages for every frame).
    """

    def __init__(self, rate: int = TARGET_RATE, initial_s: float = 4.0) -> None:
        self.rate = rate
        self._min_room = max(1, int(rate * initial_s))
        self._data = np.zeros(self._min_room, dtype=np.float32)
        self._lo = self._hi = 0  # the held samples are _data[_lo:_hi]
        self.start = 0  # absolute index of _data[_lo]

    def __len__(self) -> int:
        return self._hi - self._lo

    @property
    def end(self) -> int:
        """Absolute index one past the newest sample: every sample ever appended."""
        return self.start + len(self)

    def seconds(self, index: int) -> float:
        return index / self.rate

    def index(self, t: float) -> int:
        return round(t * self.rate)

    def append(self, samples: np.ndarray) -> None:
        n = len(samples)
        if self._hi + n > len(self._data):
            self._make_room(n)
        self._data[self._hi:self._hi + n] = samples
        self._hi += n

    def drop_before(self, index: int) -> None:
        """Forget the samples before absolute `index` (kept: all from it on)."""
        kept_from = max(self.start, min(index, self.end))
        self._lo += kept_from - self.start
        self.start = kept_from

    def between(self, first: int, stop: int) -> np.ndarray:
        """A copy of absolute samples [first, stop), clipped to what is held."""
        lo = self._lo + max(0, first - self.start)
        hi = self._lo + min(len(self), max(0, stop - self.start))
        return self._data[lo:max(lo, hi)].copy()

    def prepend(self, samples: np.ndarray) -> None:
        """Put back samples that were dropped from the front (they end at `start`)."""
        held = self._data[self._lo:self._hi]
        self._data = np.concatenate([samples, held, np.zeros(self._min_room, np.float32)])
        self._lo, self._hi = 0, len(samples) + len(held)
        self.start -= len(samples)

    def _make_room(self, n: int) -> None:
        needed = len(self) + n
        size = len(self._data)
        # Twice what is needed when it grows (appends stay amortized O(1)); shrunk back
        # when a long turn has gone, so a session keeps its largest turn's memory only
        # while that turn is held.
        if needed > size // 2 or (size > self._min_room and needed <= size // 4):
            size = max(self._min_room, 2 * needed)
        held = self._data[self._lo:self._hi]
        if size == len(self._data):
            self._data[:len(held)] = held  # numpy copes with the overlap
        else:
            data = np.zeros(size, dtype=np.float32)
            data[:len(held)] = held
            self._data = data
        self._lo, self._hi = 0, needed - n
