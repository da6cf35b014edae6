"""Voice commands recognised in a final transcript.

A command is a short utterance that is *only* a command ("could you say that
again?"), never an answer that happens to contain "next" or "repeat".
"""

from __future__ import annotations

import re
from typing import Literal

Intent = Literal[
    "repeat", "skip", "hint", "next", "stop", "slower", "faster",
    # Conversational intents that are not protocol commands but are not answers either.
    "answer", "rephrase", "dont_know",
]

_POLITE = re.compile(
    r"\b(um+|uh+|er+|erm|hmm+|okay|ok|so|sorry|please|actually|just|oh|well|hey|yeah|right|"
    r"thanks|thank you|interviewer|viva)\b"
)
_ASK = r"(?:(?:can|could|would|will) you |(?:can|could|may) i (?:have|get) |i(?:'d| would) like |i want |let's |let us |let me |give me |i need )?"

_PATTERNS: list[tuple[Intent, str]] = [
    ("repeat", _ASK + r"(?:repeat|say) (?:that|it|this|the question)?(?: again| one more time)?(?: for me)?"),
    ("repeat", _ASK + r"repeat(?: the question| that| it)?(?: please)?"),
    ("repeat", r"(?:pardon|come again|what was the question|what did you say|say again|one more time)"),
    ("rephrase", _ASK + r"(?:rephrase|reword|put it another way|say it (?:differently|another way))(?: that| it| the question)?"),
    ("rephrase", r"(?:what do you mean|i don't understand(?: the question)?|i do not understand(?: the question)?)"),
    ("skip", _ASK + r"(?:skip|pass)(?: (?:on )?(?:this|that|it))?(?: one| question)?"),
    ("hint", _ASK + r"(?:a |another |any )?(?:hint|clue)s?(?: please)?"),
    ("hint", r"(?:(?:can|could) you )?help me(?: out)?(?: a bit)?"),
    ("next", _ASK + r"(?:go to |move (?:on )?to )?(?:the )?next(?: question| one)?"),
    ("next", _ASK + r"move on"),
    ("stop", _ASK + r"(?:stop|quit|end|finish)(?: the| this)?(?: interview| session| here| now| for today)?"),
    ("stop", r"(?:that's|that is|that will be|that'll be) (?:all|it|enough)(?: for (?:today|now))?"),
    ("stop", r"i(?:'m| am) done for (?:today|now)"),  # a bare "I'm done" ends an answer, not the session
    ("slower", _ASK + r"(?:slow down|speak (?:more )?slow(?:er|ly)|talk (?:more )?slow(?:er|ly)|(?:go )?slower)"),
    ("faster", _ASK + r"(?:speed up|speak faster|talk faster|(?:go )?faster|hurry up)"),
    ("answer", _ASK + r"(?:tell me |give me |hear |know )?(?:the |a )?(?:model |right |correct )?answer"),
    ("answer", r"what(?:'s| is) the (?:model |right |correct )?answer"),
    ("dont_know", r"i (?:really )?(?:don't|do not) know(?: the answer)?|no idea|i have no idea|i(?:'m| am) not sure|i(?:'m| am) stuck|i can't remember"),
]
_COMPILED = [(intent, re.compile(rf"(?:{pattern})")) for intent, pattern in _PATTERNS]
MAX_COMMAND_WORDS = 9


def normalize(text: str) -> str:
    lowered = text.lower().replace("’", "'")
    lowered = re.sub(r"[^a-z' ]+", " ", lowered)
    lowered = _POLITE.sub(" ", lowered)
    return re.sub(r"\s+", " ", lowered).strip()


def detect_intent(text: str) -> Intent | None:
    """The command this utterance is, or None when it is an answer."""
    if len(text.split()) > MAX_COMMAND_WORDS:
        return None
    cleaned = normalize(text)
    if not cleaned:
        return None
    for intent, pattern in _COMPILED:
        if pattern.fullmatch(cleaned):
            return intent
    return None
