"""The interviewer's next move: the policy's step, the reply worked out ahead of the end
of a turn (adopted when nothing changed since, by a generation count), and the optional
LLM's wording of it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from server.bank import Question
from server.engines.llm import ChatLLM, FieldStream
from server.interviewer.commands import detect_intent
from server.interviewer.policy import AnswerResult, Interviewer, Move, Reply
from server.interviewer.worded import WORDED_KINDS, wording_steps
from server.scoring.content import ContentResult
from server.speaking import Synthesis
from server.turn import Preview, Turn
from server.wording import turn_messages

log = logging.getLogger("viva.planner")

@dataclass
class Ready:
    """A reply worked out ahead of the end of the turn (see `ReplyPlanner.start_preview`)."""

    question_id: str
    content: ContentResult | None
    policy: Interviewer
    reply: Reply
    synthesis: Synthesis | None
    generation: tuple[int, int]  # the planner's generation it was worked out in

    def cancel(self) -> None:
        if self.synthesis is not None:
            self.synthesis.cancel()


@dataclass(frozen=True)
class PlannerState:
    policy: Interviewer | None


class ReplyPlanner:
    def __init__(self, *, content: Callable[[Question, str], Awaitable[ContentResult | None]],
                 prepare: Callable[[Move], Synthesis | None], llm: ChatLLM | None,
                 said: Callable[[], int], name: Callable[[], str]) -> None:
        self._content = content
        self._prepare = prepare
        self.llm = llm
        self._name = name
        self.policy: Interviewer | None = None
        self._said = said  # counts the records added or withdrawn (`Journal.changes`)
        self._steps = 0  # counts the policy's steps and restores
        self._llm_warned = False
        self.llm_stats = {"turns": 0, "fields_used": 0, "fields_fallback": 0}

    @property
    def question(self) -> Question | None:
        current = self.policy.current if self.policy is not None else None
        return current.question if current is not None else None

    @property
    def generation(self) -> tuple[int, int]:
        """Changes whenever anything is said or the policy moves: a reply worked out in an
        earlier generation is stale."""
        return self._steps, self._said()

    def advance(self) -> None:
        self._steps += 1

    def checkpoint(self) -> PlannerState:
        return PlannerState(self.policy.clone() if self.policy is not None else None)

    def restore(self, state: PlannerState) -> None:
        if state.policy is not None:
            self.policy = state.policy
        self.advance()

    # ------------------------------------------------------------------ replies ahead of time

    def start_preview(self, turn: Turn, text: str,
                      spawn: Callable[[Awaitable[Ready]], asyncio.Task[Ready]]) -> None:
        """Work out the reply to `text` now, while the endpointer still listens: the
        score, the policy's next move (on a copy of the policy) and the synthesis of
        its first sentence. Adopted if the turn ends with exactly this text."""
        question = self.question
        if question is None or detect_intent(text):
            return
        turn.preview = Preview(text, spawn(self._preview(question, text, self.generation)))

    async def _preview(self, question: Question, text: str, generation: tuple[int, int]) -> Ready:
        assert self.policy is not None
        content = await self._content(question, text)
        policy = self.policy.clone()
        reply = policy.on_answer(answer_result(question, content))
        synthesis = None
        if reply.moves and self.llm is None and self.generation == generation:
            synthesis = self._prepare(reply.moves[0])
        return Ready(question.id, content, policy, reply, synthesis, generation)

    async def take_preview(self, turn: Turn, text: str) -> Ready | None:
        preview, turn.preview = turn.preview, None
        if preview is None:
            return None
        if preview.text != text:
            preview.cancel()
            return None
        try:
            ready: Ready = await preview.task
        except asyncio.CancelledError:
            if preview.task.cancelled():
                return None
            raise
        except Exception:
            log.exception("session %s: reply preview failed", self._name())
            return None
        current = self.question
        if ready.generation != self.generation or current is None \
                or ready.question_id != current.id:
            ready.cancel()
            return None  # something was said in between: the preview is stale
        return ready

    # ------------------------------------------------------------------ the move

    def adopt(self, ready: Ready) -> Reply:
        self.policy = ready.policy
        self.advance()
        return ready.reply

    def answer(self, question: Question, content: ContentResult | None) -> Reply:
        assert self.policy is not None
        self.advance()
        return self.policy.on_answer(answer_result(question, content))

    def step(self, decide: Callable[[Interviewer], Reply]) -> Reply:
        """Any other policy step (an intent, a silence, the greeting)."""
        assert self.policy is not None
        self.advance()
        return decide(self.policy)

    # ------------------------------------------------------------------ LLM wording

    def word(self, question: Question, content: ContentResult | None, text: str,
             reply: Reply) -> tuple[FieldStream | None, float]:
        """The LLM's wording of the reply's first move, streaming; and its deadline."""
        if self.llm is None or content is None or not reply.moves \
                or reply.moves[0].kind not in WORDED_KINDS:
            return None, 0.0
        first = reply.moves[0]
        messages = turn_messages(question, content.points, text, first)
        self.llm_stats["turns"] += 1
        return self.llm.stream_turn(messages, on_done=self._llm_done), \
            time.monotonic() + self.llm.timeout_s

    def count(self, value: str | None) -> str | None:
        self.llm_stats["fields_used" if value else "fields_fallback"] += 1
        return value

    def _llm_done(self, fields: FieldStream) -> None:
        if fields.errors and not self._llm_warned:
            # Once per session: a small or misconfigured model would flood the log.
            self._llm_warned = True
            log.warning("session %s: LLM wording fell back to rules (%s); further "
                        "fallbacks in this session are not logged", self._name(),
                        "; ".join(fields.errors[:3]))

    async def worded_moves(self, reply: Reply, wording: FieldStream,
                           deadline: float) -> AsyncIterator[Move]:
        """The reply's first move in the LLM's words, part by part as they stream in; any
        field that is missing, invalid or late keeps the rule wording."""
        for step in wording_steps(reply.moves[0]):
            value = self.count(await wording.get(step.field, deadline)) if step.field else None
            yield step.worded(value)
        for move in reply.moves[1:]:
            yield move


def answer_result(question: Question, content: ContentResult | None) -> AnswerResult:
    """What the policy is told of a scored answer (the benches build it the same way)."""
    if content is None:
        return AnswerResult(frozenset(), 0.0, question.category)
    return AnswerResult(content.covered_ids, content.content, question.category,
                        states_misconception=any(p.misconception for p in content.points))
