"""How long this candidate pauses inside an answer, so that the quick end of a turn
waits just past it.

Pure logic, one per session. A human interviewer learns within an answer or two whether
a candidate breathes for a fifth of a second or half a second between sentences, and
answers a finished answer only after a pause longer than that. The endpointer's quick
end (a finished sentence that also sounds finished, `EndpointSettings.sure_silence_s`)
is therefore earned: until this candidate has been heard to pause `evidence` times
inside their answers, a finished sentence waits the ordinary `ceiling_s`; after, the
quick end waits `margin_s` past the longest of those pauses, never less than `quick_s`
nor more than `ceiling_s`, and it never shrinks back below a longer pause heard later.

The ordinary wait follows the candidate the other way too: a pause inside an answer
that came within `margin_s` of ending it at that wait (the words before it read as a
finished sentence, `nearly_ended`), or one that did end it and was taken back, raises
the wait after a finished sentence to `margin_s` past the longest such pause, never more
than `longest_s` (a pause longer than that is a place to end a turn, and is left out).
A human interviewer who was nearly caught out by a half-second breath waits a little
longer for this candidate. Seen: five false cut-ins in ten bench.load runs
at eight sessions (2026-12-02), each in a 0.45-0.58 s pause between two sentences of a
voice that pauses that long inside answers, under the 500 ms wait.

A pause counts unless the word before it is one a sentence cannot end on (`DANGLING`:
"and", "the", "um"): the live transcript of a piece cut at a comma often ends in a full
stop, so a pause at a comma is as likely to be taken for the end as one between
sentences. Started at a fixed 350 ms instead, the quick end closed 3 of 10 Piper answers
at such a pause (bench.latency); the figures with this rule are in the README, End of turn.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from server.lexicon import DANGLING, first_word_after, word_key


@dataclass
class PauseRhythm:
    #: The quickest end: `EndpointSettings.sure_silence_s`.
    quick_s: float
    #: The wait until the candidate's pauses are known, and the longest quick end:
    #: `EndpointSettings.finished_silence_s`.
    ceiling_s: float
    #: How far past the longest pause the quick end waits: the VAD's estimate of where a
    #: pause starts moves by a frame or two (32-64 ms) between two pauses of one voice.
    margin_s: float = 0.1
    #: Pauses heard before the quick end is used.
    evidence: int = 3
    #: The longest the ordinary wait grows to. A pause this long after a finished sentence
    #: is a place to end the turn, not a breath, and teaches nothing: learned from the
    #: 1-2 s pauses that bench.turns puts between two sentences (each ended the turn and
    #: was taken back), the wait grew to 1.2 s and the reply's p90 there from 0.6 to 2.2 s.
    longest_s: float = 0.8
    pauses: list[float] = field(default_factory=list)
    #: Pauses inside answers after which the ordinary wait nearly (or did) end the turn.
    near_misses: list[float] = field(default_factory=list)

    def heard(self, pauses: Iterable[float]) -> None:
        """Pauses inside one answer (from `answer_pauses`)."""
        self.pauses.extend(pauses)

    def nearly_ended(self, pause_s: float, wait_s: float) -> bool:
        """A pause inside an answer, after words that read as a finished sentence, whose
        wait was `wait_s`; whether it was close enough to count (and now does)."""
        if pause_s < wait_s - self.margin_s or pause_s >= self.longest_s:
            return False
        self.near_misses.append(round(pause_s, 3))
        return True

    @property
    def finished_silence_s(self) -> float:
        """The ordinary wait after a finished sentence now."""
        if not self.near_misses:
            return self.ceiling_s
        return min(max(self.longest_s, self.ceiling_s),
                   max(self.ceiling_s, max(self.near_misses) + self.margin_s))

    @property
    def quick_silence_s(self) -> float:
        """The silence the quick end needs now."""
        ceiling = self.finished_silence_s
        if self.quick_s >= ceiling or len(self.pauses) < self.evidence:
            return max(self.quick_s, ceiling)
        return min(ceiling, max(self.quick_s, max(self.pauses) + self.margin_s))


#: Pauses before this many words are left out: the quick end never follows so brief a
#: sentence (`EndpointSettings.brief_words`), and "Good question. [1 s] So..." is framing.
OPENING_WORDS = 7


def answer_pauses(words: Sequence[str], starts: Sequence[float],
                  segments: Sequence[Sequence[float]]) -> list[float]:
    """The pauses between an answer's speech spans (`segments`, the VAD's, in the words'
    time frame), except those after a word a sentence cannot end on and those in its
    first `OPENING_WORDS` words."""
    pauses = []
    for (_, gap_start), (gap_end, _) in itertools.pairwise(segments):
        after = first_word_after(starts, gap_end)
        if after is None or after < OPENING_WORDS or word_key(words[after - 1]) in DANGLING:
            continue
        pauses.append(round(gap_end - gap_start, 3))
    return pauses
