"""The input buffer against a plain array that is concatenated and sliced."""

from __future__ import annotations

import random

import numpy as np

from server.audio.pcm import SampleBuffer


def test_appends_drops_and_putting_back_match_a_plain_array() -> None:
    rng = random.Random(7)
    buffer = SampleBuffer(rate=100, initial_s=0.5)
    plain = np.zeros(0, dtype=np.float32)
    start = 0
    counter = 0
    for _ in range(3000):
        action = rng.random()
        if action < 0.7:  # a frame, sometimes a long burst
            n = rng.choice([20, 20, 20, 320, 1500])
            frame = np.arange(counter, counter + n, dtype=np.float32)
            counter += n
            buffer.append(frame)
            plain = np.concatenate([plain, frame])
        elif action < 0.85:
            index = start + rng.randint(-5, len(plain) + 5)
            kept = max(start, min(index, start + len(plain)))
            taken = plain[:kept - start]
            buffer.drop_before(index)
            plain, start = plain[kept - start:], kept
            if rng.random() < 0.3:  # the turn went on: put it back
                buffer.prepend(taken)
                plain, start = np.concatenate([taken, plain]), start - len(taken)
        else:
            first = start + rng.randint(-10, len(plain) + 10)
            stop = first + rng.randint(-5, 400)
            lo, hi = max(first, start) - start, min(stop, start + len(plain)) - start
            assert np.array_equal(buffer.between(first, stop), plain[lo:max(lo, hi)])
        assert len(buffer) == len(plain)
        assert buffer.start == start
        assert buffer.end == start + len(plain)
    assert np.array_equal(buffer.between(buffer.start, buffer.end), plain)


def test_a_long_turn_grows_the_room_and_leaving_it_gives_the_room_back() -> None:
    buffer = SampleBuffer(rate=16000, initial_s=4.0)
    frame = np.ones(320, dtype=np.float32)
    for _ in range(50 * 120):  # two minutes of 20 ms frames
        buffer.append(frame)
    grown = buffer._data.nbytes
    assert grown >= len(buffer) * 4
    assert grown <= 2 * len(buffer) * 4 + 4 * 16000 * 4  # never more than twice what it holds
    buffer.drop_before(buffer.end - 32000)
    for _ in range(50 * 10):
        buffer.append(frame)
        buffer.drop_before(buffer.end - 32000)
    assert buffer._data.nbytes < grown / 4


def test_between_is_a_copy() -> None:
    buffer = SampleBuffer(rate=100)
    buffer.append(np.ones(50, dtype=np.float32))
    piece = buffer.between(0, 10)
    piece[:] = 5
    assert buffer.between(0, 10).tolist() == [1.0] * 10
