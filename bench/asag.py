"""The product's content scorer on public, human-graded short-answer sets.

    python -m bench.asag              # report the test splits with the shipped calibration
    python -m bench.asag --calibrate  # refit the learned matcher on SemEval train, then report

Each question's reference answer is split into sentences, one key point each, and the
answer is scored by `ContentScorer` exactly as a live answer is (these key points have
no `requires`, so the learned matcher decides). Where a SemEval question has more than
one reference answer (Beetle's BEST and GOOD ones), the others are the key point's
known right phrasings, as a bank's multi-word terms are. For unseen answers (UA) the
question's graded TRAINING answers are its known right and wrong phrasings as well,
as an author's terms and misconceptions are; unseen questions and domains have none.

Calibration uses SemEval `train` only (leave-one-out: a training answer is never its
own example). Mohler et al. 2011 has no training split and is never tuned on.
The data: ../shared/data/asag (see its README for sources and published figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from server.bank import GradedExample, KeyPoint
from server.engines.embedder import TokenVectors
from server.engines.judge import PairJudge
from server.scoring.content import ContentScorer
from server.scoring.matcher import (
    FEATURES_EXAMPLES,
    FEATURES_PLAIN,
    LearnedMatcher,
    LogisticModel,
    columns,
    expand,
    features,
    fit_logistic,
)
from server.scoring.text import sentences as split_sentences

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "asag"
OUT = ROOT / "bench" / "out"
CALIBRATION = ROOT / "server" / "scoring" / "calibration.py"
SETS = {"sciEntsBank": "semeval2013_task7_sciEntsBank_2way.jsonl",
        "beetle": "semeval2013_task7_beetle_2way.jsonl"}
_TAGS = re.compile(r"<[^>]+>")
PUBLISHED = {  # Dzikovska et al. 2013, Table 6 (macro-F1, 2-way)
    ("beetle", "test-unseen-answers"): (0.788, 0.833, "ETS2 / CoMeT1"),
    ("beetle", "test-unseen-questions"): (0.725, 0.720, "ETS1"),
    ("sciEntsBank", "test-unseen-answers"): (0.617, 0.768, "CoMeT1"),
    ("sciEntsBank", "test-unseen-questions"): (0.630, 0.737, "SoftCardinality1"),
    ("sciEntsBank", "test-unseen-domains"): (0.650, 0.705, "SoftCardinality1"),
}


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", _TAGS.sub(" ", text)).strip()


def sentences(text: str) -> list[str]:
    found = split_sentences(clean(text))
    return [s for s in found if len(s.split()) >= 2 and len(s) >= 5] or [clean(text).ljust(5)]


@dataclass(frozen=True)
class Item:
    dataset: str
    question_id: str
    question: str
    references: tuple[str, ...]  # the first, then the other acceptable ones
    answer: str
    label: float  # 1/0 for SemEval, the 0-5 grade for Mohler
    split: str
    answer_id: str


@dataclass
class AsagRubric:
    """A question of a public set as the scorer sees a bank question."""

    id: str
    prompt: str
    key_points: tuple[KeyPoint, ...] = field(default_factory=tuple)


def load(name: str) -> list[Item]:
    items = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        refs = [row["reference"]] + [r["text"] for r in row.get("references", [])
                                     if r["category"] in ("BEST", "GOOD") and r["text"] != row["reference"]]
        grade = row["grade"]
        label = float(grade == "correct") if isinstance(grade, str) else float(grade)
        items.append(Item(row["dataset"], row["question_id"], clean(row["question"]),
                          tuple(clean(r) for r in refs), clean(row["answer"]), label,
                          row["split"], row["answer_id"]))
    return items


def rubric(item: Item, right: Sequence[str] = (), wrong: Sequence[str] = ()) -> AsagRubric:
    """Key points from the reference's sentences; the other references go on a one-sentence one."""
    parts = sentences(item.references[0])
    points = []
    for n, text in enumerate(parts):
        others: tuple[str, ...] = ()
        if len(parts) == 1:
            others = tuple(dict.fromkeys(t for t in item.references[1:]
                                         if len(t.split()) >= 2 and t != text))
        # A graded answer is graded as a whole: right ones state every sentence of the
        # reference; wrong ones miss at least one, so they vote on every sentence.
        examples = tuple(GradedExample(text=t, covered=True) for t in right if len(t) >= 2) + tuple(
                GradedExample(text=t, covered=False) for t in wrong if len(t) >= 2)
        points.append(KeyPoint(id=f"s{n + 1}", text=text, weight=1, terms=others, examples=examples))
    key = hashlib.sha1("|".join((item.question_id, *right, "#", *wrong)).encode()).hexdigest()[:12]
    return AsagRubric(id=f"{item.dataset}:{item.question_id}:{key}", prompt=item.question,
                      key_points=tuple(points))


class CachedEmbed:
    """The product's embedder behind a disk cache: the sets hold ~50,000 spans."""

    def __init__(self) -> None:
        from server.engines.embedder import MiniLMEmbedder

        self.model = MiniLMEmbedder()
        self.path = OUT / f"asag-embeddings-{self.model.name}.npz"
        self.known: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path, allow_pickle=False)
            self.known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
        self.fresh = 0
        self.pieces: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        for start in range(0, len(missing), 256):
            chunk = missing[start:start + 256]
            self.known.update(zip(chunk, self.model.embed(chunk), strict=True))
            self.fresh += len(chunk)
            if self.fresh >= 4096:
                self.save()
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Word pieces, kept for the run only (float16: ~50 MB for the sets' answers and
        references, where their vectors on disk would be ~400 MB)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.pieces]
        for start in range(0, len(missing), 256):
            chunk = missing[start:start + 256]
            for text, found in zip(chunk, self.model.embed_tokens(chunk), strict=True):
                self.pieces[text] = (found.pieces, found.vectors.astype(np.float16))
        return [TokenVectors(self.pieces[t][0], self.pieces[t][1].astype(np.float32), vector)
                for t, vector in zip(texts, self(texts), strict=True)]

    def save(self) -> None:
        if not self.fresh:
            return
        OUT.mkdir(parents=True, exist_ok=True)
        texts = list(self.known)
        np.savez(self.path, texts=np.array(texts), vectors=np.stack([self.known[t] for t in texts]))
        self.fresh = 0


class CachedJudge:
    """The pair judge behind a disk cache, or, for calibration, the out-of-fold scores
    `bench.train_judge --folds` wrote: a training pair is never judged by a model
    that was fitted on it."""

    def __init__(self, out_of_fold: Path | None = None) -> None:
        self.model: PairJudge | None = None
        self.known: dict[tuple[str, str], float] = {}
        self.fresh = 0
        self.unseen = 0  # pairs out-of-fold scores lack (windows of answers over 80 words)
        if out_of_fold is not None:
            # Keyed without case: the judge's tokenizer is uncased, and a key point's terms
            # are lower-cased by the bank's validation where the references are not.
            raw = json.loads(out_of_fold.read_text(encoding="utf-8"))
            self.known = {_uncased(json.loads(k)): v for k, v in raw.items()}
            self.path: Path | None = None
            return
        from server.engines.judge import MODEL, MiniLMPairJudge

        self.model = MiniLMPairJudge()
        digest = hashlib.sha1(MODEL.read_bytes()).hexdigest()[:10]
        self.path = OUT / f"asag-judge-{digest}.json"
        if self.path.exists():
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.known = {tuple(json.loads(k)): v for k, v in raw.items()}  # type: ignore[misc]

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if self.model is None:
            pairs = [_uncased(p) for p in pairs]
        missing = [p for p in dict.fromkeys(pairs) if p not in self.known]
        if missing and self.model is None:
            self.unseen += len(missing)
            self.known.update((p, 0.5) for p in missing)
            missing = []
        for start in range(0, len(missing), 64):
            chunk = sorted(missing[start:start + 64], key=lambda p: len(p[0]) + len(p[1]))
            assert self.model is not None
            self.known.update(zip(chunk, self.model.judge(chunk).tolist(), strict=True))
            self.fresh += len(chunk)
            if self.fresh >= 4096:
                self.save()
        return np.array([self.known[p] for p in pairs], dtype=np.float32)

    def save(self) -> None:
        if not self.fresh or self.path is None:
            return
        OUT.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({json.dumps(list(k)): v for k, v in self.known.items()}))
        self.fresh = 0


def _uncased(pair: Sequence[str]) -> tuple[str, str]:
    return pair[0].lower(), pair[1].lower()


def prefetch(embed: CachedEmbed, items: Iterable[Item]) -> None:
    """Embed every span once, in big batches (the scorer asks one answer at a time)."""
    from server.scoring.text import spans

    texts: list[str] = []
    for item in items:
        texts += [*spans(item.answer, pairs_of_sentences=True), item.answer.strip()]
        for ref in item.references:
            texts += [*sentences(ref), ref]
    embed(list(dict.fromkeys(t for t in texts if t)))
    embed.save()
    # What the matcher aligns: each answer whole, each key point's text, each question.
    pieces: list[str] = []
    for item in items:
        pieces += [item.answer.strip(), *sentences(item.references[0]), item.question]
    embed.embed_tokens(list(dict.fromkeys(pieces)))


def training_rows(scorer: ContentScorer, train: list[Item], examples: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of every (answer, key point) pair of the training split, leave-one-out,
    and the fold of each row's question (for cross-validation by question)."""
    by_question: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in train:
        by_question[(item.dataset, item.question_id)].append(item)
    x, y, folds = [], [], []
    for (dataset, question_id), group in by_question.items():
        fold = int(hashlib.sha1(f"{dataset}:{question_id}".encode()).hexdigest(), 16) % 5
        for item in group:
            others = [o for o in group if o.answer_id != item.answer_id]
            right = [o.answer for o in others if o.label] if examples else []
            wrong = [o.answer for o in others if not o.label] if examples else []
            question = rubric(item, right, wrong)
            for kp in question.key_points:
                x.append(features(scorer.match_input(question, kp, item.answer)))
                y.append(item.label)
                folds.append(fold)
    return np.array(x), np.array(y), np.array(folds)


#: The model variants tried; 5-fold cross-validation on the training split picks one.
VARIANTS = ((1e-2, False), (1e-3, False), (1e-2, True), (3e-3, True), (1e-3, True), (3e-4, True),
            (1e-4, True))


def fit(names: tuple[str, ...], x: np.ndarray, y: np.ndarray, l2: float, pairs: bool) -> LogisticModel:
    z = expand(x[:, columns(names)], pairs)
    w = fit_logistic(z, y, l2=l2)
    p = 1 / (1 + np.exp(-(z @ w)))
    best = max(np.arange(0.2, 0.81, 0.01), key=lambda t: macro_f1(y, p >= t))
    return LogisticModel(names, tuple(round(float(v), 5) for v in w), round(float(best), 2), pairs)


def cross_validated(names: tuple[str, ...], x: np.ndarray, y: np.ndarray, l2: float, pairs: bool,
                    folds: np.ndarray | None = None) -> float:
    """5-fold macro-F1; random folds unless `folds` gives each row's."""
    if folds is None:
        folds = np.random.default_rng(0).integers(0, 5, len(y))
    scores = []
    for k in range(5):
        model = fit(names, x[folds != k], y[folds != k], l2, pairs)
        p = np.array([model.probability(row) for row in x[folds == k]])
        scores.append(macro_f1(y[folds == k], p >= model.threshold))
    return float(np.mean(scores))


def calibrate(scorer: ContentScorer, train: list[Item]) -> tuple[LogisticModel, LogisticModel]:
    models = []
    for names, examples in ((FEATURES_PLAIN, False), (FEATURES_EXAMPLES, True)):
        x, y, questions = training_rows(scorer, train, examples)
        # The model without examples grades questions it has no graded answers of
        # (unseen questions and domains, Mohler, a question a user adds): it is chosen
        # on folds by question. The one with examples grades new answers to a question
        # whose graded answers it has: folds by answer.
        scores = {v: cross_validated(names, x, y, *v, folds=None if examples else questions)
                  for v in VARIANTS}
        chosen = max(VARIANTS, key=lambda v: scores[v])
        for (l2, pairs), score in scores.items():
            print(f"  {'with' if examples else 'without'} examples, l2 {l2:g}, pairs {pairs}: "
                  f"cross-validated macro-F1 {score:.4f}{'  <- chosen' if (l2, pairs) == chosen else ''}")
        model = fit(names, x, y, *chosen)
        models.append(model)
        print(f"fitted {'with' if examples else 'without'} examples on {len(y)} pairs "
              f"(threshold {model.threshold:.2f})")
    return models[0], models[1]


def write_calibration(plain: LogisticModel, examples: LogisticModel, rows: int) -> None:
    def block(name: str, model: LogisticModel) -> str:
        return (f"{name} = LogisticModel(\n    names={model.names!r},\n"
                f"    weights={model.weights!r},\n    threshold={model.threshold!r},\n"
                f"    pairs={model.pairs!r},\n)\n")

    CALIBRATION.write_text(
        '"""Weights of the learned matcher. Written by `python -m bench.asag --calibrate`\n'
        f'from the SemEval-2013 Task 7 training split ({rows} answers); do not edit by hand."""\n\n'
        "from server.scoring.matcher import LogisticModel\n\n"
        + block("PLAIN", plain) + block("EXAMPLES", examples))


def macro_f1(y: Sequence[float] | np.ndarray, predicted: Sequence[bool] | np.ndarray) -> float:
    y = np.asarray(y, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    scores = []
    for positive in (True, False):
        tp = np.sum((predicted == positive) & (y == positive))
        fp = np.sum((predicted == positive) & (y != positive))
        fn = np.sum((predicted != positive) & (y == positive))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.corrcoef(np.asarray(a, float), np.asarray(b, float))[0, 1])


def semeval_table(scorer: ContentScorer, items: list[Item]) -> list[str]:
    train: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        if item.split == "train":
            train[(item.dataset, item.question_id)].append(item)
    rows = []
    for name in SETS:
        for split in ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains"):
            chosen = [i for i in items if i.split == split and name.lower() in i.dataset.lower()]
            if not chosen:
                continue
            predicted = []
            for item in chosen:
                seen = train.get((item.dataset, item.question_id), []) if split.endswith("answers") else []
                question = rubric(item, [o.answer for o in seen if o.label],
                                  [o.answer for o in seen if not o.label])
                result = scorer.score(question, item.answer)
                predicted.append(result.content >= 50.0)
            f1 = macro_f1([i.label for i in chosen], predicted)
            accuracy = float(np.mean([p == bool(i.label) for p, i in zip(predicted, chosen, strict=True)]))
            baseline, best, who = PUBLISHED.get((name, split), (float("nan"), float("nan"), ""))
            rows.append(f"| {name} | {split.removeprefix('test-')} | {len(chosen)} | **{f1:.3f}** | "
                        f"{accuracy:.3f} | {baseline:.3f} | {best:.3f} ({who}) |")
    return rows


#: A Mohler answer counts as a right example when its grade is at least this (of 5):
#: "mostly right", fixed before the row was first run, never tuned.
MOHLER_RIGHT = 4.0


def mohler_table(scorer: ContentScorer, items: list[Item]) -> list[str]:
    """Pearson r with the 0-5 grades: without examples (reference sentences alone, as
    the published systems grade), and with the other answers to the same question as
    graded examples (an author who graded some answers; never the answer itself)."""
    chosen = [i for i in items if i.split != "excluded"]
    by_question: dict[str, list[Item]] = defaultdict(list)
    for item in chosen:
        by_question[item.question_id].append(item)
    figures: dict[str, list[float]] = defaultdict(list)
    for item in chosen:
        others = [o for o in by_question[item.question_id] if o.answer_id != item.answer_id]
        for name, question in (
                ("", rubric(item)),
                (" (examples)", rubric(item, [o.answer for o in others if o.label >= MOHLER_RIGHT],
                                       [o.answer for o in others if o.label < MOHLER_RIGHT]))):
            result = scorer.score(question, item.answer)
            figures["content" + name].append(result.content)
            figures["probability" + name].append(statistics.mean(scorer.matcher.probability(
                scorer.match_input(question, kp, item.answer)) for kp in question.key_points))
    grades = [i.label for i in chosen]
    label = {"content": "`content`", "probability": "mean matcher probability"}
    rows = []
    for key, values in figures.items():
        base, _, examples = key.partition(" ")
        setting = ("other answers to the question as graded examples, leave-one-out" if examples
                   else "reference sentences only")
        rows.append(f"| Mohler 2011 (all {len(chosen)}), {setting} | {label[base]} | "
                    f"**{pearson(values, grades):.3f}** |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calibrate", action="store_true", help="refit on SemEval train first")
    parser.add_argument("--only", choices=("semeval", "mohler"), help="one table only")
    parser.add_argument("--out-of-fold", type=Path, default=ROOT / "bench" / "data" / "judge-oof.json",
                        help="the pair judge's out-of-fold scores of the training pairs "
                             "(`python -m bench.train_judge --folds 3`), for --calibrate")
    parser.add_argument("--limit", type=int, default=0,
                        help="at most this many answers per split (a quick look)")
    args = parser.parse_args()
    started = time.perf_counter()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: the public short-answer sets are not there (they sit in the "
                         "shared/ folder beside the repository)")
    embed = CachedEmbed()
    semeval = [i for name in SETS.values() for i in load(name)]
    mohler = load("mohler2011_unt_v2.jsonl")
    if args.limit:
        semeval = _limited(semeval, args.limit)
        mohler = _limited(mohler, args.limit)
    prefetch(embed, [*semeval, *mohler])
    judge = CachedJudge()
    scorer = ContentScorer(embed, embed_tokens=embed.embed_tokens, judge=judge)
    if args.calibrate:
        train = [i for i in semeval if i.split == "train"]
        out_of_fold = CachedJudge(args.out_of_fold)
        plain, examples = calibrate(ContentScorer(embed, embed_tokens=embed.embed_tokens,
                                                  judge=out_of_fold), train)
        print(f"  (training pairs the out-of-fold scores lack, judged 0.5: {out_of_fold.unseen})")
        if not args.limit:
            write_calibration(plain, examples, len(train))
        scorer = ContentScorer(embed, LearnedMatcher(plain, examples), embed.embed_tokens, judge)
    if args.only != "mohler":
        print("\n| set | split | answers | macro-F1 | accuracy | lexical baseline | best 2013 system |")
        print("|---|---|---|---|---|---|---|")
        for row in semeval_table(scorer, semeval):
            print(row)
    if args.only != "semeval":
        print("\n| set | figure | Pearson r |\n|---|---|---|")
        for row in mohler_table(scorer, mohler):
            print(row)
    print("\nMohler 2011 published: tf-idf 0.327, best system 0.518, Sultan et al. 2016 0.592, "
          "the two graders 0.586.")
    embed.save()
    judge.save()
    print(f"\n({time.perf_counter() - started:.0f} s; embedder {embed.model.name})")


def _limited(items: list[Item], limit: int) -> list[Item]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for item in items:
        key = (item.dataset, item.split)
        if counts[key] < limit:
            counts[key] += 1
            out.append(item)
    return out


if __name__ == "__main__":
    main()
