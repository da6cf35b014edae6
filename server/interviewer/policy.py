"""The interviewer's decisions: greet, ask, follow up on gaps, probe deeper, move on, close.

Pure Python over plain data. The conversation feeds it turns (an answer with
its coverage, a command, a silence) and speaks the moves it returns. The rubric
decides *what* is probed; wording may later be replaced by an LLM's.

Wording rules the conversation relies on: a move that answers an answer starts
with exactly one acknowledgement sentence; a follow-up move ends with the bank's
follow-up text and a question move with the question's prompt.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from server.bank import FollowUp, KeyPoint, Question
from server.interviewer.commands import Intent
from server.interviewer.phrasing import Phrase, phrase
from server.interviewer.speakable import first_clause

MoveKind = Literal["greeting", "question", "followup", "hint", "feedback", "ack", "closing"]
Mode = Literal["interview", "drill"]
#: Content score from which an answer counts as strong enough for a deeper probe.
STRONG_CONTENT = 75.0
#: Longest key point phrase in an acknowledgement, and in feedback and the closing summary.
ACK_WORDS = 16
SUMMARY_WORDS = 12


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
    #: Follow-up questions already used as extra hints ("another angle").
    hinted: list[FollowUp] = field(default_factory=list)


# Acknowledgements name what was covered; `{did}` is "you used an analogy", "you explained
# that ...". None of them is praise on its own. Each opens with a short word of its own
# ("Right,"): a human interviewer's backchannel, and the part of the reply that can be
# spoken at once (its audio is cached) while the rest is synthesized.
_ACK_COVERED = (
    "Right, {did}.",
    "Good, {did}.",
    "Okay, {did}.",
    "I see, {did}.",
    "Good, {did}; that's one of the key points.",
    "Alright, I noted that {did}.",
)
_ACK_NOTHING = ("Okay.", "Alright.", "I see.", "Okay, thanks.")
#: Said before "Question N." when moving on; none of them says "next question" twice.
_TRANSITIONS = ("Let's move on.", "Moving on.", "Let's go on.", "On to the next one.")
_DRILL_NEXT = ("Next one.", "Here's another.", "Let's try this one.")


def opening_phrases() -> list[str]:
    """The openings replies start with, split off as the voice splits them
    (`first_clause`), for it to have them ready."""
    said = "you explained that the model works"  # any `{did}` of several words
    acks = [t.format(did=said, Did=said[:1].upper() + said[1:]) for t in _ACK_COVERED]
    phrases = (*acks, *_ACK_NOTHING, *_TRANSITIONS, *_DRILL_NEXT)
    return sorted({first_clause(phrase)[0] or phrase for phrase in phrases})

_STATEMENT_VERBS = ("explained", "made the point", "pointed out", "noted")
_LABEL_VERBS = ("covered", "addressed", "brought up")


def _short(text: str, max_words: int = 14) -> str:
    """A key point's statement as a short phrase that reads well inside a sentence."""
    return phrase(text, max_words).text


def _did(p: Phrase, variant: int = 0) -> str:
    """'you used an analogy' / 'you covered cold start' / 'you pointed out that ...'."""
    if p.shape == "action":
        return p.did
    if p.shape == "label":
        return p.did.replace("you covered", f"you {_LABEL_VERBS[variant % len(_LABEL_VERBS)]}", 1)
    return p.did.replace("you explained", f"you {_STATEMENT_VERBS[variant % len(_STATEMENT_VERBS)]}", 1)


def _lower(text: str) -> str:
    """Lower the first letter unless the first word is an acronym or "I"."""
    word = text.split(" ", 1)[0]
    return text if word == "I" or word[1:2].isupper() else text[:1].lower() + text[1:]


def _sentence(text: str) -> str:
    """One sentence: capitalized, no sentence-ending mark inside, one full stop."""
    text = re.sub(r"(?<=\w)[.!?](?=\s)", "", text.strip()).rstrip(".!?;, ")
    return text[:1].upper() + text[1:] + "."


_ASK_START = re.compile(
    r"^(?:explain|describe|walk|design|compare|tell|give|talk|discuss|go|cover|list|outline|define|"
    r"implement|how|what|why|when|where|which|who|is|are|do|does|can|could|would|should)\b",
    re.IGNORECASE,
)
_SUB_ASK = re.compile(
    r",\s*(?:and\s+|or\s+)?(?=(?:how|what|why|when|where|which|who|whether)\b)", re.IGNORECASE
)


def question_parts(prompt: str) -> tuple[str, list[str]]:
    """(context, asks): the setting sentence and the separate things a prompt asks for."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", prompt.strip()) if s]
    context: list[str] = []
    asks: list[str] = []
    for sentence in sentences:
        if not sentence.endswith("?") and not _ASK_START.match(sentence):
            if not asks:
                context.append(sentence)
            else:  # "... The predicted probability is used to rank ads.": detail of that ask
                asks[-1] = f"{asks[-1]} {sentence}"
            continue
        end = "?" if sentence.endswith("?") else "."
        for part in _SUB_ASK.split(sentence.rstrip(".?! ")):
            part = part.strip()
            if part:
                asks.append(part[:1].upper() + part[1:] + end)
    return " ".join(context), asks


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
        #: The last wording picked from each family, so that none comes twice in a row.
        self._last_pick: dict[str, str] = {}

    def clone(self) -> Interviewer:
        """An independent copy that shares the (read-only) questions: a reply can be
        worked out on it ahead of time and adopted, or dropped, later."""
        other = copy.copy(self)
        states = {id(s): dataclasses.replace(s, follow_ups_asked=list(s.follow_ups_asked),
                                             hinted=list(s.hinted)) for s in self.asked}
        other.asked = [states[id(s)] for s in self.asked]
        other.current = states[id(self.current)] if self.current is not None else None
        other._queue = list(self._queue)
        other._reserve = list(self._reserve)
        other._rng = random.Random()
        other._rng.setstate(self._rng.getstate())
        other._last_pick = dict(self._last_pick)
        return other

    # ------------------------------------------------------------------ helpers

    @property
    def planned(self) -> int:
        return len(self._queue) + len(self.asked)

    def _pick(self, options: Sequence[str], family: str | None = None) -> str:
        """A random option, never the one this family used last time."""
        family = family or options[0]
        choices = [o for o in options if o != self._last_pick.get(family)] or list(options)
        choice = self._rng.choice(choices)
        self._last_pick[family] = choice
        return choice

    def _ask_next(self, lead: str = "", transition: bool = False) -> Reply:
        """The next question (after `lead`, and a spoken transition if asked), or the closing."""
        question = self._next_question()
        if question is None:
            return self._closing(lead)
        state = _QuestionState(question, len(self.asked) + 1)
        self.asked.append(state)
        self.current = state
        if self.mode == "interview":
            label = f"Question {state.index}."
            bridge = self._pick(_TRANSITIONS) if transition else ""
        else:
            label = ""
            bridge = self._pick(_DRILL_NEXT) if transition else ""
        text = " ".join(part for part in (lead, bridge, label, question.prompt) if part)
        move = Move("question", text, question.id, state.index)
        self.last_prompt = Move("question", question.prompt, question.id, state.index)
        return Reply([move])

    def _next_question(self) -> Question | None:
        if self._queue:
            return self._queue.pop(0)
        if self.mode != "drill" or not self._reserve:
            return None
        # Drill: weakest category of this session first, then categories not yet tried.
        averages = self.category_scores()

        def weakness(q: Question) -> tuple[float, float]:
            return (averages.get(q.category, 50.0), self._rng.random())

        self._reserve.sort(key=weakness)
        return self._reserve.pop(0)

    def category_scores(self) -> dict[str, float]:
        """Average best content per category this session; an unanswered question counts 0."""
        scores: dict[str, list[float]] = {}
        for state in self.asked:
            content = state.best.content if state.best else 0.0
            scores.setdefault(state.question.category, []).append(content)
        return {c: sum(v) / len(v) for c, v in scores.items()}

    def _closing(self, lead: str = "") -> Reply:
        self.finished = True
        self.current = None
        strengths, improvements = self._highlights()
        parts = [lead, "That's the end of our session."]
        if strengths:
            parts.append("What went well: " + ", and ".join(p.did for p in strengths) + ".")
        if improvements:
            parts.append("To work on: " + ", and ".join(p.todo for p in improvements) + ".")
        parts.append("Your full review is ready on screen. Thanks for practising with me.")
        return Reply([Move("closing", " ".join(p for p in parts if p))], done=True)

    def _highlights(self) -> tuple[list[Phrase], list[Phrase]]:
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
        return self._two(covered), self._two(missed)

    @staticmethod
    def _two(points: list[tuple[int, int, KeyPoint]]) -> list[Phrase]:
        ranked = sorted(points, key=lambda item: (-item[0], item[1]))
        chosen: list[Phrase] = []
        used_questions: set[int] = set()
        for spread in (True, False):  # first one per question, then any
            for _, position, kp in ranked:
                if len(chosen) == 2:
                    return chosen
                p = phrase(kp.text, SUMMARY_WORDS)
                if (spread and position in used_questions) or p in chosen:
                    continue
                chosen.append(p)
                used_questions.add(position)
        return chosen

    def session_highlights(self) -> tuple[list[str], list[str]]:
        """Two strengths and two things to work on, from covered and missed key points,
        as short phrases for the summary on screen ("Used a concrete everyday analogy")."""
        strengths, improvements = self._highlights()
        return [p.strength for p in strengths], [p.improvement for p in improvements]

    def _acknowledge(self, newly: Sequence[str] | frozenset[str]) -> str:
        """One sentence that names the weightiest point this answer added; never bare praise."""
        assert self.current is not None
        points = [kp for kp in self.current.question.key_points if kp.id in newly]
        if not points:
            return self._pick(_ACK_NOTHING, "ack-nothing")
        best = max(points, key=lambda kp: kp.weight)  # ties keep bank order
        p = phrase(best.text, ACK_WORDS)
        template = self._pick(_ACK_COVERED, "ack")
        did = _did(p, self._rng.randrange(len(_STATEMENT_VERBS)))
        return _sentence(template.format(did=did, Did=did[:1].upper() + did[1:]))

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
            if question in self._reserve:
                self._reserve.remove(question)
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
        before = state.best.covered if state.best else frozenset()
        if state.best is None or result.content >= state.best.content:
            state.best = AnswerResult(result.covered | before, result.content, result.category)
        else:  # coverage accumulates even when a later answer scores lower
            state.best = AnswerResult(state.best.covered | result.covered, state.best.content,
                                      result.category)
        question = state.question
        covered = state.best.covered
        missed = [kp for kp in question.key_points if kp.id not in covered]
        ack = self._acknowledge(result.covered - before)
        if self.mode == "drill":
            return self._drill_feedback(ack, missed)

        if len(state.follow_ups_asked) < self.max_follow_ups:
            probe = self._choose_probe(state, result, missed)
            if probe is not None:
                target = probe.key_point or "deeper"
                move = Move("followup", f"{ack} {probe.text}", question.id, state.index, target)
                state.follow_ups_asked.append(probe)
                self.last_prompt = move
                return Reply([move])
        return self._ask_next(ack, transition=True)

    def _choose_probe(
        self, state: _QuestionState, result: AnswerResult, missed: list[KeyPoint]
    ) -> FollowUp | None:
        question = state.question
        used = {id(f) for f in (*state.follow_ups_asked, *state.hinted)}
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

    def _drill_feedback(self, ack: str, missed: list[KeyPoint]) -> Reply:
        """Drill: what the answer missed in one or two sentences, then the next question."""
        assert self.current is not None
        question = self.current.question
        important = sorted(missed, key=lambda kp: -kp.weight)[:2]
        gaps = [phrase(kp.text, SUMMARY_WORDS).missed for kp in important]
        said = ", and ".join(gaps)
        if not gaps:
            text = "That covers every key point." if ack in _ACK_NOTHING else (
                f"{ack} That covers every key point.")
        elif ack in _ACK_NOTHING:
            text = _sentence(said)
        else:
            text = f"{ack} {_sentence('but ' + said)}"
        feedback = Move("feedback", text, question.id, self.current.index)
        follow = self._ask_next(transition=True)
        return Reply([feedback, *follow.moves], done=follow.done)

    def on_silence(self) -> Reply:
        """The candidate has said nothing for a long while after a question."""
        state = self.current
        if state is None:
            return Reply()
        state.silences += 1
        if state.best is not None:  # quiet after a follow-up: the question was answered
            return self._ask_next("Let's leave that there.", transition=True)
        if not state.hint_given:
            return self._hint("Take your time. Here's a hint to get you started:")
        return self._ask_next("Let's leave that one.", transition=True)

    def _hint(self, lead: str = "Here's a hint:") -> Reply:
        state = self.current
        if state is None:
            return Reply()
        question = state.question
        if not state.hint_given:
            state.hint_given = True
            return Reply([Move("hint", f"{lead} {question.hint}", question.id, state.index)])
        # Another angle: the guiding follow-up of the weightiest point not covered yet.
        covered = state.best.covered if state.best else frozenset()
        used = {id(f) for f in (*state.follow_ups_asked, *state.hinted)}
        for kp in sorted(question.key_points, key=lambda kp: -kp.weight):
            if kp.id in covered:
                continue
            for follow_up in question.follow_ups_for(kp.id):
                if id(follow_up) not in used:
                    state.hinted.append(follow_up)
                    return Reply([Move("hint", f"Here's another angle. {follow_up.text}",
                                       question.id, state.index, kp.id)])
        return Reply([Move("hint", "That's all the help I have for this one. Give it your best "
                                   "try, or say skip.", question.id, state.index)])

    def _rephrase(self, state: _QuestionState) -> Reply:
        """The current prompt said another way: broken into its parts, or framed by the hint."""
        question = state.question
        prompt = self.last_prompt
        if prompt is not None and prompt.kind == "followup" and state.follow_ups_asked:
            context, asks = question_parts(state.follow_ups_asked[-1].text)
            if len(asks) > 1:
                text = " ".join(p for p in ("Let me break that down.", context,
                                            f"First: {asks[0]}") if p)
            else:
                text = f"Put another way: {state.follow_ups_asked[-1].text}"
            return Reply([Move("followup", text, question.id, state.index, prompt.target)])
        context, asks = question_parts(question.prompt)
        if len(asks) > 1:
            first = asks[0] if context else f"First, {_lower(asks[0])}"
            text = " ".join(p for p in ("Let's take it one piece at a time.", context, first) if p)
        else:
            state.hint_given = True
            ask = " ".join(p for p in (context, asks[0] if asks else "") if p) or question.prompt
            text = f"Let me put it another way. {question.hint} With that in mind, {_lower(ask)}"
        return Reply([Move("question", text, question.id, state.index)])

    def _prompt_again(self, state: _QuestionState) -> Move:
        """The question or follow-up being answered, without the acknowledgement before it."""
        prompt = self.last_prompt
        if prompt is None or prompt.question_id != state.question.id:
            return Move("question", state.question.prompt, state.question.id, state.index)
        if prompt.kind == "followup" and state.follow_ups_asked:
            return Move("followup", state.follow_ups_asked[-1].text, prompt.question_id,
                        prompt.index, prompt.target)
        return Move(prompt.kind, prompt.text, prompt.question_id, prompt.index, prompt.target)

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
        if intent == "rephrase":
            return self._rephrase(state)
        if intent == "hint":
            return self._hint()
        if intent == "answer":
            if self.mode == "interview":
                # Hearing the answer mid-interview would make the score meaningless.
                lead = "I'll save the model answers for your review at the end."
                if not state.hint_given:
                    return self._hint(f"{lead} Here's a hint instead:")
                return Reply([Move("hint", f"{lead} Give it your best try, or say skip to move on.",
                                   state.question.id, state.index)])
            # In drill mode the next question follows feedback at once, so "tell me the
            # answer" before answering it means the question just discussed.
            target = state
            if state.best is None and len(self.asked) > 1:
                target = self.asked[-2]
            moves = [Move("feedback", f"Here's a model answer. {target.question.answer}",
                          target.question.id, target.index)]
            if target is not state:
                moves.append(Move("question", f"Now, back to this one. {state.question.prompt}",
                                  state.question.id, state.index))
            return Reply(moves)
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
