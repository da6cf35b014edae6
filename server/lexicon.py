"""The words viva listens for, defined once: fillers, hedges, dangling words, long pauses.

The endpointer (`audio/endpoint.py`, and `turn.py` through it) reads fillers and
dangling words to decide whether a turn is over; delivery scoring
(`scoring/delivery.py`) counts fillers, hedges, repeats and long pauses; the review
page draws the marks `mark_words` puts on each word. All of them use the lists and
the word key here, so what costs delivery points is exactly what the page marks.

Pure Python: no models, no protocol, no I/O.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

#: What the page can mark on a word: delivery counts each of these.
WordMark = Literal["filler", "hedge", "repeat"]

#: Fillers as Whisper writes them (the plain pass drops most; the verbatim pass, with a
#: disfluent prompt, writes them back in these spellings).
FILLERS: frozenset[str] = frozenset({
    "um", "umm",  # the usual spellings of a nasal filler
    "uhm",  # Whisper's spelling of "um" said with an open vowel first
    "hum",  # Whisper's "um" under load: "and, um," came back as "and hum.", and the
    #         interviewer cut in during the thinking pause that followed
    "uh", "uhh",  # the open-vowel filler, short and drawn out
    "er", "erm",  # British spellings of "uh" / "um"
    "ah", "ahh",  # "ah, so the gradient..." while finding the next word
    "eh",  # a short "uh"
    "hmm", "hm",  # thinking aloud with the mouth closed
    "mm", "mmm",  # the same, written without the h
    "mhm",  # a backchannel "mm-hm" the candidate says to themself before answering
})

#: Hedging phrases, as lower-case word keys joined by single spaces. Each costs delivery
#: points beyond the first (scoring/delivery.py) and is marked on its words.
HEDGES: tuple[str, ...] = (
    "i think", "i guess", "i believe", "i suppose",  # opinion where a fact is asked for
    "maybe", "probably", "perhaps",  # doubt about a claim the candidate goes on to make
    "sort of", "kind of", "more or less",  # softening a term ("kind of regularizes")
    "i'm not sure", "i am not sure",  # doubt stated outright
)

#: Words after which an English clause cannot be over: a turn whose words so far end on
#: one is unfinished ("and the second reason is", "because", "and, um,"), so the
#: endpointer waits longer. Fillers are in: a filler at the end is thinking.
DANGLING: frozenset[str] = frozenset({
    # conjunctions and relative words: the next clause is still to come
    "and", "or", "but", "so", "because", "since", "then", "which", "that", "who", "where",
    "when", "while", "if", "than", "as",
    # articles, prepositions, possessives: the noun is still to come
    "the", "a", "an", "of", "to", "for", "with", "in", "on", "by", "into", "from", "about",
    "at", "via", "per", "whether", "my", "our", "their", "its", "your", "like",
    "very",
    # verbs and subjects with their complement still to come
    "is", "are", "was", "were", "be", "we", "i", "you", "it's", "there's",
    # enumerations and additions: "first", "also", "plus" announce the next item
    "first", "second", "third", "also", "plus",
    # discourse openers said while framing the next sentence
    "basically", "actually", "well",
}) | FILLERS
#: Words that, right after a conjunction, still frame the clause to come: "...so now." is
#: a cut "so now we ..." (espeak's "so that", heard as "so now.", ended 7 of bench/turns.py's
#: 9 false cut-ins). Alone they end sentences ("...that's how it works now.").
FRAMING_AFTER_CONJUNCTION: frozenset[str] = frozenset({"now", "next"})
CONJUNCTIONS: frozenset[str] = frozenset({"and", "or", "but", "so", "because"})

#: A finished sentence that announces what is still to come: a count of items ("there
#: are two main reasons for that."), or the first step of a sequence ("I would first fix
#: the metric.", "I would start with a simple baseline."). A human interviewer waits for
#: the second reason; the endpointer gives such a sentence the unknown wait
#: (`audio/endpoint.py:announces_more`). Seen: false cut-ins at eight sessions
#: (bench.load, 2026-12-02) in the pause right after "...I would first fix the metric."
#: and after "...I would start with a simple baseline, like logistic regression.".
ANNOUNCED_COUNTS: frozenset[str] = frozenset({
    "two", "three", "four", "five", "several", "few", "couple"})
#: What such a count counts (singular; a plural is matched by its singular).
ANNOUNCED_ITEMS: frozenset[str] = frozenset({
    "reason", "way", "thing", "step", "part", "option", "approach", "type", "kind",
    "factor", "point", "idea", "component", "stage", "issue", "problem", "cause", "method",
    "strategy", "aspect", "case", "side", "phase", "question", "check", "piece", "category",
    "technique", "trick", "lever", "source", "benefit", "advantage", "drawback", "risk"})
#: Word sequences that open a sequence ("first" as an adverb; "the first" only before an
#: item: "the first reason is", not "the first layers learn edges").
SEQUENCE_OPENERS: tuple[tuple[str, ...], ...] = (
    ("first",), ("firstly",), ("start", "with"), ("start", "by"), ("start", "off"),
    ("begin", "with"), ("begin", "by"), ("to", "begin"), ("to", "start"))
#: Words after an opener, in the same sentence, that already go on with the sequence
#: ("generate candidates first, then rank them.").
SEQUENCE_GOES_ON: frozenset[str] = frozenset({
    "then", "second", "secondly", "next", "after", "afterwards", "finally", "later"})
#: Determiners before "first" that make it an adjective.
DETERMINERS: frozenset[str] = frozenset({
    "the", "a", "an", "its", "their", "our", "my", "your", "his", "her", "this", "that"})

#: A silence between two stretches of speech at least this long is a long pause: it
#: costs delivery points and is drawn before the word after it. Measured on the VAD's
#: speech segments, as Whisper stretches words over the silences after them.
LONG_PAUSE_S = 1.5
#: A word may start this much before the VAD's speech onset it belongs to (Whisper's
#: word starts run early).
WORD_ONSET_SLACK_S = 0.3

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})
_NOT_WORD = re.compile(r"[^a-z']")


def word_key(word: str) -> str:
    """A word as the lists above spell it: lower case, curly apostrophes straight, no
    punctuation (" Um," -> "um", "I\u2019m" -> "i'm")."""
    return _NOT_WORD.sub("", word.lower().translate(_APOSTROPHES))


def text_keys(text: str) -> list[str]:
    """The word keys of a text, split where the speaker's words are (at white space),
    so a text and its timed words give the same keys."""
    return [key for key in (word_key(w) for w in text.split()) if key]


def is_filler(word: str) -> bool:
    return word_key(word) in FILLERS


def count_fillers(text: str) -> int:
    return sum(1 for key in text_keys(text) if key in FILLERS)


def hedge_spans(keys: Sequence[str]) -> list[tuple[str, int, int]]:
    """Each hedge said, as (phrase, first index, end index) over the word keys."""
    found: list[tuple[str, int, int]] = []
    for hedge in HEDGES:
        phrase = hedge.split()
        found.extend((hedge, i, i + len(phrase)) for i in range(len(keys) - len(phrase) + 1)
                     if list(keys[i: i + len(phrase)]) == phrase)
    return found


def find_hedges(text: str) -> list[str]:
    return [hedge for hedge, _, _ in hedge_spans(text_keys(text))]


def repeat_spans(keys: Sequence[str]) -> list[tuple[int, int]]:
    """Immediate repeats ("the the") and restarted bigrams ("it is, it is"), as the
    (first, end) indices of the repeated words over `keys`; fillers and empty keys are
    skipped (a filler repeated is counted as fillers, not as a restart)."""
    kept = [i for i, key in enumerate(keys) if key and key not in FILLERS]
    tokens = [keys[i] for i in kept]
    spans = [(kept[i + 1], kept[i + 1] + 1) for i, (a, b) in enumerate(itertools.pairwise(tokens))
             if a == b]
    spans += [(kept[i + 2], kept[i + 3] + 1) for i in range(len(tokens) - 3)
              if tokens[i: i + 2] == tokens[i + 2: i + 4] and tokens[i] != tokens[i + 1]]
    return sorted(spans)


def long_pauses(segments: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """The long silences (start, end) between consecutive VAD speech segments."""
    spans = sorted((float(s[0]), float(s[1])) for s in segments if len(s) >= 2)
    return [(a[1], b[0]) for a, b in itertools.pairwise(spans) if b[0] - a[1] >= LONG_PAUSE_S]


@dataclass(frozen=True)
class Marks:
    """What one word of an answer is marked with."""

    marks: list[WordMark] = field(default_factory=list)
    #: The long pause (seconds) right before this word, or None.
    pause_before_s: float | None = None


def first_word_after(starts: Sequence[float], gap_end: float) -> int | None:
    """The index of the first timed word of the speech that resumes at `gap_end` (a word
    may start `WORD_ONSET_SLACK_S` early), or None."""
    return next((i for i, t in enumerate(starts) if t >= gap_end - WORD_ONSET_SLACK_S), None)


def mark_words(words: Sequence[str], starts: Sequence[float],
               segments: Sequence[Sequence[float]] | None) -> list[Marks]:
    """Each timed word's marks: the fillers, hedges, repeats and long pauses that
    delivery scoring counts, on the words they were said in. A long pause goes on the
    first word that starts with the speech after it (several on one word: the longest);
    a pause after the last word has no word to go on."""
    keys = [word_key(w) for w in words]
    marks: list[list[WordMark]] = [["filler"] if key in FILLERS else [] for key in keys]
    for _, first, end in hedge_spans(keys):
        for i in range(first, end):
            if "hedge" not in marks[i]:
                marks[i].append("hedge")
    for first, end in repeat_spans(keys):
        for i in range(first, end):
            if "repeat" not in marks[i]:
                marks[i].append("repeat")
    pauses: dict[int, float] = {}
    for gap_start, gap_end in long_pauses(segments or []):
        after = first_word_after(starts, gap_end)
        if after is not None:
            pauses[after] = max(pauses.get(after, 0.0), round(gap_end - gap_start, 2))
    return [Marks(m, pauses.get(i)) for i, m in enumerate(marks)]


#: Words that carry a sentence on: a transcribed piece starting with one continues the
#: piece before it (its full stop was the cut's: it becomes a comma).
CONTINUING: frozenset[str] = frozenset({
    "and", "but", "so", "or", "because", "which", "since", "then", "while", "whereas"})

#: Words a spoken sentence does not end on, where Whisper put a full stop at a piece's
#: end: the stop is the cut's and goes. Narrower than `DANGLING` (the endpointer's
#: "still thinking" words): "...than you." or "...where we are, I." may end a sentence,
#: and dropping a real full stop runs two sentences together.
CUT_BEFORE: frozenset[str] = frozenset({
    "the", "a", "an", "of", "to", "and", "or", "but", "with", "for", "by", "at",
    "is", "are", "was", "were", "that", "which", "because", "if", "than", "as",
    "my", "your", "their", "its", "our", "from", "into", "like", "very"}) | FILLERS


# British spellings, read as American by the claims (server/scoring/claims.py) on both the
# bank's phrasings and the answer, so a typed "regularise", "centre" or "labelled" meets the
# bank's "regulariz", "center" and "label" (a tuning answer's "each centre hops to its
# members' average" missed the k-means update for "centre" alone).
#: Words whose "-ise" is the American spelling too: left alone.
ISE_AS_WRITTEN = frozenset("""
advise advertise appraise arise bruise chastise circumcise comprise compromise concise
cruise demise denoise despise devise disguise enterprise excise exercise expertise
franchise guise improvise incise merchandise mortise noise otherwise paradise poise
porpoise praise precise premise promise raise reprise revise rise supervise surmise
surprise televise tortoise treatise vise wise
""".split())
#: "-our" words spelled "-or" in American English (not "hour", "four", "your", "tour").
OUR_TO_OR = frozenset("""
behaviour colour favour flavour harbour honour humour labour neighbour rumour savour vapour
""".split())
#: "-tre" words spelled "-ter".
TRE_TO_TER = frozenset("centre fibre litre metre theatre spectre meagre".split())
#: Stems whose British forms double the "l" before "-ed", "-ing", "-er".
DOUBLED_L = frozenset("""
model label travel cancel signal level fuel tunnel channel funnel marshal total counsel
""".split())
