"""Voice commands recognised in a final transcript.

A command is a short utterance that is *only* a command ("could you say that
again?"), never an answer that happens to contain "next" or "repeat": every
pattern must match the whole utterance, after fillers and politeness are
stripped, and anything longer than a few words is an answer.
"""

from __future__ import annotations

import re
from typing import Literal

Intent = Literal[
    "repeat", "skip", "hint", "next", "stop", "slower", "faster",
    # Conversational intents that are not protocol commands but are not answers either.
    "answer", "rephrase", "dont_know", "repeat_last",
]

#: Words that carry no intent; removed before matching ("um, okay, next please").
_POLITE = re.compile(
    r"\b(um+|uh+|er+|erm|hmm+|mm+|okay|ok|alright|all right|so|sorry|please|actually|just|oh|honestly|"
    r"well|hey|yeah|yes|right|thanks|thank you|interviewer|viva|i think|i guess|maybe)\b"
)
#: Ways of asking: "could you", "can we", "I'd like to", "let's"; they may stack ("can you please").
_ASK = (
    r"(?:(?:(?:can|could|would|will) you |(?:can|could|may|shall) (?:i|we) (?:have |get )?|"
    r"i(?:'d| would) like (?:to )?|i want (?:to )?|i(?:'ll| will) |let's |let us |let me |"
    r"give me |i need (?:to )?|we can |you can |go ahead and )*)"
)
_AGAIN = r"(?: again| one more time| once more)?(?: for me)?"
_THIS = r"(?: (?:on )?(?:this|that|it|the question|this question|that question)(?: one)?)?"
_BIT = r"(?: a (?:bit|little)(?: bit)?)?"
_SLOW = r"(?:more )?slow(?:er|ly)?"
_FAST = r"(?:more )?(?:fast(?:er)?|quick(?:er|ly)?)"
_SPEAK = r"(?:speak|talk|go|read)"

_PATTERNS: list[tuple[Intent, str]] = [
    # Before "repeat": "can you repeat the last part" wants the last part, not all of it.
    ("repeat_last", _ASK + r"(?:repeat|say|read)(?: again)? (?:the |that )?(?:last|final|end|second)"
                    r" (?:part|bit|sentence|question|half)(?: of (?:that|it|the question))?" + _AGAIN),
    ("repeat_last", r"what was the (?:last|final|second) (?:part|bit|sentence)"),
    ("repeat", _ASK + r"(?:repeat|say|read)(?: that| it| this| the question| yourself| what you said)?" + _AGAIN),
    ("repeat", _ASK + r"(?:hear|have) (?:that|it|the question) (?:again|one more time)"),
    ("repeat", r"(?:pardon(?: me)?|come again|excuse me|what was (?:the question|that)|what did you (?:say|ask)|"
               r"say again|one more time|once more|again|what's the question)"),
    ("repeat", r"i (?:missed|didn't catch|did not catch|didn't hear|did not hear|couldn't hear|could not hear)"
               r" (?:that|it|you|the question|what you said)"),
    ("rephrase", _ASK + r"(?:rephrase|reword|clarify|explain)(?: that| it| the question| this question| what you mean)?"),
    ("rephrase", _ASK + r"(?:put|say|ask|phrase) (?:it|that|the question|this) (?:differently|another way|in another way|in other words|more simply|in a different way)"),
    ("rephrase", r"(?:what do you mean(?: by that)?|i don't understand(?: the question)?|i do not understand(?: the question)?|"
                 r"i don't get (?:it|the question)|i'm not sure what you(?:'re| are) asking|in other words)"),
    ("skip", _ASK + r"(?:skip|pass)" + _THIS + r"(?: one| question)?(?: and move on)?"),
    ("skip", _ASK + r"skip (?:to )?(?:the )?next(?: question| one)?"),
    ("skip", r"i (?:give up|pass)(?: on this one)?"),
    ("hint", _ASK + r"(?:a |another |any |some )?(?:hint|clue|nudge|tip)s?(?: for (?:this|that)(?: one)?)?"),
    ("hint", _ASK + r"(?:help|help me)(?: out)?" + _BIT + r"(?: here| with (?:this|that)(?: one)?)?"),
    ("hint", r"(?:(?:can|could) you )?give me (?:a )?(?:starting point|pointer)"),
    ("next", _ASK + r"(?:(?:go|move|jump)(?: on)? (?:to|onto) (?:the )?)?next(?: question| one)?"),
    ("next", _ASK + r"(?:go|move|jump)?(?: on)?(?: to| onto)? ?the next (?:question|one)"),
    ("next", _ASK + r"(?:move|go) on(?: to the next (?:one|question))?"),
    ("next", _ASK + r"(?:try |do |ask me |have )?another (?:one|question)"),
    ("stop", _ASK + r"(?:stop|quit|end|finish|wrap up|wrap it up)(?: the| this| our)?(?: interview| session| practice| drill)?(?: here| now| for (?:today|now|the day))?"),
    ("stop", r"(?:that's|that is|that will be|that'll be|this is) (?:all|it|enough)(?: i have time)?(?: for (?:me )?(?:today|now|the day|this session))"),
    ("stop", r"i(?:'m| am) (?:done|finished)(?: with the (?:interview|session))?(?: for (?:today|now|the day))"),
    ("stop", r"i(?:'m| am) done with (?:the|this) (?:interview|session)"),
    ("stop", _ASK + r"call it (?:a day|quits)"),
    ("stop", r"(?:end|stop) (?:of )?(?:the )?(?:interview|session)"),
    ("slower", _ASK + r"(?:slow down|" + _SPEAK + r"(?: a (?:bit|little)(?: bit)?)? " + _SLOW + r"|slower)" + _BIT + r"(?: down)?"),
    ("slower", r"(?:you(?:'re| are) )?(?:speaking |talking |going )?(?:way |a (?:bit|little) )?too fast(?: for me)?"),
    ("slower", r"(?:a (?:bit|little) )?slower"),
    ("faster", _ASK + r"(?:speed up|hurry up|pick up the pace|" + _SPEAK + r"(?: a (?:bit|little)(?: bit)?)? " + _FAST + r"|faster)" + _BIT),
    ("faster", r"(?:you(?:'re| are) )?(?:speaking |talking |going )?(?:way |a (?:bit|little) )?too slow(?:ly)?(?: for me)?"),
    ("faster", r"(?:a (?:bit|little) )?faster"),
    ("answer", _ASK + r"(?:tell me |give me |hear |know |see |show me |say )?(?:the |a |your )?(?:model |right |correct |best |ideal |good )?answer"),
    ("answer", r"what(?:'s| is| was| would be) (?:the |a )?(?:model |right |correct |best |ideal |good )?answer(?: here)?"),
    ("answer", r"what should i have said"),
    ("dont_know", r"i (?:really |honestly |just )?(?:don't|do not|dont) know(?: the answer| this(?: one)?| that(?: one)?)?"
                  r"|(?:i have )?no (?:idea|clue)|i(?:'ve| have) no (?:idea|clue)|(?:i'm |i am )?not sure"
                  r"|i(?:'m| am) (?:stuck|blanking|drawing a blank|not familiar with (?:this|that|it))"
                  r"|i (?:can't|cannot|don't|do not) remember|i forgot|dunno|beats me|no clue"),
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
