"""How well an answer was given: content on the fair lane, fillers from the verbatim
pass, delivery from the word times, joined into the `score` message."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable

from server import protocol as p
from server.bank import Question
from server.engines.stt import Transcription
from server.live import FairLane
from server.scoring.content import ContentResult, ContentScorer, PointCoverage
from server.scoring.delivery import DeliveryMetrics, TimedWord, measure
from server.scoring.overall import Assessment, assess
from server.session.transcriber import settled
from server.turn import Turn, done_text, filler_text

#: Content scoring's CPU cost, roughly (1.3 s for 9,000 characters on one core): how
#: the fair lane tells a long text from an ordinary answer before it runs.
SCORING_S_PER_CHAR = 1.5e-4
#: What compiling a question's rubric is charged in the fair lane: a few ms for a bank
#: question (claims, no model), up to 0.9 s for one whose points the learned matcher
#: judges (their texts are embedded), nothing once cached; charged as an ordinary job
#: (below the lane's long-job mark), so that a new question's warm-up never waits out
#: the grace other sessions' answers keep open.
WARM_COST_S = 0.3
#: How long the live score waits for the filler-counting pass once the reply is ready.
VERBATIM_WAIT_S = 0.3


@dataclasses.dataclass
class AssessorState:
    coverage: dict[str, list[PointCoverage]]
    question_done_at: float | None


class Assessor:
    def __init__(self, scorer: ContentScorer | None, lane: FairLane | None,
                 owner: Callable[[], str]) -> None:
        self.scorer = scorer
        self.lane = lane
        self._owner = owner  # the fair lane's account: the session once there is one
        #: What each question's answers covered so far (a follow-up adds to it).
        self._coverage: dict[str, list[PointCoverage]] = {}
        #: When the last question finished sounding: the time to the first word counts from it.
        self.question_done_at: float | None = None

    def checkpoint(self) -> AssessorState:
        return AssessorState(dict(self._coverage), self.question_done_at)

    def restore(self, state: AssessorState) -> None:
        self._coverage = dict(state.coverage)
        self.question_done_at = state.question_done_at

    def embeds(self, question: Question) -> bool:
        return self.scorer is not None and self.scorer.embeds(question)

    async def content(self, question: Question, text: str,
                      urgent: bool = True) -> ContentResult | None:
        if self.scorer is None:
            return None
        coverage = self._coverage.get(question.id)
        if self.lane is None:
            return await asyncio.to_thread(self.scorer.score, question, text, coverage)
        result: ContentResult = await self.lane.run(
            self._owner(), self.scorer.score, question, text, coverage,
            cost_s=len(text) * SCORING_S_PER_CHAR, urgent=urgent)
        return result

    async def score_so_far(self, question: Question | None, turn: Turn) -> None:
        """Score the words so far and forget the result: for a question the learned
        matcher judges, the scorer keeps their span embeddings, so the score at the end
        of the turn only embeds the last words. A question judged by claims alone has
        nothing to keep, so it is not pre-scored."""
        text = done_text(turn)
        if question is not None and text and self.embeds(question) \
                and turn.silence_since is None:  # in a pause, the preview scores instead
            await self.content(question, text, urgent=False)

    def keep(self, question: Question, content: ContentResult) -> None:
        self._coverage[question.id] = content.points

    async def warm(self, question: Question) -> None:
        if self.scorer is None:
            return
        if self.lane is None:
            await asyncio.to_thread(self.scorer.warm, question)
            return
        # Through the lane: it holds the scorer's one embedding at a time, so outside
        # the lane four new sessions' rubrics would hold up another's answer.
        await self.lane.run(self._owner(), self.scorer.warm, question, cost_s=WARM_COST_S)

    async def fillers(self, turn: Turn | None, verbatim: asyncio.Future[Transcription] | None,
                      wait_s: float) -> tuple[str | None, bool]:
        """The text fillers are counted from, and whether the verbatim pass is late.
        It waits only `wait_s` (while the reply's first sentence is synthesized anyway);
        past that the live card takes the verbatim pieces that are in (the plain words
        elsewhere) and the stored turn is completed when all land."""
        if verbatim is None:
            return None, False
        if wait_s and not verbatim.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(verbatim), wait_s)
        if verbatim.done():
            done = await settled(verbatim)
            return (done.text if done else None), False
        return (filler_text(turn) if turn else None), True

    def time_to_first_word(self, turn: Turn | None) -> float | None:
        if turn is None or self.question_done_at is None:
            return None
        return round(max(0.0, turn.onset_wall - self.question_done_at), 2)

    def delivery(self, turn: Turn | None, words: list[p.Word], text: str,
                 verbatim_text: str | None) -> DeliveryMetrics:
        return measure([TimedWord(w.word, w.start, w.end) for w in words],
                       turn.segments if turn else [], text, verbatim_text,
                       self.time_to_first_word(turn))

    def score(self, turn_id: str, question: Question, content: ContentResult,
              metrics: DeliveryMetrics | None, feedback: str | None = None) -> p.Score:
        assessment = assess(question, content, metrics)
        if feedback:  # the LLM may word the feedback; the numbers stay ours
            assessment = dataclasses.replace(assessment, feedback=feedback)
        return score_message(turn_id, assessment)


def score_message(turn_id: str, assessment: Assessment) -> p.Score:
    return p.Score(
        turn_id=turn_id, question_id=assessment.question_id, overall=assessment.overall,
        content=assessment.content, delivery=assessment.delivery,
        key_points=[p.KeyPointResult(id=kp.id, text=kp.text, covered=kp.covered,
                                     evidence=kp.evidence, similarity=kp.similarity)
                    for kp in assessment.points],
        metrics=assessment.metrics.as_dict() if assessment.metrics else None,
        feedback=assessment.feedback,
    )
