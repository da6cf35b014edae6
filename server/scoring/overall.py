"""One answer's assessment: content, delivery, overall, and feedback worth acting on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from server.bank import Question
from server.scoring.content import ContentResult, PointCoverage
from server.scoring.delivery import DeliveryMetrics, biggest_habit, delivery_score
from server.scoring.text import lower_first

#: Content dominates: knowing the material matters more than polish, but a
#: rambling, filler-heavy answer still costs up to a quarter of the mark.
CONTENT_WEIGHT = 0.75
DELIVERY_WEIGHT = 0.25


@dataclass(frozen=True)
class Assessment:
    question_id: str
    content: float
    delivery: float | None
    overall: float
    points: list[PointCoverage]
    metrics: DeliveryMetrics | None
    feedback: str


def overall_score(content: float, delivery: float | None) -> float:
    if delivery is None:  # typed answer: nothing to judge about delivery
        return round(content, 1)
    return round(CONTENT_WEIGHT * content + DELIVERY_WEIGHT * delivery, 1)


def write_feedback(question: Question, points: Sequence[PointCoverage],
                   metrics: DeliveryMetrics | None) -> str:
    """The wrong claims the answer stated (two at most), else its most important missed
    point; then the biggest delivery habit. No empty praise."""
    sentences: list[str] = []
    missed = sorted((p for p in points if not p.covered), key=lambda p: -p.weight)
    # Each wrong claim is worth correcting (the card named only the first); the two
    # weightiest are, so that the card stays a few lines.
    wrongs = [p for p in sorted(points, key=lambda p: -p.weight) if p.misconception][:2]
    if wrongs:
        for number, wrong in enumerate(wrongs):
            sentences.append(f"{'Careful:' if number == 0 else 'Also,'} '{wrong.misconception}' "
                             f"is not right; {_advice(question, wrong) or _claim(wrong)}.")
    elif missed:
        gap = _advice(question, missed[0]) or f"you did not cover that {_claim(missed[0])}"
        sentences.append(f"The biggest gap: {gap}.")
    else:
        deeper = question.deeper_probes[0].text if question.deeper_probes else None
        sentences.append("You covered every key point" + (
            f"; to go further, be ready for: {deeper}" if deeper else "."))
    habit = biggest_habit(metrics) if metrics is not None else None
    if habit:
        sentences.append(habit)
    return " ".join(sentences)


def _advice(question: Question, point: PointCoverage) -> str | None:
    """The point as advice, the bank's `missed` wording ("explain recall as how many sick
    patients the model catches"): a point's text may open with a verb ("Explains recall
    as ...", "Use a power analysis ..."), which read "you did not cover that explains
    recall as ..." on the card (a typed answer through the server, twelfth session).
    None for a rubric without it (a public grading set's reference sentences)."""
    kp = next((k for k in question.key_points if k.id == point.id), None)
    return kp.missed if kp is not None and kp.missed else None


def _claim(point: PointCoverage) -> str:
    return lower_first(point.text.rstrip("."))


def assess(question: Question, content: ContentResult,
           metrics: DeliveryMetrics | None) -> Assessment:
    delivery = delivery_score(metrics) if metrics is not None else None
    return Assessment(
        question_id=question.id,
        content=content.content,
        delivery=delivery,
        overall=overall_score(content.content, delivery),
        points=content.points,
        metrics=metrics,
        feedback=write_feedback(question, content.points, metrics),
    )


def session_averages(by_question: Mapping[str, float], categories: Mapping[str, str | None]
                     ) -> tuple[float | None, dict[str, float]]:
    """A session's overall score and its per-category scores: means of each question's
    best, rounded to 0.1 (the live summary and the stored session list agree)."""
    grouped: dict[str, list[float]] = {}
    for question_id, score in by_question.items():
        grouped.setdefault(categories.get(question_id) or "other", []).append(score)
    return _mean(by_question.values()), {c: m for c, v in grouped.items()
                                         if (m := _mean(v)) is not None}


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 1) if values else None
