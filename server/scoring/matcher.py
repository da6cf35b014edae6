"""The learned matcher: how likely an answer states a key point that has no claim
structure in the bank (a question someone added without `requires`, or the public
short-answer sets the scorer is measured on).

A logistic model over a handful of features, fitted on the SemEval-2013 training
split only (`python -m bench.asag --calibrate` writes server/scoring/calibration.py):

* meaning: the best cosine between a span of the answer and the key point, and the
  whole answer's cosine;
* words: how many of the point's content words the answer uses (the question's own
  words do not count: repeating the question states nothing), and how much of the
  answer is about the point's and the question's words at all;
* alignment: each content word piece of the point meets its closest piece of the
  answer by their vectors in context, and each of the answer's meets the point's
  (BERTScore's recall and precision), with and without the question's own pieces;
* negation: the answer and the point disagree on "not";
* examples, when the key point has graded example answers (`KeyPoint.examples`): the
  closest right and wrong ones by meaning and by words, and the votes of the nearest.
  The point's other phrasings (the bank's multi-word terms, a benchmark's other
  reference answers) count as statements of it.

Pure NumPy; the weights are plain numbers in calibration.py.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from server.scoring.claims import NEGATORS, claim_words
from server.scoring.text import STOPWORDS, stem

#: Every feature `features()` gives, in its order.
FEATURES = ("bias", "span_sim", "answer_sim", "recall", "on_topic", "negation", "length",
            "aligned_recall", "aligned_precision", "aligned_own_recall", "aligned_own_precision",
            "judge", "right_sim", "wrong_sim", "right_words", "wrong_words",
            "nearest_vote", "nearest_words_vote", "nearest_3_vote", "nearest_10_vote",
            "weighted_vote", "own_words_vote", "right_own_words", "wrong_own_words",
            "bag_vote", "right_chars", "wrong_chars", "nearest_chars_vote")
#: What the model without graded examples reads.
FEATURES_PLAIN = FEATURES[:FEATURES.index("judge") + 1]
#: What the model with them reads: not the pair judge, which added nothing beside the
#: examples' votes (5-fold cross-validation on SemEval train, 0.8242 with it against
#: 0.8244 without); without examples it did (0.7005 -> 0.7033 with folds by question,
#: 0.7024 -> 0.7108 with random ones).
FEATURES_EXAMPLES = tuple(n for n in FEATURES if n != "judge")
#: Graded examples that vote: the nearest few, by meaning and by words.
NEIGHBOURS = 5


def content_words(text: str) -> set[str]:
    return {w for w in claim_words(text) if w not in STOPWORDS and w[0].isalpha()}


def _overlap(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    """Dice overlap of two word sets."""
    return 2.0 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


class WordPieces(Protocol):
    """A text's word pieces and their unit vectors in context (the embedder's
    `TokenVectors`)."""

    @property
    def pieces(self) -> tuple[str, ...]: ...
    @property
    def vectors(self) -> np.ndarray: ...


NO_PIECES = (0.0, 0.0, 0.0, 0.0)


def _content_pieces(text: WordPieces) -> list[int]:
    return [i for i, p in enumerate(text.pieces)
            if (p.isalnum() or p.startswith("##")) and stem(p.lower()) not in STOPWORDS]


def alignment(point: WordPieces, answer: WordPieces, question: WordPieces
              ) -> tuple[float, float, float, float]:
    """BERTScore-style soft overlap of content word pieces: the mean over the point's of
    the best cosine with any of the answer's (recall) and the reverse (precision), then
    both again without the pieces the question itself uses (repeating the question
    states nothing). Words meet their paraphrases and inflections here, which the word
    features miss: 5-fold cross-validation on the SemEval training split, 0.690 -> 0.702
    macro-F1 without examples, 0.821 -> 0.824 with."""
    mine, theirs = _content_pieces(point), _content_pieces(answer)
    if not mine or not theirs:
        return NO_PIECES
    closeness = point.vectors[mine] @ answer.vectors[theirs].T
    recall, precision = closeness.max(axis=1), closeness.max(axis=0)
    asked = {question.pieces[i] for i in _content_pieces(question)}
    own_point = np.array([point.pieces[i] not in asked for i in mine])
    own_answer = np.array([answer.pieces[i] not in asked for i in theirs])
    return (float(recall.mean()), float(precision.mean()),
            float(recall[own_point].mean() if own_point.any() else recall.mean()),
            float(precision[own_answer].mean()) if own_answer.any() else 0.0)


def graded(example_covered: Sequence[bool]) -> bool:
    """Examples of both kinds: enough for the model that reads them."""
    return any(example_covered) and not all(example_covered)


@dataclass(frozen=True)
class MatchInput:
    """What the matcher looks at for one key point and one answer.

    `statements` are the point's text and its other phrasings (the bank's multi-word
    terms, a benchmark's other reference answers); `span_sims` and `answer_sim` are the
    best cosine over them. Graded examples, when the point has them, are answers someone
    marked as covering it or not."""

    statements: Sequence[str]
    question: str
    answer: str
    span_sims: Sequence[float]  # per answer span, its best cosine with any statement
    answer_sim: float
    example_texts: Sequence[str] = ()
    example_covered: Sequence[bool] = ()
    example_sims: Sequence[float] = ()  # the whole answer's cosine with each example
    #: `alignment()` of the point's text with the answer (NO_PIECES when none was given).
    aligned: tuple[float, float, float, float] = NO_PIECES
    #: The pair judge's probability that the answer states the point, the best over the
    #: point's phrasings (`server/engines/judge.py`; 0 when the scorer has none).
    judged: float = 0.0

    @property
    def graded(self) -> bool:
        return graded(self.example_covered)


def features(item: MatchInput) -> np.ndarray:
    asked = content_words(item.question)
    said = content_words(item.answer)
    recall = 0.0
    for statement in item.statements:
        point = content_words(statement)
        own = point - asked or point  # a point made only of the question's words keeps them
        if own:
            recall = max(recall, len(own & said) / len(own))
    point_words = set().union(*(content_words(s) for s in item.statements)) if item.statements else set()
    on_topic = len(said & (point_words | asked)) / len(said) if said else 0.0
    negated_point = any(w in NEGATORS for w in claim_words(item.statements[0])) if item.statements else False
    negated_answer = any(w in NEGATORS for w in claim_words(item.answer))
    row = [1.0, max(item.span_sims, default=0.0), item.answer_sim, recall, on_topic,
           float(negated_point != negated_answer), math.log1p(len(said)), *item.aligned,
           item.judged]
    sims = np.asarray(item.example_sims, dtype=np.float64)
    right = np.asarray(item.example_covered, dtype=bool)
    words = np.asarray([_overlap(said, content_words(t)) for t in item.example_texts], dtype=np.float64)
    # The same overlaps without the question's words: an answer that repeats the question
    # is close to every other answer that does (5-fold cross-validation on the training
    # split: 0.811 -> 0.815 macro-F1 with these and the wider votes).
    own = said - asked
    own_words = np.asarray([_overlap(own, content_words(t) - asked) for t in item.example_texts],
                           dtype=np.float64)
    row += [_best(sims[right]), _best(sims[~right]), _best(words[right]), _best(words[~right]),
            _vote(sims, right), _vote(words, right), _vote(sims, right, 3), _vote(sims, right, 10),
            _weighted_vote(sims, right), _vote(own_words, right),
            _best(own_words[right]), _best(own_words[~right])]
    chars = np.asarray([_char_overlap(item.answer, t) for t in item.example_texts], dtype=np.float64)
    row += [_bag_vote(item.answer, item.example_texts, right), _best(chars[right]),
            _best(chars[~right]), _vote(chars, right)]
    return np.asarray(row, dtype=np.float64)


# The same example texts are read for every answer to their question: their bags and
# grams are kept (bench.asag, 11,443 training pairs: computed once each instead of per pair).
@functools.lru_cache(maxsize=65536)
def _bag(text: str) -> frozenset[str]:
    """Content stems and adjacent pairs of them: what a per-question word model reads."""
    words = [w for w in claim_words(text) if w not in STOPWORDS and w[0].isalnum()]
    return frozenset(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


def _bag_vote(answer: str, texts: Sequence[str], right: np.ndarray) -> float:
    """A naive Bayes model of the graded examples' words, asked about this answer: how
    right answers to this question are worded, learned from them alone, as the best 2013
    systems did per question (Dzikovska et al. 2013)."""
    if not len(texts) or right.all() or not right.any():
        return 0.5
    bags = [_bag(t) for t in texts]
    counts: tuple[dict[str, int], dict[str, int]] = ({}, {})
    for bag, covered in zip(bags, right, strict=True):
        for term in bag:
            counts[int(covered)][term] = counts[int(covered)].get(term, 0) + 1
    n_right, n_wrong = int(right.sum()), int((~right).sum())
    z = math.log(n_right / n_wrong)
    for term in _bag(answer):
        r, w = counts[1].get(term, 0), counts[0].get(term, 0)
        if r or w:
            z += math.log((r + 0.5) / (n_right + 1.0)) - math.log((w + 0.5) / (n_wrong + 1.0))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@functools.lru_cache(maxsize=65536)
def _char_grams(text: str) -> frozenset[str]:
    squashed = " ".join(claim_words(text))
    return frozenset(squashed[i:i + 4] for i in range(max(0, len(squashed) - 3)))


def _char_overlap(a: str, b: str) -> float:
    """Dice overlap of character 4-grams: misspelled and run-together words still meet."""
    return _overlap(_char_grams(a), _char_grams(b))


def _best(values: np.ndarray) -> float:
    return float(values.max()) if values.size else 0.0


def _vote(closeness: np.ndarray, right: np.ndarray, k: int = NEIGHBOURS) -> float:
    """Share of the `k` nearest graded examples that covered the point (0.5 with none)."""
    if not closeness.size:
        return 0.5
    nearest = np.argsort(-closeness, kind="stable")[:k]
    return float(right[nearest].mean())


def _weighted_vote(closeness: np.ndarray, right: np.ndarray, k: int = 10) -> float:
    """The ten nearest examples' vote, each weighted by its cosine."""
    if not closeness.size:
        return 0.5
    nearest = np.argsort(-closeness, kind="stable")[:k]
    weights = np.maximum(closeness[nearest], 0.0) + 1e-6
    return float((weights * right[nearest]).sum() / weights.sum())


@dataclass(frozen=True)
class LogisticModel:
    names: tuple[str, ...]  # the features of `features()` it reads, by name
    weights: tuple[float, ...]
    #: Covered when the probability reaches this (chosen on the training split).
    threshold: float = 0.5
    #: Products of every two features as well: a vote of the nearest examples means more
    #: when they are also close (5-fold cross-validation on the training split chose it).
    pairs: bool = False

    def probability(self, x: np.ndarray) -> float:
        """`x` from `features()`; the model reads the columns it names."""
        z = float(np.dot(np.asarray(self.weights), expand(x[None, columns(self.names)], self.pairs)[0]))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@functools.cache
def columns(names: tuple[str, ...]) -> list[int]:
    """Where each named feature is in a row of `features()`."""
    return [FEATURES.index(n) for n in names]


def expand(x: np.ndarray, pairs: bool) -> np.ndarray:
    """Rows of features, with the product of every two (the bias column excepted) appended."""
    if not pairs:
        return x
    base = x[:, 1:]
    products = [base[:, i] * base[:, j]
                for i, j in itertools.combinations_with_replacement(range(base.shape[1]), 2)]
    return np.column_stack([x, *products])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """Newton's method on the L2-regularised log loss (the bias is not penalised)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2 * len(y))
    penalty[0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


class LearnedMatcher:
    def __init__(self, plain: LogisticModel, examples: LogisticModel) -> None:
        self.plain = plain
        self.examples = examples

    @classmethod
    def calibrated(cls) -> LearnedMatcher:
        from server.scoring import calibration

        return cls(calibration.PLAIN, calibration.EXAMPLES)

    def model_for(self, item: MatchInput) -> LogisticModel:
        return self.examples if item.graded else self.plain

    def probability(self, item: MatchInput) -> float:
        return self.model_for(item).probability(features(item))

    def covers(self, item: MatchInput) -> tuple[bool, float]:
        p = self.probability(item)
        return p >= self.model_for(item).threshold, p
