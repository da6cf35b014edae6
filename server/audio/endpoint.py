"""When has the candidate finished their turn? Silence length read together with the
words and with how the speech sounded.

Pure logic: no audio, no models. A good interviewer waits through "and the second
reason is..." but answers promptly after a complete sentence, so the silence needed to
end a turn depends on how the transcript ends and on the turn-end model's probability
that the speaker sounded finished (Smart Turn, server/engines/turn_end.py), fused in
`required_silence`; the table there was picked on bench/turns.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# The words a clause cannot end on (fillers among them) are defined once, in lexicon.py.
from server.lexicon import (
    ANNOUNCED_COUNTS,
    ANNOUNCED_ITEMS,
    CONJUNCTIONS,
    DETERMINERS,
    FRAMING_AFTER_CONJUNCTION,
    SEQUENCE_GOES_ON,
    SEQUENCE_OPENERS,
)
from server.lexicon import DANGLING as _DANGLING


class Ending(Enum):
    FINISHED = "finished"  # a complete sentence: reply quickly
    UNFINISHED = "unfinished"  # a dangling clause or a filler: they are thinking
    UNKNOWN = "unknown"


#: Prepositions a finished sentence may end on, after a relative clause or a question:
#: "the class we actually care about.", "which loss would you go with?"
_STRANDABLE = {"about", "of", "to", "for", "with", "in", "on", "from", "into", "by", "like"}
#: Words that open such a clause; "that" is left out, as in "the reason is that it
#: depends on" it is far more often the start of a clause not yet said.
_RELATIVE = {"what", "which", "who", "whom", "whose", "whatever", "whichever", "one", "ones",
             "something", "anything", "everything", "nothing", "someone", "anyone"}
_WORD = re.compile(r"[a-z']+")


#: Words that open a subordinate clause: "..., while boosting." has its subject and no
#: verb yet (Whisper put the full stop at the pause).
_SUBORDINATORS = {"while", "whereas", "because", "since", "although", "though", "unless",
                  "if", "when", "whereby", "so", "and", "but", "which"}


#: Of those, the ones no sentence ends two words after ("... precision and recall." and
#: "... when needed." do end there).
_CLAUSE_OPENERS = {"while", "whereas", "because", "although", "though", "unless", "whereby"}


def classify_ending(text: str) -> Ending:
    stripped = text.strip()
    if not stripped:
        return Ending.UNKNOWN
    if stripped.endswith(("...", "…", ",", ";", ":", "-")):
        return Ending.UNFINISHED
    words = _WORD.findall(stripped.lower())
    if words and words[-1] in _DANGLING:
        if not (stripped.endswith((".", "?", "!")) and _stranded(words)):
            return Ending.UNFINISHED
    if len(words) >= 3 and words[-1] in FRAMING_AFTER_CONJUNCTION and words[-2] in CONJUNCTIONS:
        return Ending.UNFINISHED  # "...random units so now." for "... so that"
    last_clause = _WORD.findall(re.split(r"[,;:]", stripped)[-1].lower())
    if len(last_clause) <= 2 and last_clause and last_clause[0] in _SUBORDINATORS:
        return Ending.UNFINISHED  # "..., while boosting." / "..., because it."
    if len(words) >= 3 and words[-2] in _CLAUSE_OPENERS:
        # The same without the comma, which Whisper often drops: "...reduces the variance
        # while boosting." (bench/turns.py, espeak: 6 of its 15 false cut-ins).
        return Ending.UNFINISHED
    sentences = _sentences(stripped)
    if len(sentences) > 1 and len(_WORD.findall(sentences[-1])) <= 2 \
            and not stripped.endswith("?"):
        # A one- or two-word sentence after a whole one is a fragment Whisper closed at
        # a pause ("...the most important setting. Sense." for "setting, since").
        return Ending.UNFINISHED
    if stripped.endswith((".", "?", "!")):
        return Ending.FINISHED
    return Ending.UNKNOWN


_TOKEN = re.compile(r"[a-z']+|[,;:]")
#: Words a count of items may stand before its item ("two main reasons", "a couple of ways").
_COUNT_REACH = 3
#: A last sentence this short is read with the one before it.
_FRAGMENT_WORDS = 4
#: Words after the counted item: "...two main reasons for that." still announces them;
#: "...two reasons, overfitting and noise." lists them.
_AFTER_ITEM = 3


def announces_more(text: str) -> bool:
    """The last sentence announces what is still to come: a count of items near its end
    with none listed after it ("There are two main reasons for that."), or the first
    step of a sequence with nothing after it going on ("I would first fix the metric.",
    "I would start with a simple baseline, like logistic regression."; not "...from
    embeddings first, then rank them.")."""
    sentences = _sentences(text.strip())
    if not sentences or sentences[-1].endswith("?"):
        return False  # "Can I start with regularization?" waits for an answer
    last = sentences[-1]
    if len(sentences) > 1 and len(_WORD.findall(last.lower())) <= _FRAGMENT_WORDS:
        # Whisper closes a piece at a comma: "...start with a simple baseline. Like
        # logistic regression." (bench.load, eight sessions: a false cut-in).
        last = f"{sentences[-2]} {last}"
    tokens = _TOKEN.findall(last.lower())
    words = [t for t in tokens if t not in ",;:"]
    for i, word in enumerate(tokens):
        if word not in ANNOUNCED_COUNTS:
            continue
        for j in range(i + 1, min(i + 1 + _COUNT_REACH, len(tokens))):
            if _is_item(tokens[j]):
                rest = tokens[j + 1:]
                if len(rest) <= _AFTER_ITEM and not any(t in ",;:" for t in rest):
                    return True
                break
    for i in range(len(words)):
        for opener in SEQUENCE_OPENERS:
            if tuple(words[i:i + len(opener)]) != opener:
                continue
            if opener == ("first",) and i > 0 and words[i - 1] in DETERMINERS \
                    and not (i + 1 < len(words) and _is_item(words[i + 1])):
                continue  # "the first layers": an adjective, not a step
            if not any(w in SEQUENCE_GOES_ON for w in words[i + len(opener):]):
                return True
    return False


def _is_item(word: str) -> bool:
    return word in ANNOUNCED_ITEMS or (word.endswith("s") and word[:-1] in ANNOUNCED_ITEMS) \
        or (word.endswith("es") and word[:-2] in ANNOUNCED_ITEMS)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def _stranded(words: list[str]) -> bool:
    """A preposition left at the end of a relative clause: "the one we care about"."""
    if words[-1] not in _STRANDABLE or len(words) < 4:
        return False
    # The relative word comes a few words before the preposition, never right before
    # it ("one of." is a cut "one of the ...").
    clause = words[-8:-2]
    return any(word in _RELATIVE for word in clause)


@dataclass(frozen=True)
class EndpointSettings:
    finished_silence_s: float = 0.7
    unknown_silence_s: float = 1.2
    unfinished_silence_s: float = 2.8
    #: A finished sentence that also sounds finished (turn-end probability at least
    #: `sure_p`): the reply comes this soon.
    sure_silence_s: float = 0.7
    sure_p: float = 0.5
    #: Below this probability the speaker sounds mid-thought: words without a final
    #: stop are then a thinking pause. (A finished sentence that sounds doubtful waited
    #: 1.2 s; on bench/turns.py that prevented no cut-in, so it ends as any other.)
    doubt_p: float = 0.2
    #: A finished sentence that sounds mid-thought (probability under `doubt_p`) waits
    #: this long; at `finished_silence_s` or less the model is not asked after a finished
    #: sentence at all.
    doubt_finished_silence_s: float = 0.5
    #: ... which is asked after a finished sentence only when the speech before this pause
    #: lasted less than this and followed a pause of its own: a filler said after a pause
    #: ("...each weight is, [0.6 s] uh"), which Whisper writes as a word ("...is them.").
    #: Asked after every finished sentence it cost one session 170 ms of the median reply
    #: (bench.latency: 590 -> 759 ms) and saved the same cut-ins (bench.turns: 9 -> 7 of
    #: 181 either way).
    doubt_burst_s: float = 1.0
    #: The quicker `sure_silence_s` needs at least this probability (a finished sentence
    #: between `sure_p` and it ends at `finished_silence_s`).
    quick_p: float = 0.5
    #: Words that dangle and speech that sounds unfinished: a thinking pause, held
    #: (the session says "take your time" at `THINKING_NUDGE_S`); past this the answer
    #: so far is taken as the answer.
    thinking_silence_s: float = 20.0
    #: Right after the question, the candidate is often still framing the answer.
    opening_silence_s: float = 4.5
    #: An answer counts as "just started" until it has this many words.
    opening_words: int = 4
    #: A finished sentence shorter than this is more often an opener ("Good question.",
    #: "Well, the key idea is attention.") than a whole answer: it gets the unknown wait.
    brief_words: int = 7


def at_sentence_end(text: str, settings: EndpointSettings) -> bool:
    """The words end on a finished sentence of some length: a pause here is one between
    sentences (the candidate's rhythm, server/audio/rhythm.py, learns from it)."""
    return classify_ending(text) is Ending.FINISHED \
        and len(_WORD.findall(text.lower())) >= settings.brief_words


def hears_the_model(text: str, settings: EndpointSettings, burst_s: float | None = None) -> bool:
    """Whether the turn-end model's verdict can change the wait after these words: a
    complete sentence of some length ends at `finished_silence_s` however it sounded
    (unless a quicker `sure_silence_s` is set, or the speech before this pause was a
    short burst after another pause, `burst_s` < `doubt_burst_s`), so the model is not
    asked (it costs 10-80 ms of CPU a pause, 0.24 s of the median reply at eight sessions)."""
    words = len(_WORD.findall(text.lower()))
    finished = classify_ending(text) is Ending.FINISHED
    if finished and announces_more(text):
        return False  # the words alone set the wait
    return not (finished and words >= settings.brief_words
                and settings.sure_silence_s >= settings.finished_silence_s
                and not _doubtful_burst(settings, burst_s))


def _doubtful_burst(settings: EndpointSettings, burst_s: float | None) -> bool:
    """The speech before this pause was a short burst after a pause of its own (a filler
    Whisper may have written as a word), and such a burst may be held."""
    return (settings.doubt_finished_silence_s > settings.finished_silence_s
            and burst_s is not None and burst_s < settings.doubt_burst_s)


def required_silence(text: str, settings: EndpointSettings,
                     complete: float | None = None, burst_s: float | None = None) -> float:
    """Seconds of silence after speech that end the turn, given the words so far,
    `complete`, the turn-end model's probability that the speech sounded finished
    (None: no model, or not in yet), and `burst_s`, how long the speech before this pause
    lasted when a pause came before it too. Measured on bench/turns.py."""
    words = len(_WORD.findall(text.lower()))
    ending = classify_ending(text)
    if words < settings.opening_words and ending is not Ending.FINISHED:
        return settings.opening_silence_s
    sounds_unfinished = complete is not None and complete < settings.sure_p
    sounds_doubtful = complete is not None and complete < settings.doubt_p
    if ending is Ending.UNFINISHED or (ending is Ending.UNKNOWN and sounds_doubtful):
        # Dangling words ("...I would look at"): a thinking pause, held for good when it
        # also sounds unfinished; words alone (or a final-sounding "at") wait less.
        if sounds_unfinished:
            return max(settings.thinking_silence_s, settings.unfinished_silence_s)
        return settings.unfinished_silence_s
    brief = words < settings.brief_words
    if ending is Ending.FINISHED and announces_more(text):
        # "There are two main reasons for that. [0.5 s] The first...": the words say more
        # is coming, however finished the sentence sounds.
        return max(settings.finished_silence_s, settings.unknown_silence_s)
    if ending is Ending.FINISHED:
        if complete is not None and complete >= max(settings.sure_p, settings.quick_p) \
                and not brief:
            return min(settings.sure_silence_s, settings.finished_silence_s)
        if sounds_doubtful and not text.rstrip().endswith("?") \
                and _doubtful_burst(settings, burst_s):
            # A question is left out: its rising voice reads as unfinished to the model
            # ("Sorry, can I start with regularization instead?": p 0.02). Only after a
            # short burst: with the model asked after every finished sentence (a quick
            # `sure_silence_s`), one in ten whole answers sounded doubtful and waited 6 s
            # (bench.turns: p90 to the final transcript 0.56 -> 5.94 s).
            return max(settings.doubt_finished_silence_s, settings.finished_silence_s,
                       settings.unknown_silence_s if brief else 0.0)
        if brief:
            return max(settings.finished_silence_s, settings.unknown_silence_s)
        return settings.finished_silence_s
    if complete is not None and complete >= settings.sure_p:
        return settings.finished_silence_s
    return settings.unknown_silence_s
