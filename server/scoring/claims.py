"""Does one span of an answer state a claim? Concepts matched on stems, negation-aware.

A key point's claim is a list of concepts (`requires` in the bank), each a few
phrasings. The claim is stated by a span when every concept is found in it and none
of those findings is negated. Topical closeness is not enough: "variance is when it
overfits" is near every bias-variance point by embedding, yet it names neither
"bias squared" nor "irreducible noise", so it states no error decomposition.

Matching rules (the bank's SCHEMA.md repeats them for authors):

* words are lower-cased, spoken notation normalised ("L1" -> "l one") and crudely
  stemmed ("underfits", "underfitting" -> "underfit");
* "doesn't", "can't", "cannot" are read as two words ("does not"), so a phrasing
  written with either form matches both;
* a phrasing matches when its words occur in order with at most `MAX_GAP` other words
  between two of them ("more training data" matches "more labelled training data");
* a finding is negated when a negation word stands within `NEGATION_REACH` words before
  it or between its words, and the phrasing itself has none ("does not reduce
  variance" does not state "reduce variance").

Run `python -m server.scoring.claims QUESTION_ID "an answer"` to see which concepts of
which key points and misconceptions an answer states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from server.bank import Concept
from server.scoring.text import normalize, stem

MAX_GAP = 2
NEGATION_REACH = 3
#: The concepts of one claim lie within this many words of each other. Co-occurring in a
#: long sentence is not stating: "L one squares the weights, ..., and L two uses the
#: absolute value" names L one and "absolute value" 17 words apart.
MAX_SPREAD = 16
NEGATORS = frozenset({"not", "no", "never", "without", "neither", "nor", "hardly", "none",
                      "nothing", "nobody", "barely", "rather", "instead"})
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CONTRACTIONS = {"can't": ("can", "not"), "cannot": ("can", "not"), "won't": ("will", "not"),
                 "shan't": ("shall", "not"), "ain't": ("is", "not")}


def claim_words(text: str) -> list[str]:
    """Stemmed words with negations split off: the unit concepts are matched on."""
    out: list[str] = []
    for token in _WORD.findall(normalize(text)):
        if token in _CONTRACTIONS:
            out.extend(_CONTRACTIONS[token])
        elif token.endswith("n't"):
            out.extend((stem(token[:-3]), "not"))
        else:
            out.append(stem(token.removesuffix("'s")))
    return out


@dataclass(frozen=True)
class Phrasing:
    words: tuple[str, ...]
    negative: bool  # the phrasing itself carries a negation ("does not change bias")

    @classmethod
    def of(cls, text: str) -> Phrasing:
        words = tuple(claim_words(text))
        return cls(words, any(w in NEGATORS for w in words))


@dataclass(frozen=True)
class Claim:
    """A claim as concepts, each a tuple of phrasings."""

    concepts: tuple[tuple[Phrasing, ...], ...]

    @classmethod
    def of(cls, requires: Sequence[Concept]) -> Claim:
        return cls(tuple(tuple(Phrasing.of(p) for p in group if p.strip()) for group in requires))

    def __bool__(self) -> bool:
        return bool(self.concepts)

    def stated_in(self, words: Sequence[str], max_spread: int = MAX_SPREAD) -> bool:
        """Every concept found, not negated, all within `max_spread` words."""
        if not self.concepts:
            return False
        found = [[hit for phrasing in group for hit in occurrences(words, phrasing)]
                 for group in self.concepts]
        if not all(found):
            return False
        return _tightest(found) <= max_spread

    def found(self, words: Sequence[str]) -> list[bool]:
        """Which concepts the words state (for the checker)."""
        return [any(find(words, phrasing) for phrasing in group) for group in self.concepts]


def _tightest(found: list[list[tuple[int, int]]]) -> int:
    """Width in words of the narrowest window holding one finding of every concept."""
    best = 1 << 30
    for anchor in (hit for hits in found for hit in hits):
        # Each concept's finding nearest to this anchor; the anchor's own concept takes it.
        low, high = anchor
        for hits in found:
            nearest = min(hits, key=lambda h: max(h[1], anchor[1]) - min(h[0], anchor[0]))
            low, high = min(low, nearest[0]), max(high, nearest[1])
        best = min(best, high - low + 1)
    return best


def occurrences(words: Sequence[str], phrasing: Phrasing) -> list[tuple[int, int]]:
    """(first, last) word index of each finding of `phrasing` that is not negated."""
    needle = phrasing.words
    hits: list[tuple[int, int]] = []
    if not needle:
        return hits
    for start, word in enumerate(words):
        if word != needle[0]:
            continue
        end = _match_from(words, needle, start)
        if end is not None and (phrasing.negative or not _negated(words, start, end, needle)):
            hits.append((start, end))
    return hits


def find(words: Sequence[str], phrasing: Phrasing) -> bool:
    """True when `phrasing` occurs in `words`, within the gap, and is not negated."""
    return bool(occurrences(words, phrasing))


def _match_from(words: Sequence[str], needle: Sequence[str], start: int) -> int | None:
    position = start
    for part in needle[1:]:
        window = words[position + 1: position + 2 + MAX_GAP]
        try:
            position = position + 1 + window.index(part)
        except ValueError:
            return None
    return position


def _negated(words: Sequence[str], start: int, end: int, needle: Sequence[str]) -> bool:
    before = words[max(0, start - NEGATION_REACH): start]
    inside = [w for w in words[start: end + 1] if w not in needle]
    return any(w in NEGATORS for w in (*before, *inside))


def _main() -> None:
    import argparse

    from server.bank import load_bank
    from server.scoring.text import spans

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("question_id")
    parser.add_argument("answer")
    args = parser.parse_args()
    question = load_bank().get(args.question_id)
    if question is None:
        raise SystemExit(f"no question {args.question_id!r}")
    units = [(s, claim_words(s)) for s in spans(args.answer, pairs_of_sentences=True)]
    for kp in question.key_points:
        claim = Claim.of(kp.requires)
        best = max(units, key=lambda u: sum(claim.found(u[1])), default=("", []))
        marks = claim.found(best[1]) if claim else []
        state = "STATED " if claim.stated_in(best[1]) else "missing"
        print(f"{state} {kp.id}: {marks} in {best[0]!r}" if claim else f"(no requires) {kp.id}")
        for m in kp.misconceptions:
            wrong = Claim.of(m.requires)
            hit = next((s for s, w in units if wrong.stated_in(w)), None)
            if hit is not None:
                print(f"   MISCONCEPTION {m.text!r} in {hit!r}")


if __name__ == "__main__":
    _main()
