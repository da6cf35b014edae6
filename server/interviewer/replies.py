"""The rule wording of the interviewer's moves: acknowledgements, transitions, the
greeting, drill feedback, rephrasings and the closing summary, built as named parts
(`moves.Move`). `policy.py` decides which move comes; this says it."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from server.bank import KeyPoint, Question
from server.interviewer.moves import Move
from server.interviewer.phrasing import Phrase, phrase
from server.interviewer.plan import SUMMARY_WORDS
from server.interviewer.speakable import first_clause

#: Longest key point phrase in an acknowledgement.
ACK_WORDS = 16

# Acknowledgements name what was covered; `{did}` is "you used an analogy", "you explained
# that ...". None of them is praise on its own. Each opens with a short word of its own
# ("Right,"): a human interviewer's backchannel, and the part of the reply that can be
# spoken at once (its audio is cached) while the rest is synthesized.
ACK_COVERED = (
    "Right, {did}.",
    "Good, {did}.",
    "Okay, {did}.",
    "I see, {did}.",
    "Good, {did}; that's one of the key points.",
    "Alright, I noted that {did}.",
)
ACK_NOTHING = ("Okay.", "Alright.", "I see.", "Okay, thanks.")
#: Said before "Question N." when moving on; none of them says "next question" twice.
#: Said when the candidate has stopped mid-answer for a long while: the turn stays theirs.
THINKING_NUDGES = ("Take your time.", "No rush, take your time.", "Take your time, I'm listening.")
TRANSITIONS = ("Let's move on.", "Moving on.", "Let's go on.", "On to the next one.")
DRILL_NEXT = ("Next one.", "Here's another.", "Let's try this one.")
_STATEMENT_VERBS = ("explained", "made the point", "pointed out", "noted")
_LABEL_VERBS = ("covered", "addressed", "brought up")


def opening_phrases() -> list[str]:
    """The openings replies start with, split off as the voice splits them
    (`first_clause`), for it to have them ready."""
    said = "you explained that the model works"  # any `{did}` of several words
    acks = [t.format(did=said, Did=said[:1].upper() + said[1:]) for t in ACK_COVERED]
    phrases = (*acks, *ACK_NOTHING, *TRANSITIONS, *DRILL_NEXT)
    return sorted({first_clause(phrase)[0] or phrase for phrase in phrases})


class Picker:
    """Picks among wordings at random, never the one a family used last time."""

    def __init__(self, rng: random.Random, last: dict[str, str] | None = None) -> None:
        self.rng = rng
        self.last = dict(last or {})

    def clone(self, rng: random.Random) -> Picker:
        return Picker(rng, self.last)

    def pick(self, options: Sequence[str], family: str | None = None) -> str:
        family = family or options[0]
        choices = [o for o in options if o != self.last.get(family)] or list(options)
        choice = self.rng.choice(choices)
        self.last[family] = choice
        return choice


def _did(p: Phrase, variant: int = 0) -> str:
    """'you used an analogy' / 'you covered cold start' / 'you pointed out that ...'."""
    if p.shape == "action":
        return p.did
    if p.shape == "label":
        return p.did.replace("you covered", f"you {_LABEL_VERBS[variant % len(_LABEL_VERBS)]}", 1)
    return p.did.replace("you explained", f"you {_STATEMENT_VERBS[variant % len(_STATEMENT_VERBS)]}", 1)


def lower_first(text: str) -> str:
    """Lower the first letter unless the first word is an acronym or "I"."""
    word = text.split(" ", 1)[0]
    return text if word == "I" or word[1:2].isupper() else text[:1].lower() + text[1:]


def sentence(text: str) -> str:
    """One sentence: capitalized, no sentence-ending mark inside, one full stop."""
    text = re.sub(r"(?<=\w)[.!?](?=\s)", "", text.strip()).rstrip(".!?;, ")
    return text[:1].upper() + text[1:] + "."


def acknowledgement(words: Picker, key_points: Sequence[KeyPoint]) -> str:
    """One sentence that names the weightiest of `key_points` (those this answer added);
    never bare praise."""
    if not key_points:
        return words.pick(ACK_NOTHING, "ack-nothing")
    best = max(key_points, key=lambda kp: kp.weight)  # ties keep bank order
    p = phrase(best.text, ACK_WORDS)
    template = words.pick(ACK_COVERED, "ack")
    did = _did(p, words.rng.randrange(len(_STATEMENT_VERBS)))
    return sentence(template.format(did=did, Did=did[:1].upper() + did[1:]))


def greeting(drill: bool, count: int) -> str:
    if drill:
        return ("Welcome to drill mode. I'll ask a question, tell you right away what your "
                "answer missed, and keep going until you say stop. Say 'tell me the answer' "
                "to hear a model answer, or 'hint', 'repeat' or 'skip' at any time.")
    return (f"Hi, I'm your interviewer today. I'll ask you {count} machine learning "
            f"question{'s' if count != 1 else ''}. Answer out loud and take your time. "
            "You can say 'repeat', 'skip', 'hint' or 'next' at any time.")


def closing(strengths: Sequence[Phrase], improvements: Sequence[Phrase], ack: str = "",
            lead: str = "") -> Move:
    """The session's last move: what went well, what to work on."""
    parts = ["That's the end of our session."]
    if strengths:
        parts.append("What went well: " + ", and ".join(p.did for p in strengths) + ".")
    if improvements:
        parts.append("To work on: " + ", and ".join(p.todo for p in improvements) + ".")
    parts.append("Your full review is ready on screen. Thanks for practising with me.")
    return Move("closing", " ".join(parts), ack=ack, lead=lead)


def drill_feedback(ack: str, missed: Sequence[KeyPoint], question_id: str, index: int) -> Move:
    """Drill: what the answer missed in one or two sentences, after the acknowledgement
    unless that names nothing."""
    important = sorted(missed, key=lambda kp: -kp.weight)[:2]
    gaps = [phrase(kp.text, SUMMARY_WORDS).missed for kp in important]
    said = ", and ".join(gaps)
    named = ack not in ACK_NOTHING
    if not gaps:
        core = "That covers every key point."
    else:
        core = sentence("but " + said) if named else sentence(said)
    return Move("feedback", core, question_id, index, ack=ack if named else "")


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
