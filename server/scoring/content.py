"""Which key points did the answer state, and where? A point counts when the answer
makes that claim; being about the same topic is not enough.

Two ways to decide, by what the bank gives:

* **The claim's structure** (`requires` in the bank; every built-in key point has
  one): the point is covered when one span of the answer (a clause, a sentence or two
  adjacent sentences) states every concept of the claim, none negated
  (server/scoring/claims.py). The evidence is the shortest such span.
* **The learned matcher** for a point without `requires` (a question someone added,
  the public benchmark sets): a logistic model over meaning and word features,
  calibrated on the SemEval-2013 training split (server/scoring/matcher.py).

Why not sentence embeddings alone, as before: every sentence of a bias-variance
answer is close to every bias-variance point, so "variance is when it overfits" was
credited with the error decomposition. Against hand labels, `covered: true` was right
two times in three.

A misconception ("careful, X is not right") is reported only when one clause states
every concept of that wrong claim, none negated, and does not also state the point:
a correct statement that resembles a misconception is never an accusation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np
from cachetools import LRUCache

from server.bank import KeyPoint
from server.scoring.claims import (
    Claim,
    StatedWrong,
    claim_for,
    misconception_claims,
    read_answer,
    stated_wrong,
)
from server.scoring.matcher import (
    NO_PIECES,
    LearnedMatcher,
    MatchInput,
    WordPieces,
    alignment,
    graded,
)
from server.scoring.text import windows

#: The shortest other phrasing the pair judge reads. It was trained on (reference
#: statement, answer) pairs; a bank point's terms are mostly cues of two or three words
#: ("bias squared"): five to a point, one of them of four words or more. Over 150
#: labeled answers to the bank's questions stripped of claims (bench.custom_points,
#: tune split), judging every phrasing scored precision 0.805, recall 0.887 and 255 ms
#: median for the last piece of an answer; phrasings of four words or more 0.809 /
#: 0.874 and 120 ms; the point's text alone 0.809 / 0.871 and 87 ms. Four keeps every
#: SemEval reference the matcher was calibrated with (Beetle's have four words or more).
JUDGED_WORDS = 4

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

if TYPE_CHECKING:
    from server.engines.embedder import Embedder

Embed = Callable[[Sequence[str]], np.ndarray]


class EncodedText(WordPieces, Protocol):
    """A text's word pieces and its sentence vector, from one encoder run
    (`MiniLMEmbedder.embed_tokens`)."""

    @property
    def sentence(self) -> np.ndarray: ...


EmbedTokens = Callable[[Sequence[str]], Sequence[EncodedText]]
#: (key point, answer) pairs -> the probability each answer states its point
#: (`MiniLMPairJudge.judge`).
Judge = Callable[[Sequence[tuple[str, str]]], np.ndarray]
SPAN_CACHE_SIZE = 4096  # 384 floats each: about 6 MB at most, shared by all sessions


class Rubric(Protocol):
    """What the scorer needs of a question (a bank Question is one)."""

    @property
    def id(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def key_points(self) -> Sequence[KeyPoint]: ...


@dataclass(frozen=True)
class PointCoverage:
    id: str
    text: str
    weight: int
    covered: bool
    evidence: str | None
    #: How sure the learned matcher was (None for a point decided by its claim's concepts).
    similarity: float | None
    misconception: str | None = None  # the wrong claim the answer stated, if any


@dataclass(frozen=True)
class ContentResult:
    points: list[PointCoverage]
    content: float  # 0-100, coverage weighted by key point importance

    @property
    def covered_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.points if p.covered)


def weighted_content(points: Sequence[PointCoverage]) -> float:
    total = sum(p.weight for p in points)
    got = sum(p.weight for p in points if p.covered)
    return round(100.0 * got / total, 1) if total else 0.0


def judged_statements(phrasings: Sequence[str]) -> tuple[str, ...]:
    """The phrasings the pair judge reads: the point's text and those of its other
    phrasings that are statements (JUDGED_WORDS words or more)."""
    return (phrasings[0], *(t for t in phrasings[1:] if len(t.split()) >= JUDGED_WORDS))


def _through_cache(cache: LRUCache[K, V], lock: threading.Lock, keys: Sequence[K],
                   compute: Callable[[list[K]], Iterable[V]]) -> list[V]:
    """Each key's value from the cache, the missing ones computed in one call and kept."""
    with lock:
        known = {k: v for k in keys if (v := cache.get(k)) is not None}
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        known.update(zip(missing, compute(missing), strict=True))
        with lock:
            for key in missing:
                cache[key] = known[key]
    return [known[k] for k in keys]


@dataclass(frozen=True)
class _Point:
    """A key point compiled once: its claims and the vectors of its texts."""

    claim: Claim
    wrong: tuple[tuple[str, Claim], ...]  # its misconceptions, compiled
    statement: np.ndarray  # (d,) the point's text
    statements: np.ndarray  # (1 + n, d): the text and its other phrasings (multi-word terms)
    statement_texts: tuple[str, ...]
    examples: np.ndarray  # (m, d): graded example answers
    example_texts: tuple[str, ...]
    example_covered: tuple[bool, ...]
    #: The text's and the question's word pieces (None for a point decided by its claim).
    pieces: tuple[WordPieces, WordPieces] | None = None


class _Answer:
    """An answer read for scoring. Its vectors are embedded only when a point without
    claim structure asks for them: claims need words, not meaning, so a bank question
    is scored without running the embedder at all."""

    def __init__(self, text: str, embed: Callable[[list[str]], np.ndarray],
                 embed_tokens: EmbedTokens | None) -> None:
        self.text = text
        self.reading = read_answer(text)  # spans, their words, clauses and sentences
        self._embed = embed
        self._embed_tokens = embed_tokens

    @cached_property
    def pieces(self) -> EncodedText | None:
        return self._embed_tokens([self.text.strip()])[0] if self._embed_tokens else None

    @property
    def units(self) -> list[str]:
        return self.reading.units

    @cached_property
    def _all(self) -> np.ndarray:
        if self.pieces is not None:
            # The whole answer's vector comes with its word pieces, from the one run the
            # alignment needs anyway: a live answer's whole text is new at every piece, so
            # encoding it twice cost a second run each time.
            whole = self.pieces.sentence[None, :]
            # An answer of no words ("?", "...": nine SemEval training answers) has no spans.
            return np.vstack([self._embed(self.units), whole]) if self.units else whole
        return self._embed([*self.units, self.text.strip()])

    @property
    def vectors(self) -> np.ndarray:  # (len(units), d)
        units: np.ndarray = self._all[:-1]
        return units

    @property
    def whole(self) -> np.ndarray:  # (d,)
        vector: np.ndarray = self._all[-1]
        return vector


class ContentScorer:
    def __init__(self, embed: Embed, matcher: LearnedMatcher | None = None,
                 embed_tokens: EmbedTokens | None = None, judge: Judge | None = None) -> None:
        """`embed_tokens` and `judge` are needed only for points without claims, whose
        matcher aligns word pieces and asks the pair judge."""
        self.embed = embed
        self.embed_tokens = embed_tokens
        self.judge = judge
        self.matcher = matcher or LearnedMatcher.calibrated()
        self._points: dict[tuple[str, str], _Point] = {}
        #: Answer spans already embedded. A live answer is scored as its pieces come in,
        #: so by the end of the turn only its last words are new.
        self._spans: LRUCache[str, np.ndarray] = LRUCache(maxsize=SPAN_CACHE_SIZE)
        #: The pair judge's answers: an answer's first windows stay the same as it grows,
        #: so each live piece asks only about its last window.
        self._judged_pairs: LRUCache[tuple[str, str], float] = LRUCache(maxsize=SPAN_CACHE_SIZE)
        self._caches_lock = threading.Lock()  # both caches: sessions score in threads
        #: One embedding at a time, whatever the number of sessions: concurrent ones only
        #: share the cores, and each holds its own activations in memory.
        self._embedding = threading.Lock()

    @classmethod
    def of(cls, embedder: Embedder, matcher: LearnedMatcher | None = None,
           judge: Judge | None = None) -> ContentScorer:
        """Over one embedder's sentence vectors and word pieces, and the pair judge."""
        return cls(embedder.embed, matcher, embedder.embed_tokens, judge)

    def _point(self, question: Rubric, kp: KeyPoint) -> _Point:
        key = (question.id, kp.id)
        compiled = self._points.get(key)
        if compiled is None:
            phrasings = (kp.text, *(t for t in kp.terms if len(t.split()) >= 2))
            examples = tuple(e.text for e in kp.examples)
            # A point decided by its claim never needs the embedder.
            vectors = (np.zeros((len(phrasings) + len(examples), 1), np.float32) if kp.requires
                       else self._vectors([*phrasings, *examples]))
            pieces = None
            if not kp.requires:
                if self.embed_tokens is None:
                    raise ValueError(f"key point {kp.id!r} has no claims: the learned matcher "
                                     "needs word pieces (ContentScorer.of(embedder))")
                if self.judge is None and "judge" in self.matcher.plain.names:
                    raise ValueError(f"key point {kp.id!r} has no claims: the learned matcher "
                                     "needs the pair judge (ContentScorer.of(embedder, judge=...))")
                text, prompt = self.embed_tokens([kp.text, question.prompt])
                pieces = (text, prompt)
            compiled = _Point(
                claim=claim_for(question, kp),
                wrong=misconception_claims(kp),
                statement=vectors[0],
                statements=vectors[:len(phrasings)], statement_texts=phrasings,
                examples=vectors[len(phrasings):], example_texts=examples,
                example_covered=tuple(e.covered for e in kp.examples),
                pieces=pieces,
            )
            self._points[key] = compiled
        return compiled

    def embeds(self, question: Rubric) -> bool:
        """Whether scoring this question runs the embedder (a point without claims)."""
        return any(not kp.requires for kp in question.key_points)

    def warm(self, question: Rubric) -> None:
        """Compile a question's key points ahead of its first answer (and load the pair
        judge, if a point without claims will ask it)."""
        for kp in question.key_points:
            self._point(question, kp)
        if self.judge is not None and self.embeds(question):
            self.judge([])

    def score(self, question: Rubric, answer: str,
              previous: Sequence[PointCoverage] | None = None) -> ContentResult:
        """Coverage of this answer, accumulated with `previous` turns on the same question."""
        said = self._read(answer)
        earlier = {p.id: p for p in previous or ()}
        # Wrong claims first: a clause that states one is evidence for no point.
        own = {kp.id: self._wrong(question, kp, said) for kp in question.key_points}
        wrongs = [w for w in own.values() if w]
        points: list[PointCoverage] = []
        for kp in question.key_points:
            found = self._cover(question, kp, said, own[kp.id], wrongs)
            before = earlier.get(kp.id)
            if before is not None and before.covered and not found.covered:
                # Coverage accumulates across follow-ups; a wrong claim made now is still named.
                found = replace(before, misconception=found.misconception)
            points.append(found)
        return ContentResult(points, weighted_content(points))

    def _read(self, answer: str) -> _Answer:
        return _Answer(answer, self._vectors, self.embed_tokens)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        def embed(missing: list[str]) -> np.ndarray:
            with self._embedding:
                return self.embed(missing)

        vectors: list[np.ndarray] = _through_cache(self._spans, self._caches_lock, texts, embed)
        return np.stack(vectors)

    def _wrong(self, question: Rubric, kp: KeyPoint, said: _Answer) -> StatedWrong | None:
        """The misconception of this point the answer states."""
        if not said.units:
            return None
        point = self._point(question, kp)
        return stated_wrong(point.claim, point.wrong, said.reading)

    def _cover(self, question: Rubric, kp: KeyPoint, said: _Answer,
               own: StatedWrong | None, wrongs: Sequence[StatedWrong]) -> PointCoverage:
        if not said.units:
            return PointCoverage(kp.id, kp.text, kp.weight, False, None, None)
        point = self._point(question, kp)
        similarity: float | None = None
        if point.claim:
            best = said.reading.shortest(point.claim, wrongs, own)
            covered = best is not None
        else:
            covered, probability = self.matcher.covers(self._match_input(question, kp, point, said))
            meaning = said.vectors @ point.statement
            best = int(meaning.argmax()) if covered else None
            similarity = round(probability, 3)
        return PointCoverage(
            kp.id, kp.text, kp.weight, covered,
            said.units[best] if best is not None else None,
            similarity,
            own.text if own else None,
        )

    def match_input(self, question: Rubric, kp: KeyPoint, answer: str) -> MatchInput:
        """What the learned matcher sees of this point and answer (for calibration)."""
        return self._match_input(question, kp, self._point(question, kp), self._read(answer))

    def _judged(self, point: _Point, said: _Answer) -> float:
        """The pair judge's best probability over the point's judged statements and the
        answer's windows (one window for an answer of up to 80 words)."""
        if self.judge is None or graded(point.example_covered):  # the model with examples does not read it
            return 0.0
        judge = self.judge
        pairs = [(statement, part) for statement in judged_statements(point.statement_texts)
                 for part in windows(said.text)]
        return max(_through_cache(self._judged_pairs, self._caches_lock, pairs,
                                  lambda missing: judge(missing).tolist()), default=0.0)

    def _match_input(self, question: Rubric, kp: KeyPoint, point: _Point, said: _Answer) -> MatchInput:
        return MatchInput(
            statements=point.statement_texts, question=question.prompt, answer=said.text,
            span_sims=(said.vectors @ point.statements.T).max(axis=1).tolist(),
            answer_sim=float((point.statements @ said.whole).max()),
            example_texts=point.example_texts, example_covered=point.example_covered,
            example_sims=(point.examples @ said.whole).tolist(),
            aligned=(alignment(point.pieces[0], said.pieces, point.pieces[1])
                     if point.pieces is not None and said.pieces is not None else NO_PIECES),
            judged=self._judged(point, said),
        )
