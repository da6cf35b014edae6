"""Content scoring on the labeled set: pair-ranking accuracy and score bands.

`python -m bench.scoring_calibration [--sweep]` prints how often strong > partial >
weak holds (the test demands >= 90 % of pairs) and the mean content score per
label; `--sweep` tries thresholds and term bonuses to pick the defaults.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import yaml

from server.bank import load_bank
from server.engines.embedder import MiniLMEmbedder
from server.scoring.content import ContentScorer, ContentWeights

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "labeled_answers.yaml"
LABELS = ("strong", "partial", "weak")


def evaluate(scorer: ContentScorer, items: list[dict], bank) -> tuple[float, dict[str, float]]:
    ordered = 0
    pairs = 0
    by_label: dict[str, list[float]] = {label: [] for label in LABELS}
    for item in items:
        question = bank.get(item["question_id"])
        scores = {label: scorer.score(question, item[label]).content for label in LABELS}
        for label in LABELS:
            by_label[label].append(scores[label])
        for hi, lo in itertools.combinations(LABELS, 2):
            pairs += 1
            ordered += scores[hi] > scores[lo]
    return ordered / pairs, {k: round(statistics.mean(v), 1) for k, v in by_label.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    bank = load_bank()
    items = yaml.safe_load(DATA.read_text())
    embedder = MiniLMEmbedder()
    cache: dict[str, object] = {}

    def embed(texts):
        import numpy as np

        missing = [t for t in texts if t not in cache]
        if missing:
            for text, vector in zip(missing, embedder.embed(missing), strict=True):
                cache[text] = vector
        return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, 384))

    if not args.sweep:
        scorer = ContentScorer(embed)
        start = time.perf_counter()
        accuracy, means = evaluate(scorer, items, bank)
        print("| questions | pairs ordered | mean strong | mean partial | mean weak |")
        print("|---|---|---|---|---|")
        print(f"| {len(items)} | {accuracy:.1%} | {means['strong']} | {means['partial']} "
              f"| {means['weak']} |")
        print(f"({time.perf_counter() - start:.1f} s)")
        return
    print("| threshold | term bonus | misconception floor | ordered | strong | partial | weak |")
    print("|---|---|---|---|---|---|---|")
    for threshold, bonus, floor in itertools.product((0.45, 0.5, 0.55, 0.6, 0.65),
                                                     (0.0, 0.08, 0.12, 0.16), (0.62, 0.7)):
        scorer = ContentScorer(embed, ContentWeights(threshold=threshold, term_bonus=bonus,
                                                     misconception_floor=floor))
        accuracy, means = evaluate(scorer, items, bank)
        print(f"| {threshold} | {bonus} | {floor} | {accuracy:.1%} | {means['strong']} | "
              f"{means['partial']} | {means['weak']} |")


if __name__ == "__main__":
    main()
