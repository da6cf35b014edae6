"""The interviewer's decisions: greet, ask, follow up on gaps, probe deeper, move on, close.

Pure Python over plain data. The conversation feeds it turns (an answer with
its coverage, a command, a silence) and speaks the moves it returns. The rubric
decides *what* is probed; the plan and state are in `plan.py`, the rule wording
in `replies.py`, and the optional LLM words named parts of a move (`worded.py`).

Shape of the moves the LLM wording relies on: a move that answers an answer has its
acknowledgement sentence as its `ack` part; a follow-up's `core` is the bank's
follow-up text and a question's `core` the question's prompt.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Sequence
from typing import Literal

from server.bank import FollowUp, KeyPoint, Question
from server.interviewer import replies
from server.interviewer.commands import Intent
from server.interviewer.moves import Move, MoveKind, Reply
from server.interviewer.plan import AnswerResult, QuestionPlan, QuestionState
from server.interviewer.replies import opening_phrases, question_parts

__all__ = [
    "STRONG_CONTENT", "AnswerResult", "Interviewer", "Mode",
    "Move", "MoveKind", "Reply", "opening_phrases", "question_parts",
]

Mode = Literal["interview", "drill"]
#: Content score from which an answer counts as strong enough for a deeper probe.
STRONG_CONTENT = 75.0
#: Key points the question must have covered before an acknowledgement names one. A lone
#: credited point is the scorer's least reliable credit: on the labeled answers
#: (bench/replies.py) 4 of 25 acknowledgements after a one-point answer were false on
#: the tuning sets and 2 of 4 on hold-out 3, against 0 of 371 and 3 of 50 when two or
#: more points were covered (a neighbouring question's answer or a wrong-claim answer
#: typically shares one point's words). Silence then costs little: the follow-up or the
#: next question comes at once.
ACK_MIN_POINTS = 2


class Interviewer:
    def __init__(
        self,
        questions: Sequence[Question],
        mode: Mode = "interview",
        max_follow_ups: int = 2,
        reserve: Sequence[Question] = (),
        seed: int | None = None,
    ) -> None:
        """`questions` are asked in order; in drill mode `reserve` feeds the endless loop."""
        self.mode = mode
        self.max_follow_ups = max_follow_ups
        # One generator for the drill order and the wording, drawn in the order of the turns.
        rng = random.Random(seed)
        self.plan = QuestionPlan(questions, mode == "drill", reserve, rng)
        self.words = replies.Picker(rng)
        self.last_prompt: Move | None = None
        self.finished = False

    def clone(self) -> Interviewer:
        """An independent copy that shares the (read-only) questions: a reply can be
        worked out on it ahead of time and adopted, or dropped, later."""
        other = Interviewer((), self.mode, self.max_follow_ups)
        rng = random.Random()
        rng.setstate(self.plan.rng.getstate())
        other.plan = self.plan.clone(rng)
        other.words = self.words.clone(rng)
        other.last_prompt = self.last_prompt
        other.finished = self.finished
        return other

    @property
    def asked(self) -> list[QuestionState]:
        return self.plan.asked

    @property
    def current(self) -> QuestionState | None:
        return self.plan.current

    @property
    def planned(self) -> int:
        return self.plan.planned

    def category_scores(self) -> dict[str, float]:
        """Average best content per category this session; an unanswered question counts 0."""
        return self.plan.category_scores()

    def session_highlights(self) -> tuple[list[str], list[str]]:
        """Two strengths and two things to work on, from covered and missed key points,
        as short phrases for the summary on screen ("Used a concrete everyday analogy")."""
        strengths, improvements = self.plan.highlights()
        return ([replies.sentence(kp.covered) for kp in strengths],
                [replies.sentence(kp.missed) for kp in improvements])

    # ------------------------------------------------------------------ moving on

    def _ask_next(self, lead: str = "", transition: bool = False, ack: str = "") -> Reply:
        """The next question (after `ack` or `lead`, and a spoken transition if asked),
        or the closing."""
        state = self.plan.advance()
        if state is None:
            return self._closing(lead, ack)
        question = state.question
        if self.mode == "interview":
            label = f"Question {state.index}."
            bridge = self.words.pick(replies.TRANSITIONS) if transition else ""
        else:
            label = ""
            bridge = self.words.pick(replies.DRILL_NEXT) if transition else ""
        move = Move("question", question.prompt, question.id, state.index, ack=ack, lead=lead,
                    transition=bridge, label=label)
        self.last_prompt = Move("question", question.prompt, question.id, state.index)
        return Reply([move])

    def _closing(self, lead: str = "", ack: str = "") -> Reply:
        self.finished = True
        self.plan.current = None
        strengths, improvements = self.plan.highlights()
        return Reply([replies.closing(strengths, improvements, ack=ack, lead=lead)], done=True)

    # ------------------------------------------------------------------ entry points

    def start(self) -> Reply:
        greeting = replies.greeting(self.mode == "drill", len(self.plan.queue))
        first = self._ask_next()
        return Reply([Move("greeting", greeting), *first.moves], done=first.done)

    def restore(self, discussed: Sequence[tuple[Question, AnswerResult | None]]) -> None:
        """Rebuild the questions already discussed, to resume a session where it stopped.

        A question that was asked but never answered is asked again.
        """
        self.plan.restore(discussed)

    def resume(self) -> Reply:
        """Pick up after `restore`: a short welcome back, then the next question."""
        follow = self._ask_next("Welcome back, let's pick up where we left off.")
        return Reply(follow.moves, done=follow.done)

    def on_answer(self, result: AnswerResult) -> Reply:
        """A scored answer to the current question (or to its follow-up)."""
        state = self.current
        if state is None:
            return self._closing()
        before = state.record(result)
        question = state.question
        missed = [kp for kp in question.key_points if kp.id not in state.covered]
        added = [kp for kp in question.key_points if kp.id in result.covered - before]
        # "Good, you covered X" after a wrong claim reads as approval of the whole answer:
        # on the labeled wrong-claim answers most false credits said aloud were of this kind
        # (bench/replies.py), so an answer stating a misconception gets no acknowledgement.
        sure = not result.states_misconception and len(result.covered) >= ACK_MIN_POINTS
        ack = replies.acknowledgement(self.words, added) if sure else ""
        if self.mode == "drill":
            feedback = replies.drill_feedback(ack, missed, question.id, state.index)
            follow = self._ask_next(transition=True)
            return Reply([feedback, *follow.moves], done=follow.done)

        if len(state.follow_ups_asked) < self.max_follow_ups:
            probe = self._choose_probe(state, result, missed)
            if probe is not None:
                move = Move("followup", probe.text, question.id, state.index,
                            probe.key_point or "deeper", ack=ack,
                            lead="" if ack else replies.neutral_lead(self.words))
                state.follow_ups_asked.append(probe)
                self.last_prompt = move
                return Reply([move])
        return self._ask_next(transition=True, ack=ack)

    def _choose_probe(
        self, state: QuestionState, result: AnswerResult, missed: list[KeyPoint]
    ) -> FollowUp | None:
        question = state.question
        used = state.used_follow_ups()
        strong = max(result.content, state.best.content if state.best else 0.0) >= STRONG_CONTENT
        # The most important missed point that has an unasked follow-up; ties keep bank order.
        for kp in sorted(missed, key=lambda kp: -kp.weight):
            if kp.weight < 2 and strong:
                break  # a strong answer is not grilled on nice-to-haves
            for follow_up in question.follow_ups_for(kp.id):
                if id(follow_up) not in used:
                    return follow_up
        if strong:
            for follow_up in question.deeper_probes:
                if id(follow_up) not in used:
                    return follow_up
        return None

    def on_thinking_pause(self) -> Reply:
        """The candidate stopped in the middle of an answer for a long while: a gentle
        word, never a cut (the answer goes on when they do)."""
        return Reply([Move("ack", self.words.pick(replies.THINKING_NUDGES))])

    def on_silence(self) -> Reply:
        """The candidate has said nothing for a long while after a question: a hint the
        first time, then an offer; never the end of the question (they say "skip" or
        "next" to move on)."""
        state = self.current
        if state is None:
            return Reply()
        state.silences += 1
        if not state.hint_given and state.best is None:
            return self._hint("Take your time. Here's a hint to get you started:")
        return Reply([Move("hint", replies.SILENCE_OFFER, state.question.id, state.index,
                           lead=self.words.pick(replies.THINKING_NUDGES))])

    def interrupted(self, unheard: Move) -> Reply:
        """The candidate spoke over a question (or the greeting before it) and said too
        little to be answering it: the question again, in full."""
        state = self.current
        if state is None:
            return Reply()
        again = self._prompt_again(state)
        return Reply([dataclasses.replace(again, lead="Let me say that again.")])

    def _hint(self, lead: str = "Here's a hint:") -> Reply:
        state = self.current
        if state is None:
            return Reply()
        question = state.question
        if not state.hint_given:
            state.hint_given = True
            return Reply([Move("hint", question.hint, question.id, state.index, lead=lead)])
        # Another angle: the guiding follow-up of the weightiest point not covered yet.
        used = state.used_follow_ups()
        for kp in sorted(question.key_points, key=lambda kp: -kp.weight):
            if kp.id in state.covered:
                continue
            for follow_up in question.follow_ups_for(kp.id):
                if id(follow_up) not in used:
                    state.hinted.append(follow_up)
                    return Reply([Move("hint", follow_up.text, question.id, state.index, kp.id,
                                       lead="Here's another angle.")])
        return Reply([Move("hint", "That's all the help I have for this one. Give it your best "
                                   "try, or say skip.", question.id, state.index)])

    def _rephrase(self, state: QuestionState) -> Reply:
        """The current prompt said another way: broken into its parts, or framed by the hint."""
        prompt = self.last_prompt
        if prompt is not None and prompt.kind == "followup" and state.follow_ups_asked:
            return Reply([replies.follow_up_rephrased(state.follow_ups_asked[-1].text,
                                                      state.question.id, state.index,
                                                      prompt.target)])
        move, hinted = replies.question_rephrased(state.question, state.index)
        state.hint_given = state.hint_given or hinted
        return Reply([move])

    def _prompt_again(self, state: QuestionState) -> Move:
        """The question or follow-up being answered, without the acknowledgement before it."""
        prompt = self.last_prompt
        if prompt is None or prompt.question_id != state.question.id:
            return Move("question", state.question.prompt, state.question.id, state.index)
        if prompt.kind == "followup" and state.follow_ups_asked:
            return Move("followup", state.follow_ups_asked[-1].text, prompt.question_id,
                        prompt.index, prompt.target)
        return Move(prompt.kind, prompt.text, prompt.question_id, prompt.index, prompt.target)

    def _last_part_again(self, state: QuestionState) -> Move:
        """"Can you repeat the last part": the last sentence of the question or follow-up
        being answered (the whole of it when it is one sentence)."""
        again = self._prompt_again(state)
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", again.core.strip()) if s]
        if len(sentences) < 2:
            return again
        return dataclasses.replace(again, core=sentences[-1], lead="The last part was:",
                                   ack="", transition="", label="")

    def on_intent(self, intent: Intent) -> Reply:
        """A command, spoken or sent as a `command` message; never scored."""
        state = self.current
        if intent == "stop":
            return self._closing("Okay, let's stop here.")
        if intent in ("slower", "faster"):
            if intent == "faster":
                return Reply([Move("ack", "Okay, I'll speak faster.")], rate_change="faster")
            moves = [Move("ack", "Okay, I'll speak more slowly.")]
            if state is not None:  # and say the question again, slower
                moves.append(self._prompt_again(state))
            return Reply(moves, rate_change="slower")
        if state is None:
            return Reply()
        if intent == "repeat":
            return Reply([self._prompt_again(state)])
        if intent == "repeat_last":
            return Reply([self._last_part_again(state)])
        if intent == "rephrase":
            return self._rephrase(state)
        if intent == "hint":
            return self._hint()
        if intent == "answer":
            return self._model_answer(state)
        if intent == "dont_know":
            if state.best is not None:  # stuck on a follow-up: the question was answered
                return self._ask_next("That's fine.", transition=True)
            if not state.hint_given:
                return self._hint("That's okay. Here's a hint:")
            state.skipped = True
            return self._ask_next("No problem.", transition=True)
        if intent == "skip":
            state.skipped = state.best is None
            return self._ask_next("Okay, let's skip that one.")
        if intent == "next":
            return self._ask_next("Okay.")
        return Reply()

    def _model_answer(self, state: QuestionState) -> Reply:
        """"Tell me the answer": a model answer in drill mode, a hint in an interview."""
        if self.mode == "interview":
            # Hearing the answer mid-interview would make the score meaningless.
            lead = "I'll save the model answers for your review at the end."
            if not state.hint_given:
                return self._hint(f"{lead} Here's a hint instead:")
            return Reply([Move("hint", "Give it your best try, or say skip to move on.",
                               state.question.id, state.index, lead=lead)])
        # In drill mode the next question follows feedback at once, so "tell me the
        # answer" before answering it means the question just discussed.
        target = state
        if state.best is None and len(self.asked) > 1:
            target = self.asked[-2]
        moves = [Move("feedback", target.question.answer, target.question.id, target.index,
                      lead="Here's a model answer.")]
        if target is not state:
            moves.append(Move("question", state.question.prompt, state.question.id, state.index,
                              lead="Now, back to this one."))
        return Reply(moves)
