"""The interview's plan and state: which questions are left, which were asked, and
what each answer has covered so far. No wording here (that is `replies.py`)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from server.bank import FollowUp, KeyPoint, Question


@dataclass(frozen=True)
class AnswerResult:
    """What the policy needs of a scored answer."""

    covered: frozenset[str]  # key point ids covered so far for this question (accumulated)
    content: float  # 0-100, best so far for this question
    category: str | None = None
    #: This answer states a wrong claim (a misconception the scorer reported): the reply
    #: then praises nothing (the card says what is wrong).
    states_misconception: bool = False


@dataclass
class QuestionState:
    question: Question
    index: int
    follow_ups_asked: list[FollowUp] = field(default_factory=list)
    hint_given: bool = False
    silences: int = 0
    best: AnswerResult | None = None
    skipped: bool = False
    #: Follow-up questions already used as extra hints ("another angle").
    hinted: list[FollowUp] = field(default_factory=list)

    @property
    def covered(self) -> frozenset[str]:
        return self.best.covered if self.best else frozenset()

    def record(self, result: AnswerResult) -> frozenset[str]:
        """Take in a scored answer; returns what was covered before it."""
        before = self.covered
        if self.best is None or result.content >= self.best.content:
            self.best = AnswerResult(result.covered | before, result.content, result.category)
        else:  # coverage accumulates even when a later answer scores lower
            self.best = AnswerResult(self.best.covered | result.covered, self.best.content,
                                     result.category)
        return before

    def used_follow_ups(self) -> set[int]:
        """The follow-ups already said, as a probe or as a hint (by identity)."""
        return {id(f) for f in (*self.follow_ups_asked, *self.hinted)}


class QuestionPlan:
    """The questions left to ask and those asked, in order; `current` is being discussed."""

    def __init__(self, questions: Sequence[Question], drill: bool, reserve: Sequence[Question],
                 rng: random.Random) -> None:
        """`questions` are asked in order; in drill mode `reserve` feeds the endless loop."""
        self.drill = drill
        self.queue = list(questions)
        self.reserve = [q for q in reserve if q not in self.queue]
        self.rng = rng
        self.asked: list[QuestionState] = []
        self.current: QuestionState | None = None

    def clone(self, rng: random.Random) -> QuestionPlan:
        """An independent copy (sharing the read-only questions), drawing from `rng`."""
        other = QuestionPlan((), self.drill, (), rng)
        states = {id(s): dataclasses.replace(s, follow_ups_asked=list(s.follow_ups_asked),
                                             hinted=list(s.hinted)) for s in self.asked}
        other.asked = [states[id(s)] for s in self.asked]
        other.current = states[id(self.current)] if self.current is not None else None
        other.queue = list(self.queue)
        other.reserve = list(self.reserve)
        return other

    @property
    def planned(self) -> int:
        return len(self.queue) + len(self.asked)

    def advance(self) -> QuestionState | None:
        """The next question, now the current one; None when there is none left."""
        question = self._next_question()
        if question is None:
            return None
        state = QuestionState(question, len(self.asked) + 1)
        self.asked.append(state)
        self.current = state
        return state

    def _next_question(self) -> Question | None:
        if self.queue:
            return self.queue.pop(0)
        if not self.drill or not self.reserve:
            return None
        # Drill: weakest category of this session first, then categories not yet tried.
        averages = self.category_scores()

        def weakness(q: Question) -> tuple[float, float]:
            return (averages.get(q.category, 50.0), self.rng.random())

        self.reserve.sort(key=weakness)
        return self.reserve.pop(0)

    def category_scores(self) -> dict[str, float]:
        """Average best content per category this session; an unanswered question counts 0."""
        scores: dict[str, list[float]] = {}
        for state in self.asked:
            content = state.best.content if state.best else 0.0
            scores.setdefault(state.question.category, []).append(content)
        return {c: sum(v) / len(v) for c, v in scores.items()}

    def restore(self, discussed: Sequence[tuple[Question, AnswerResult | None]]) -> None:
        """Rebuild the questions already discussed, to resume a session where it stopped.

        A question that was asked but never answered is asked again.
        """
        for question, best in discussed:
            if question in self.queue:
                self.queue.remove(question)
            if question in self.reserve:
                self.reserve.remove(question)
            self.asked.append(QuestionState(question, len(self.asked) + 1, best=best))
        if self.asked and self.asked[-1].best is None:
            self.queue.insert(0, self.asked.pop().question)

    def highlights(self) -> tuple[list[KeyPoint], list[KeyPoint]]:
        """Two covered and two missed key points, the weightiest first, from different
        questions where possible."""
        covered: list[tuple[int, int, KeyPoint]] = []
        missed: list[tuple[int, int, KeyPoint]] = []
        for position, state in enumerate(self.asked):
            if state.best is None:
                continue
            for kp in state.question.key_points:
                target = covered if kp.id in state.best.covered else missed
                target.append((kp.weight, position, kp))
        return _two(covered), _two(missed)


def _two(points: list[tuple[int, int, KeyPoint]]) -> list[KeyPoint]:
    ranked = sorted(points, key=lambda item: (-item[0], item[1]))
    chosen: list[KeyPoint] = []
    used_questions: set[int] = set()
    for spread in (True, False):  # first one per question, then any
        for _, position, kp in ranked:
            if len(chosen) == 2:
                return chosen
            if (spread and position in used_questions) or kp in chosen:
                continue
            chosen.append(kp)
            used_questions.add(position)
    return chosen
