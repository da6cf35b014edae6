"""One lexicon (server/lexicon.py): what delivery scoring counts is what the review page
is told to mark, word for word, for every filler form, hedge, repeat and long pause."""

from __future__ import annotations

import re

import pytest

from server.audio.endpoint import Ending, classify_ending
from server.lexicon import FILLERS, HEDGES, LONG_PAUSE_S, Marks, mark_words
from server.scoring.delivery import TimedWord, count_repetitions, measure
from tests.conftest import ROOT


def timed(text: str, step: float = 0.4) -> list[TimedWord]:
    return [TimedWord(w, i * step, i * step + step * 0.8) for i, w in enumerate(text.split())]


def marks_of(text: str, segments: list[tuple[float, float]] | None = None) -> list[Marks]:
    words = timed(text)
    return mark_words([w.word for w in words], [w.start for w in words], segments)


# Each form as Whisper writes it: capitalised at a sentence start, with its comma.
@pytest.mark.parametrize("form", sorted(FILLERS | {"ah", "uhm", "um", "uh", "er", "hmm"}))
def test_delivery_counts_every_filler_the_page_marks(form: str) -> None:
    text = f"{form.capitalize()}, bias is, {form}, the error of a simple model {form}."
    words = timed(text)
    marked = [m for m in marks_of(text) if "filler" in m.marks]
    metrics = measure(words, [(0.0, words[-1].end)], text)
    assert len(marked) == metrics.filler_count == 3
    assert metrics.words == len(words) - 3  # fillers are not words of the answer


@pytest.mark.parametrize("hedge", HEDGES)
def test_delivery_counts_every_hedge_the_page_marks(hedge: str) -> None:
    text = f"{hedge.capitalize()} the bias is high, and {hedge}, the variance is low."
    marks = marks_of(text)
    metrics = measure(timed(text), [], text)
    assert metrics.hedges == 2 and metrics.hedge_phrases == [hedge, hedge]
    assert sum("hedge" in m.marks for m in marks) == 2 * len(hedge.split())


@pytest.mark.parametrize(("text", "repeated"), [
    ("the the model", [1]),
    ("it is, it is overfitting", [2, 3]),
    ("um um the model", []),  # filler repeats are counted as fillers
    ("the, um, the model", [2]),  # a filler between does not hide the repeat
    ("bias and variance", []),
])
def test_repeats_marked_are_the_repeats_counted(text: str, repeated: list[int]) -> None:
    marks = marks_of(text)
    assert [i for i, m in enumerate(marks) if "repeat" in m.marks] == repeated
    assert count_repetitions(text.split()) == (1 if repeated else 0)


def test_long_pauses_marked_are_the_pauses_counted() -> None:
    text = "bias is error. variance is spread. noise is the rest."
    # Three sentences; the VAD heard a 1.5 s and a 2.1 s silence between them (and a
    # 0.1 s breath, no pause).
    segments = [(0.0, 1.1), (2.6, 3.1), (3.2, 3.6), (5.7, 7.0)]
    starts = [0.0, 0.4, 0.8, 2.7, 3.0, 3.3, 5.7, 6.0, 6.3, 6.6]
    words = [TimedWord(w, s, s + 0.3) for w, s in zip(text.split(), starts, strict=True)]
    marks = mark_words([w.word for w in words], [w.start for w in words], segments)
    metrics = measure(words, segments, text)
    assert metrics.long_pauses == [LONG_PAUSE_S, 2.1]
    assert [(i, m.pause_before_s) for i, m in enumerate(marks) if m.pause_before_s] == \
        [(3, LONG_PAUSE_S), (6, 2.1)]


@pytest.mark.parametrize("form", sorted(FILLERS))
def test_a_filler_at_the_end_is_thinking_for_the_endpointer(form: str) -> None:
    assert classify_ending(f"and the second reason is, {form}.") is Ending.UNFINISHED


def test_the_client_holds_no_word_list_of_its_own() -> None:
    """The review page draws the marks it is sent; no filler or hedge spelled in client/."""
    for path in sorted((ROOT / "client").glob("*.js")):
        code = path.read_text(encoding="utf-8")
        for word in sorted(FILLERS) + [h for h in HEDGES if " " in h]:
            assert not re.search(rf"['\"]{re.escape(word)}['\"]", code), (path.name, word)
