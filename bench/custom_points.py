"""Questions as a user adds them: key point texts only, no claims.

    python -m bench.custom_points                  # every labeled answer
    python -m bench.custom_points --split holdout  # the hold-out sets only
    python -m bench.custom_points --calibration PATH  # another calibration.py to compare

Every bank question is stripped of its claim structure (`requires`, `alternatives`,
the misconceptions' claims), keeping each key point's text and its multi-word terms,
as an interviewer who writes a question of their own would give them. The learned
matcher then decides every point (`server/scoring/matcher.py`), and its `covered` is
compared with the hand labels of tests/data/coverage_*.yaml: the figure of the path
a question without claims takes. The matcher was fitted on SemEval-2013 train only,
so none of these answers was tuned on for it.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench.coverage import last_piece_s, load_labeled
from bench.harness import Stats, stats_ms
from server.bank import KeyPoint, load_bank
from server.scoring.content import ContentScorer
from server.scoring.matcher import LearnedMatcher


@dataclass(frozen=True)
class PlainQuestion:
    id: str
    prompt: str
    key_points: tuple[KeyPoint, ...]


def plain(point: KeyPoint) -> KeyPoint:
    return KeyPoint(id=point.id, text=point.text, weight=point.weight,
                    terms=tuple(t for t in point.terms if len(t.split()) >= 2))


def matcher_from(path: Path) -> LearnedMatcher:
    spec = importlib.util.spec_from_file_location("other_calibration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return LearnedMatcher(module.PLAIN, module.EXAMPLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "holdout"))
    parser.add_argument("--calibration", type=Path, help="a calibration.py to use instead")
    parser.add_argument("--limit", type=int, default=0, help="at most this many answers")
    args = parser.parse_args()
    from server.engines.embedder import MiniLMEmbedder
    from server.engines.judge import MiniLMPairJudge

    bank = load_bank()
    matcher = matcher_from(args.calibration) if args.calibration else None
    scorer = ContentScorer.of(MiniLMEmbedder(), matcher, MiniLMPairJudge().judge)
    questions = {q.id: PlainQuestion(f"plain:{q.id}", q.prompt, tuple(plain(k) for k in q.key_points))
                 for q in bank.questions}
    items = [i for i in load_labeled() if not args.split or i.get("split") == args.split]
    if args.limit:
        items = items[::max(1, len(items) // args.limit)][:args.limit]
    tp = fp = fn = tn = 0
    took: list[float] = []
    started = time.perf_counter()
    for item in items:
        question = questions.get(item["question_id"])
        if question is None:
            continue
        t = time.perf_counter()
        result = scorer.score(question, item["answer"])
        took.append(time.perf_counter() - t)
        for point in result.points:
            label = item["labels"].get(point.id)
            if label is None:
                continue
            truth = bool(label["covered"])
            tp += point.covered and truth
            fp += point.covered and not truth
            fn += truth and not point.covered
            tn += not truth and not point.covered
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    # The live cost: a fresh scorer (nothing cached) that has scored all but the last
    # sentence, as the pre-score does while the candidate speaks.
    last = Stats.of(last_piece_s(ContentScorer.of(MiniLMEmbedder(), matcher, MiniLMPairJudge().judge),
                                 questions, [i for i in items if i["question_id"] in questions]))
    print("| answers | judgements | precision | recall | F1 | scoring a whole answer, median "
          "| the last piece, median / p95 |")
    print("|---|---|---|---|---|---|---|")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"| {len(took)} | {tp + fp + fn + tn} | **{precision:.3f}** | **{recall:.3f}** | {f1:.3f} "
          f"| {1000 * statistics.median(took):.0f} ms | {stats_ms(last, with_max=False)} ms |")
    print(f"\n({time.perf_counter() - started:.0f} s; tp {tp} fp {fp} fn {fn} tn {tn})")


if __name__ == "__main__":
    main()
