"""The interviewer's decisions: greet, ask, follow up on gaps, probe deeper, move on, close.

Pure Python over plain data. The conversation feeds it turns (an answer with
its coverage, a command, a silence) and speaks the moves it returns. The rubric
decides *what* is probed; wording may later be replaced by an LLM's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from server.bank import FollowUp, Question
from server.interviewer.commands import Intent

MoveKind = Literal["greeting", "question", "followup", "hint", "feedback", "ack", "closing"]
Mode = Literal["interview", "drill"]
#: Content score from which an answer counts as strong enough for a deeper probe.
STRONG_CONTENT = 75.0


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    text: str
    question_id: str | None = None
    index: int | None = None
    #: Which key point a follow-up probes, or "deeper" (for logs, LLM wording, tests).
    target: str | None = None
    #: Who worded the text: "rules" or "llm"; None for plain rule-based moves.
    source: Literal["rules", "llm"] | None = None


@dataclass(frozen=True)
class AnswerResult:
    """What the policy needs of a scored answer."""

    covered: frozenset[str]  # key point ids covered so far for this question (accumulated)
    content: float  # 0-100, best so far for this question
    category: str | None = None


@dataclass
class Reply:
    moves: list[Move] = field(default_factory=list)
    done: bool = False  # the session is over after these moves
    #: Speech-rate change asked for ("slower"/"faster"): the conversation applies it.
    rate_change: Literal["slower", "faster"] | None = None


@dataclass
class _QuestionState:
    question: Question
    index: int
    follow_ups_asked: list[FollowUp] = field(default_factory=list)
    hint_given: bool = False
    silences: int = 0
    best: AnswerResult | None = None
    skipped: bool = False


_ACK_COVERED = (
    "You covered {point}.",
    "Good, you got {point}.",
    "That's right on {point}.",
    "You explained {point} clearly.",
)
_ACK_NOTHING = (
    "Okay, thanks.",
    "Alright.",
    "Okay.",
)
_TRANSITIONS = ("Let's move on.", "Next question.", "Moving on.", "Let's go to the next one.")


def _short(text: str, max_words: int = 14) -> str:
    """A key point's statement trimmed to a speakable clause, first letter lowered."""
    clause = text.split(";")[0].rstrip(". ")
    words = clause.split()
    if len(words) > max_words:
        clause = " ".join(words[:max_words])
    return clause[:1].lower() + clause[1:]


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
        self._queue = list(questions)
        self._reserve = [q for q in reserve if q not in self._queue]
        self._rng = random.Random(seed)
        self.asked: list[_QuestionState] = []
        self.current: _QuestionState | None = None
        self.last_prompt: Move | None = None
        self.finished = False

    # ------------------------------------------------------------------ helpers

    @property
    def planned(self) -> int:
        return len(self._queue) + len(self.asked)

    def _pick(self, options: Sequence[str]) -> str:
        return self._rng.choice(list(options))

    def _ask_next(self, lead: str = "") -> Reply:
        question = self._next_question()
        if question is None:
            return self._closing(lead)
        state = _QuestionState(question, len(self.asked) + 1)
        self.asked.append(state)
        self.current = state
        label = f"Question {state.index}." if self.mode == "interview" else ""
        text = " ".join(part for part in (lead, label, question.prompt) if part)
        move = Move("question", text, question.id, state.index)
        self.last_prompt = Move("question", question.prompt, question.id, state.index)
        return Reply([move])

    def _next_question(self) -> Question | None:
        if self._queue:
            return self._queue.pop(0)
        if self.mode != "drill" or not self._reserve:
            return None
        # Drill: weakest category of this session first, then categories not yet tried.
        scores: dict[str, list[float]] = {}
        for state in self.asked:
            content = state.best.content if state.best else 0.0
            scores.setdefault(state.question.category, []).append(content)
        averages = {c: sum(v) / len(v) for c, v in scores.items()}

        def weakness(q: Question) -> tuple[float, float]:
            return (averages.get(q.category, 50.0), self._rng.random())

        self._reserve.sort(key=weakness)
        return self._reserve.pop(0)

    def _closing(self, lead: str = "") -> Reply:
        self.finished = True
        self.current = None
        strengths, improvements = self.session_highlights()
        parts = [lead, "That's the end of our session."]
        if strengths:
            parts.append("What went well: " + " and ".join(strengths[:2]) + ".")
        if improvements:
            parts.append("To work on: " + " and ".join(improvements[:2]) + ".")
        parts.append("Your full review is ready on screen. Thanks for practising with me.")
        return Reply([Move("closing", " ".join(p for p in parts if p))], done=True)

    def session_highlights(self) -> tuple[list[str], list[str]]:
        """Two strengths and two things to work on, from covered and missed key points."""
        covered: list[tuple[int, str]] = []
        missed: list[tuple[int, str]] = []
        for state in self.asked:
            if state.best is None:
                continue
            for kp in state.question.key_points:
                target = covered if kp.id in state.best.covered else missed
                target.append((kp.weight, _short(kp.text, 10)))
        covered.sort(key=lambda item: -item[0])
        missed.sort(key=lambda item: -item[0])
        return [t for _, t in covered[:2]], [t for _, t in missed[:2]]

    def _acknowledge(self, result: AnswerResult) -> str:
        assert self.current is not None
        question = self.current.question
        newly = [kp for kp in question.key_points if kp.id in result.covered]
        if not newly:
            return self._pick(_ACK_NOTHING)
        best = max(newly, key=lambda kp: kp.weight)
        return self._pick(_ACK_COVERED).format(point=_short(best.text))

    # ------------------------------------------------------------------ entry points

    def start(self) -> Reply:
        if self.mode == "drill":
            greeting = (
                "Welcome to drill mode. I'll ask a question, tell you right away what your "
                "answer missed, and keep going until you say stop. Say 'tell me the answer' "
                "to hear a model answer, or 'hint', 'repeat' or 'skip' at any time."
            )
        else:
            count = len(self._queue)
            greeting = (
                f"Hi, I'm your interviewer today. I'll ask you {count} machine learning "
                f"question{'s' if count != 1 else ''}. Answer out loud and take your time. "
                "You can say 'repeat', 'skip', 'hint' or 'next' at any time."
            )
        first = self._ask_next()
        return Reply([Move("greeting", greeting), *first.moves], done=first.done)

    def restore(self, discussed: Sequence[tuple[Question, AnswerResult | None]]) -> None:
        """Rebuild the questions already discussed, to resume a session where it stopped.

        A question that was asked but never answered is asked again.
        """
        for question, best in discussed:
            if question in self._queue:
                self._queue.remove(question)
            self.asked.append(_QuestionState(question, len(self.asked) + 1, best=best))
        if self.asked and self.asked[-1].best is None:
            self._queue.insert(0, self.asked.pop().question)

    def resume(self) -> Reply:
        """Pick up after `restore`: a short welcome back, then the next question."""
        follow = self._ask_next("Welcome back, let's pick up where we left off.")
        return Reply(follow.moves, done=follow.done)

    def on_answer(self, result: AnswerResult) -> Reply:
        """A scored answer to the current question (or to its follow-up)."""
        state = self.current
        if state is None:
            return self._closing()
        if state.best is None or result.content >= state.best.content:
            state.best = result
        else:  # coverage accumulates even when a later answer scores lower
            state.best = AnswerResult(state.best.covered | result.covered, state.best.content,
                                      result.category)
        question = state.question
        missed = [kp for kp in question.key_points if kp.id not in result.covered]
        if self.mode == "drill":
            return self._drill_feedback(result, missed)

        ack = self._acknowledge(result)
        if len(state.follow_ups_asked) < self.max_follow_ups:
            probe = self._choose_probe(state, result, missed)
            if probe is not None:
                target = probe.key_point or "deeper"
                move = Move("followup", f"{ack} {probe.text}", question.id, state.index, target)
                state.follow_ups_asked.append(probe)
                self.last_prompt = move
                return Reply([move])
        return self._ask_next(f"{ack} {self._pick(_TRANSITIONS)}")

    def _choose_probe(
        self, state: _QuestionState, result: AnswerResult, missed: list
    ) -> FollowUp | None:
        question = state.question
        asked = set(id(f) for f in state.follow_ups_asked)
        # The most important missed point that has an unasked follow-up; ties keep bank order.
        for kp in sorted(missed, key=lambda kp: -kp.weight):
            if kp.weight < 2 and result.content >= STRONG_CONTENT:
                break  # a strong answer is not grilled on nice-to-haves
            for follow_up in question.follow_ups_for(kp.id):
                if id(follow_up) not in asked:
                    return follow_up
        if result.content >= STRONG_CONTENT:
            for follow_up in question.deeper_probes:
                if id(follow_up) not in asked:
                    return follow_up
        return None

    def _drill_feedback(self, result: AnswerResult, missed: list) -> Reply:
        assert self.current is not None
        question = self.current.question
        important = sorted(missed, key=lambda kp: -kp.weight)
        if not important:
            text = "That covered every key point."
        elif len(important) == 1:
            text = f"{self._acknowledge(result)} You missed one point: {_short(important[0].text)}."
        else:
            text = (f"{self._acknowledge(result)} The main thing you missed: "
                    f"{_short(important[0].text)}. Also {_short(important[1].text)}.")
        feedback = Move("feedback", text, question.id, self.current.index)
        follow = self._ask_next("Next one.")
        return Reply([feedback, *follow.moves], done=follow.done)

    def on_silence(self) -> Reply:
        """The candidate has said nothing for a long while after a question."""
        state = self.current
        if state is None:
            return Reply()
        state.silences += 1
        if not state.hint_given:
            return self._hint("Take your time. Here's a hint to get you started:")
        return self._ask_next("Let's leave that one and move on.")

    def _hint(self, lead: str = "Here's a hint:") -> Reply:
        state = self.current
        if state is None:
            return Reply()
        if state.hint_given:
            return Reply([Move("hint", f"Another angle: {state.question.key_points[0].text}",
                               state.question.id, state.index)])
        state.hint_given = True
        return Reply([Move("hint", f"{lead} {state.question.hint}", state.question.id,
                           state.index)])

    def on_intent(self, intent: Intent) -> Reply:
        """A command, spoken or sent as a `command` message; never scored."""
        state = self.current
        if intent == "stop":
            return self._closing("Okay, let's stop here.")
        if intent in ("slower", "faster"):
            text = "Okay, I'll speak more slowly." if intent == "slower" else "Okay, I'll speak faster."
            return Reply([Move("ack", text)], rate_change=intent)
        if state is None:
            return Reply()
        if intent == "repeat":
            prompt = self.last_prompt or Move("question", state.question.prompt, state.question.id,
                                              state.index)
            return Reply([Move(prompt.kind, prompt.text, prompt.question_id, prompt.index,
                               prompt.target)])
        if intent == "rephrase":
            text = f"Let me put it another way. {state.question.hint}"
            return Reply([Move("question", text, state.question.id, state.index)])
        if intent == "hint":
            return self._hint()
        if intent == "answer":
            # In drill mode the next question follows feedback at once, so "tell me the
            # answer" before answering it means the question just discussed.
            target = state
            if self.mode == "drill" and state.best is None and len(self.asked) > 1:
                target = self.asked[-2]
            moves = [Move("feedback", f"Here's a model answer. {target.question.answer}",
                          target.question.id, target.index)]
            if target is not state:
                moves.append(Move("question", f"Now, back to this one. {state.question.prompt}",
                                  state.question.id, state.index))
            return Reply(moves)
        if intent == "dont_know":
            if not state.hint_given:
                return self._hint("That's okay. Here's a hint:")
            state.skipped = state.best is None
            return self._ask_next("No problem, let's move on.")
        if intent == "skip":
            state.skipped = state.best is None
            return self._ask_next("Okay, let's skip that one.")
        if intent == "next":
            return self._ask_next("Okay.")
        return Reply()
