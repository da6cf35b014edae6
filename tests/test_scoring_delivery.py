"""Delivery metrics on hand-made word timings and VAD segments (pure, table-driven)."""

from __future__ import annotations

import pytest

from server.scoring.delivery import (
    DeliveryMetrics,
    TimedWord,
    biggest_habit,
    count_fillers,
    count_repetitions,
    delivery_score,
    find_hedges,
    measure,
)


def timed(text: str, start: float = 0.0, step: float = 0.4) -> list[TimedWord]:
    return [TimedWord(w, start + i * step, start + i * step + step * 0.8)
            for i, w in enumerate(text.split())]


@pytest.mark.parametrize(("text", "expected"), [
    ("Um, so, uh, bias is error", 2),
    ("I think erm the hmm model", 2),
    ("summary of umbrella", 0),
    ("", 0),
])
def test_count_fillers(text, expected):
    assert count_fillers(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("I think it is maybe the bias, sort of.", ["i think", "maybe", "sort of"]),
    ("It is kind of like probably overfitting", ["kind of", "probably"]),
    ("The kindness of strangers", []),
])
def test_find_hedges(text, expected):
    assert sorted(find_hedges(text)) == sorted(expected)


@pytest.mark.parametrize(("words", "expected"), [
    ("the the model", 1),
    ("it is it is overfitting", 1),
    ("bias and variance", 0),
    ("um um the model", 0),  # filler repeats are counted as fillers, not restarts
])
def test_count_repetitions(words, expected):
    assert count_repetitions(words.split()) == expected


def test_pace_and_duration_come_from_vad_segments():
    words = timed(" ".join(["word"] * 30), step=0.4)  # Whisper's times: 12 s
    segments = [(0.0, 5.0), (5.5, 10.0)]  # the VAD: 10 s from first to last speech
    metrics = measure(words, segments, "word " * 30)
    assert metrics.words == 30
    assert metrics.duration_s == 10.0
    assert metrics.wpm == 180.0
    assert metrics.long_pauses == []
    assert metrics.speaking_s == 9.5


def test_long_pauses_are_vad_gaps_of_at_least_1_5_s():
    segments = [(0.0, 3.0), (4.0, 6.0), (8.5, 10.0), (12.0, 14.0)]
    metrics = measure(timed("a b c d e f"), segments, "a b c d e f")
    assert metrics.long_pauses == [2.5, 2.0]


def test_fillers_take_the_larger_of_plain_and_verbatim_counts():
    metrics = measure(timed("so bias is error"), [(0.0, 30.0)], "So, bias is error.",
                      verbatim_text="Um, so, uh, bias is, um, error.")
    assert metrics.filler_count == 3
    assert metrics.fillers_per_min == 6.0


def test_time_to_first_word_is_passed_through():
    assert measure(timed("a"), [(0, 1)], "a", time_to_first_word_s=2.5).time_to_first_word_s == 2.5


def test_no_words_no_pace():
    metrics = measure([], [], "")
    assert (metrics.words, metrics.wpm, metrics.fillers_per_min) == (0, 0.0, 0.0)
    assert delivery_score(metrics) == 0.0


def _metrics(**changes) -> DeliveryMetrics:
    base = dict(words=150, duration_s=60.0, wpm=150.0, filler_count=0, fillers_per_min=0.0)
    base.update(changes)
    return DeliveryMetrics(**base)


@pytest.mark.parametrize(("changes", "low", "high"), [
    ({}, 100, 100),  # fluent, in the band
    ({"wpm": 200.0}, 75, 85),  # too fast: 30 wpm over
    ({"wpm": 90.0}, 75, 85),  # too slow: 30 wpm under
    ({"filler_count": 8, "fillers_per_min": 8.0}, 65, 75),
    ({"long_pauses": [2.0, 3.0]}, 85, 90),
    ({"hedges": 4}, 85, 90),
    ({"wpm": 230.0, "fillers_per_min": 12.0, "long_pauses": [2, 2, 2, 2, 2],
      "hedges": 9, "repetitions": 9}, 0, 20),
])
def test_delivery_score_rewards_band_and_penalises_habits(changes, low, high):
    assert low <= delivery_score(_metrics(**changes)) <= high


def test_biggest_habit_names_the_worst_one_specifically():
    habit = biggest_habit(_metrics(filler_count=10, fillers_per_min=10.0, hedges=2))
    assert habit is not None and "10 fillers" in habit
    assert biggest_habit(_metrics()) is None
    assert "words a minute" in (biggest_habit(_metrics(wpm=210.0)) or "")
