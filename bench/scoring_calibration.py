"""Content scoring on the labeled set: pair-ranking accuracy and score bands.

`python -m bench.scoring_calibration` prints how often strong > partial > weak holds
(the test demands >= 90 % of pairs) and the mean content score per label. The
key-point judgements themselves are measured by `bench.coverage`.
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
from server.scoring.content import ContentScorer

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
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    bank = load_bank()
    items = yaml.safe_load(DATA.read_text())
    scorer = ContentScorer.of(MiniLMEmbedder())
    start = time.perf_counter()
    accuracy, means = evaluate(scorer, items, bank)
    print("| questions | pairs ordered | mean strong | mean partial | mean weak |")
    print("|---|---|---|---|---|")
    print(f"| {len(items)} | {accuracy:.1%} | {means['strong']} | {means['partial']} | {means['weak']} |")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
