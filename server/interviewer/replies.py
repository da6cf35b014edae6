"""The rule wording of the interviewer's moves: acknowledgements, transitions, the
greeting, drill feedback, rephrasings and the closing summary, built as named parts
(`moves.Move`). `policy.py` decides which move comes; this says it."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from server.bank import KeyPoint, Question
from server.interviewer.moves import Move
from server.interviewer.speakable import first_clause
from server.scoring.text import lower_first

#: The longest acknowledgement, in words: a backchannel, not a lecture.
ACK_MAX_WORDS = 12
#: Openers of an acknowledgement, none used twice in a session while another is left
#: (a human interviewer varies them). Each is cached audio: the reply starts sounding at
#: once while the rest is synthesized. None is praise on its own.
ACK_OPENERS = ("Right", "Okay", "I see", "Got it", "Sure", "Understood", "Alright",
               "Fair enough", "Makes sense", "Noted", "Yes", "Mm-hm", "Good", "Clear",
               "Okay, good", "Right, yes")
#: Said before a follow-up that acknowledges nothing (the answer stated a misconception,
#: or one point only): a backchannel that credits nothing, and cached audio, so the reply
#: starts sounding at once (without it the follow-up's first sentence was synthesized
#: first: bench.latency 62 -> 202 ms median from the reply to its first audio byte).
#: They are acknowledgement openers, and share their turn: none twice in a session
#: while another is left.
NEUTRAL_OPENERS = ("Okay", "Alright", "I see", "Mm-hm")
NEUTRAL_LEADS = tuple(f"{opener}." for opener in NEUTRAL_OPENERS)
#: Said when the candidate has stopped mid-answer for a long while: the turn stays theirs.
THINKING_NUDGES = ("Take your time.", "No rush, take your time.", "Take your time, I'm listening.")
#: Said after a long silence once the hint was given: the question stays open.
SILENCE_OFFER = ("Would you like another hint, or shall we skip this one? Just say hint, "
                 "or skip.")
TRANSITIONS = ("Let's move on.", "Moving on.", "Let's go on.", "On to the next one.")
DRILL_NEXT = ("Next one.", "Here's another.", "Let's try this one.")
_STATEMENT_VERBS = ("explained", "made the point", "pointed out", "noted")
_LABEL_VERBS = ("covered", "addressed", "brought up")


def neutral_lead(words: Picker) -> str:
    """A backchannel before a follow-up that acknowledges nothing ("Okay.")."""
    return f"{words.opener(NEUTRAL_OPENERS)}."


def opening_phrases() -> list[str]:
    """The openings replies start with, split off as the voice splits them
    (`first_clause`), for it to have them ready."""
    acks = [f"{opener}, you explained that the model works." for opener in ACK_OPENERS]
    phrases = (*acks, *TRANSITIONS, *DRILL_NEXT, *NEUTRAL_LEADS)
    return sorted({first_clause(phrase)[0] or phrase for phrase in phrases})


class Picker:
    """Picks among wordings at random, never the one a family used last time."""

    def __init__(self, rng: random.Random, last: dict[str, str] | None = None,
                 openers: list[str] | None = None) -> None:
        self.rng = rng
        self.last = dict(last or {})
        self.openers = list(openers or [])  # acknowledgement openers said, oldest first

    def clone(self, rng: random.Random) -> Picker:
        return Picker(rng, self.last, self.openers)

    def opener(self, among: Sequence[str] = ACK_OPENERS) -> str:
        """An opener of `among` not said yet this session (else the least recent of them)."""
        fresh = [o for o in among if o not in self.openers]
        said = [o for o in self.openers if o in among]
        choice = self.rng.choice(fresh) if fresh else said[0]
        if choice in self.openers:
            self.openers.remove(choice)
        self.openers.append(choice)
        return choice

    def pick(self, options: Sequence[str], family: str | None = None) -> str:
        family = family or options[0]
        choices = [o for o in options if o != self.last.get(family)] or list(options)
        choice = self.rng.choice(choices)
        self.last[family] = choice
        return choice


def sentence(text: str) -> str:
    """One sentence: capitalized, no sentence-ending mark inside, one full stop."""
    text = re.sub(r"(?<=\w)[.!?](?=\s)", "", text.strip()).rstrip(".!?;, ")
    return text[:1].upper() + text[1:] + "."


def acknowledgement(words: Picker, key_points: Sequence[KeyPoint]) -> str:
    """One short sentence naming the weightiest of `key_points` (those this answer
    added) in the bank's authored `covered` wording ("you explained ..."); nothing when
    nothing was added. Never the key point's text, never bare praise, at most
    `ACK_MAX_WORDS` words.

    The candidate's own words were said back when short (at most 8), and dropped:
    measured on the labeled answers (bench/replies.py), the shortest stating
    span is often a fragment ("a ranking model"), half a point ("a high-bias model
    underfits"), or Whisper's misreading said aloud ("l2 is ridge, epinilizes ...")."""
    best = acknowledged_point(key_points)
    if best is None:
        return ""
    text = sentence(f"{words.opener()}, you {best.covered}")
    return text if len(text.split()) <= ACK_MAX_WORDS else sentence(f"you {best.covered}")


def acknowledged_point(key_points: Sequence[KeyPoint]) -> KeyPoint | None:
    """The point an acknowledgement names: the weightiest, and among equals one whose
    claim has two concepts or more (subject and what is said of it) before one stated by
    a single phrase ("in stages", "the background is"), the weakest evidence there is;
    then bank order. On the labeled answers (bench.dialogues --measure) the tie-break
    took the false acknowledgements from 6 to 5 of 1,148 and made none."""
    if not key_points:
        return None
    return max(key_points, key=lambda kp: (kp.weight, len(kp.requires) >= 2))


def greeting(drill: bool, count: int) -> str:
    if drill:
        return ("Welcome to drill mode. I'll ask a question, tell you right away what your "
                "answer missed, and keep going until you say stop. Say 'tell me the answer' "
                "to hear a model answer, or 'hint', 'repeat' or 'skip' at any time.")
    return (f"Hi, I'm your interviewer today. I'll ask you {count} machine learning "
            f"question{'s' if count != 1 else ''}. Answer out loud and take your time. "
            "You can say 'repeat', 'skip', 'hint' or 'next' at any time.")


def closing(strengths: Sequence[KeyPoint], improvements: Sequence[KeyPoint], ack: str = "",
            lead: str = "") -> Move:
    """The session's last move: what went well, what to work on."""
    parts = ["That's the end of our session."]
    if strengths:
        parts.append("What went well: " + ", and ".join(f"you {kp.covered}" for kp in strengths)
                     + ".")
    if improvements:
        parts.append("To work on: " + ", and ".join(kp.missed for kp in improvements) + ".")
    parts.append("Your full review is ready on screen. Thanks for practising with me.")
    return Move("closing", " ".join(parts), ack=ack, lead=lead)


def drill_feedback(ack: str, missed: Sequence[KeyPoint], question_id: str, index: int) -> Move:
    """Drill: what the answer missed in one or two sentences, after the acknowledgement."""
    important = sorted(missed, key=lambda kp: -kp.weight)[:2]
    if not important:
        core = "That covers every key point."
    else:
        core = sentence("Next time, " + ", and ".join(kp.missed for kp in important))
    return Move("feedback", core, question_id, index, ack=ack)


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
    for sentence_ in sentences:
        if not sentence_.endswith("?") and not _ASK_START.match(sentence_):
            if not asks:
                context.append(sentence_)
            else:  # "... The predicted probability is used to rank ads.": detail of that ask
                asks[-1] = f"{asks[-1]} {sentence_}"
            continue
        end = "?" if sentence_.endswith("?") else "."
        for part in _SUB_ASK.split(sentence_.rstrip(".?! ")):
            part = part.strip()
            if part:
                asks.append(part[:1].upper() + part[1:] + end)
    return " ".join(context), asks


def follow_up_rephrased(follow_up: str, question_id: str, index: int,
                        target: str | None) -> Move:
    """A follow-up said another way: its first part, or the same words again."""
    context, asks = question_parts(follow_up)
    if len(asks) > 1:
        core = " ".join(p for p in (context, f"First: {asks[0]}") if p)
        return Move("followup", core, question_id, index, target,
                    lead="Let me break that down.")
    return Move("followup", follow_up, question_id, index, target, lead="Put another way:")


def question_rephrased(question: Question, index: int) -> tuple[Move, bool]:
    """The question said another way: its first part, or framed by its hint; and whether
    the hint was said."""
    context, asks = question_parts(question.prompt)
    if len(asks) > 1:
        first = asks[0] if context else f"First, {lower_first(asks[0])}"
        core = " ".join(p for p in (context, first) if p)
        return Move("question", core, question.id, index,
                    lead="Let's take it one piece at a time."), False
    ask = " ".join(p for p in (context, asks[0] if asks else "") if p) or question.prompt
    return Move("question", f"{question.hint} With that in mind, {lower_first(ask)}",
                question.id, index, lead="Let me put it another way."), True
