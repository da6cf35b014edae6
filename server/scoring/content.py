"""Which key points did the answer cover, and where? Paraphrase-aware, misconception-aware.

Each span of the answer (sentence, clause, clause pair) is compared with each
key point three ways:

* meaning: cosine similarity of sentence embeddings, span against the key
  point's statement and against its multi-word paraphrases from the bank;
* words: the bank's terms and paraphrases found in the span (stemmed phrases);
* misconceptions: the same similarity against the bank's plausible wrong
  statements. A span closer to a misconception than to the point does not cover it,
  however many right words it uses.

Keyword lists alone over-credit "right words, wrong meaning"; embeddings alone
miss terse spoken answers. The mix and the threshold were calibrated on the
labeled set in tests/data (see README, "Scoring").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from server.bank import KeyPoint, Question
from server.scoring.text import contains_phrase, stems
from server.scoring.text import spans as answer_spans

Embed = Callable[[Sequence[str]], np.ndarray]
SPAN_CACHE_SIZE = 4096  # 384 floats each: about 6 MB at most, shared by all sessions
_STOP = {"the", "a", "an", "of", "to", "is", "it", "and", "or", "in", "on", "for", "with", "that",
         "this", "be", "are", "doesn't", "does", "not", "no", "it's", "its", "by", "as", "at"}


@dataclass(frozen=True)
class ContentWeights:
    #: A span covers a point when meaning + word bonus reaches this.
    threshold: float = 0.65
    #: Bonus per distinct bank term found in the span (at most `max_term_hits` count).
    term_bonus: float = 0.12
    max_term_hits: int = 3
    #: A span this close to a misconception (and closer to it than to the point) is wrong.
    misconception_floor: float = 0.62
    misconception_margin: float = 0.0
    #: Saying "you claimed X" needs more certainty than refusing credit does.
    misconception_report: float = 0.75


@dataclass(frozen=True)
class PointCoverage:
    id: str
    text: str
    weight: int
    covered: bool
    evidence: str | None
    similarity: float
    misconception: str | None = None  # the wrong statement the answer matched, if any


@dataclass(frozen=True)
class ContentResult:
    points: list[PointCoverage]
    content: float  # 0-100, coverage weighted by key point importance

    @property
    def covered_ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.points if p.covered)


@dataclass
class _Anchors:
    statement: np.ndarray  # (1, d)
    paraphrases: np.ndarray  # (n, d), multi-word terms
    misconceptions: np.ndarray  # (m, d)
    term_stems: list[list[str]] = field(default_factory=list)
    paraphrase_words: list[set[str]] = field(default_factory=list)


def weighted_content(points: Sequence[PointCoverage]) -> float:
    total = sum(p.weight for p in points)
    got = sum(p.weight for p in points if p.covered)
    return round(100.0 * got / total, 1) if total else 0.0


class ContentScorer:
    def __init__(self, embed: Embed, weights: ContentWeights | None = None) -> None:
        self.embed = embed
        self.weights = weights or ContentWeights()
        self._anchors: dict[tuple[str, str], _Anchors] = {}
        #: Answer spans already embedded. A live answer is scored as its pieces come in,
        #: so by the end of the turn only its last words are new.
        self._spans: OrderedDict[str, np.ndarray] = OrderedDict()
        self._spans_lock = threading.Lock()
        #: One embedding at a time, whatever the number of sessions: concurrent ones only
        #: share the cores, and each holds its own activations in memory.
        self._embedding = threading.Lock()

    def _anchors_for(self, question: Question, kp: KeyPoint) -> _Anchors:
        key = (question.id, kp.id)
        if key not in self._anchors:
            paraphrases = [t for t in kp.terms if len(t.split()) >= 2]
            texts = [kp.text, *paraphrases, *(m.text for m in kp.misconceptions)]
            with self._embedding:
                vectors = self.embed(texts)
            n = len(paraphrases)
            # A term that several key points share ("overfitting") shows none of them in
            # particular; only terms distinctive to this point earn the word bonus.
            shared = {t for other in question.key_points if other.id != kp.id
                      for t in other.terms}
            self._anchors[key] = _Anchors(
                statement=vectors[:1],
                paraphrases=vectors[1: 1 + n],
                misconceptions=vectors[1 + n:],
                term_stems=[stems(t) for t in kp.terms if t not in shared],
                paraphrase_words=[set(stems(t)) - _STOP for t in paraphrases],
            )
        return self._anchors[key]

    def warm(self, question: Question) -> None:
        """Embed a question's anchors ahead of its first answer."""
        for kp in question.key_points:
            self._anchors_for(question, kp)

    def score(
        self,
        question: Question,
        answer: str,
        previous: Sequence[PointCoverage] | None = None,
    ) -> ContentResult:
        """Coverage of this answer, accumulated with `previous` turns on the same question."""
        spans = answer_spans(answer)
        span_vectors = self._embed_spans(spans) if spans else np.zeros((0, 1), dtype=np.float32)
        span_stems = [stems(s) for s in spans]
        earlier = {p.id: p for p in previous or ()}
        points: list[PointCoverage] = []
        for kp in question.key_points:
            found = self._cover(question, kp, spans, span_vectors, span_stems)
            before = earlier.get(kp.id)
            if before is not None and before.covered and not found.covered:
                found = before  # coverage accumulates across follow-ups
            points.append(found)
        return ContentResult(points, weighted_content(points))

    def _embed_spans(self, spans: list[str]) -> np.ndarray:
        with self._spans_lock:
            known = {s: self._spans[s] for s in spans if s in self._spans}
        missing = list(dict.fromkeys(s for s in spans if s not in known))
        if missing:
            with self._embedding:
                vectors = self.embed(missing)
            for span, vector in zip(missing, vectors, strict=True):
                known[span] = vector
            with self._spans_lock:
                for span in missing:
                    self._spans[span] = known[span]
                while len(self._spans) > SPAN_CACHE_SIZE:
                    self._spans.popitem(last=False)
        return np.stack([known[s] for s in spans])

    def _cover(self, question: Question, kp: KeyPoint, spans: list[str],
               span_vectors: np.ndarray, span_stems: list[list[str]]) -> PointCoverage:
        w = self.weights
        if not spans:
            return PointCoverage(kp.id, kp.text, kp.weight, False, None, 0.0)
        anchors = self._anchors_for(question, kp)
        meaning = (span_vectors @ anchors.statement.T)[:, 0]
        if len(anchors.paraphrases):
            similar = span_vectors @ anchors.paraphrases.T
            # Embeddings blur antonyms ("overfitting" sits next to "underfitting"): a
            # paraphrase only vouches for a span that shares a content word with it.
            for i, words in enumerate(span_stems):
                present = set(words)
                for j, needed in enumerate(anchors.paraphrase_words):
                    if needed and not needed & present:
                        similar[i, j] = 0.0
            meaning = np.maximum(meaning, similar.max(axis=1))
        hits = np.array([
            min(w.max_term_hits, sum(contains_phrase(words, term) for term in anchors.term_stems))
            for words in span_stems
        ], dtype=np.float32)
        combined = meaning + w.term_bonus * hits
        wrong: list[str | None] = [None] * len(spans)
        if len(anchors.misconceptions):
            mis = span_vectors @ anchors.misconceptions.T
            closest = mis.argmax(axis=1)
            for i, score in enumerate(mis.max(axis=1)):
                if score >= w.misconception_floor and score > meaning[i] + w.misconception_margin:
                    combined[i] = 0.0
                    if score >= w.misconception_report:
                        wrong[i] = kp.misconceptions[int(closest[i])].text
        best = int(combined.argmax())
        covered = bool(combined[best] >= w.threshold)
        flagged = next((m for m in wrong if m is not None), None)
        return PointCoverage(
            kp.id, kp.text, kp.weight, covered,
            spans[best] if covered else None,
            round(float(combined[best]), 3),
            None if covered else flagged,
        )
