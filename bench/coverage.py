"""Key-point judgements against hand labels: precision and recall of `covered`,
misconception reports on answers that state none, and where the evidence falls.

    python -m bench.coverage            # both labeled sets, a table per split
    python -m bench.coverage --errors   # and every wrong judgement, to read

The labeled sets (every tests/data/coverage_*.yaml) were written and labeled by hand
before the scorer was tuned on them; an answer's `split` says whether the bank was tuned
on it (`tune`) or never (`holdout`: written by another author, not read while tuning).
Each answer lists every key point of its question as covered (with the quote that
carries it) or not, and the wrong claims it states (`misconceptions_stated`).

Also printed: the time to score the last piece of an answer (the earlier pieces were
scored while it was spoken, as a live session does), median over the answers.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.harness import Stats, ms
from server.bank import QuestionBank, load_bank
from server.scoring.content import ContentScorer, Rubric
from server.scoring.text import tokens

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = tuple(sorted(p.name for p in DATA.glob("coverage_*.yaml")))


def load_labeled(names: tuple[str, ...] = SETS) -> list[dict]:
    items: list[dict] = []
    for name in names:
        path = DATA / name
        if path.exists():
            for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                items.append({**item, "file": name})
    return items


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    answers: int = 0
    clean_answers: int = 0  # answers that state no misconception
    false_reports: int = 0  # misconceptions reported on those
    reports_on_wrong: int = 0  # reported on answers that do state one
    wrong_answers: int = 0
    evidence_hits: int = 0  # true positives whose evidence overlaps the labeled quote
    evidence_words: list[int] = field(default_factory=list)
    quote_words: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")


def overlaps(evidence: str, quote: str) -> bool:
    """The evidence shares at least half of the labeled quote's words (or vice versa)."""
    a, b = set(tokens(evidence)), set(tokens(quote))
    return bool(a and b) and len(a & b) >= 0.5 * min(len(a), len(b))


def judge(scorer: ContentScorer, bank: QuestionBank, items: list[dict], tally: Tally) -> None:
    for item in items:
        question = bank.get(item["question_id"])
        if question is None:
            raise SystemExit(f"{item['id']}: unknown question {item['question_id']!r}")
        result = scorer.score(question, item["answer"])
        tally.answers += 1
        stated = bool(item.get("misconceptions_stated"))
        reports = [p for p in result.points if p.misconception]
        if stated:
            tally.wrong_answers += 1
            tally.reports_on_wrong += bool(reports)
        else:
            tally.clean_answers += 1
            tally.false_reports += len(reports)
            for p in reports:
                tally.errors.append(f"FALSE MISCONCEPTION {item['id']} {p.id}: {p.misconception!r}")
        for point in result.points:
            label = item["labels"].get(point.id)
            if label is None:
                continue
            truth = bool(label["covered"])
            if point.covered and truth:
                tally.tp += 1
                quote = label.get("quote") or ""
                tally.evidence_hits += overlaps(point.evidence or "", quote)
                tally.evidence_words.append(len((point.evidence or "").split()))
                tally.quote_words.append(len(quote.split()))
            elif point.covered:
                tally.fp += 1
                tally.errors.append(f"FP {item['id']} ({item.get('kind')}) {point.id}: "
                                    f"{point.evidence!r}")
            elif truth:
                tally.fn += 1
                tally.errors.append(f"FN {item['id']} ({item.get('kind')}) {point.id}: "
                                    f"labeled {label.get('quote')!r}")
            else:
                tally.tn += 1


def last_piece_s(scorer: ContentScorer, questions: Mapping[str, Rubric],
                 items: list[dict]) -> list[float]:
    """Score all but the last sentence first (as the live pre-score does), then time the rest."""
    times = []
    for item in items:
        question = questions[item["question_id"]]
        answer = item["answer"]
        cut = answer.rstrip(" .").rfind(". ")
        if cut > 0:
            scorer.score(question, answer[:cut + 1])
        started = time.perf_counter()
        scorer.score(question, answer)
        times.append(time.perf_counter() - started)
    return times


def _set_name(file: str) -> str:
    """The labeled set a file belongs to: coverage_holdout2_a.yaml -> coverage_holdout2."""
    return re.sub(r"_[a-z]\.yaml$", "", file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true",
                        help="print every wrong judgement of the tune split (never the hold-out's: "
                             "reading them would be tuning on them)")
    parser.add_argument("--split", choices=("tune", "holdout"), action="append",
                        help="only these splits (default both)")
    parser.add_argument("--file", action="append",
                        help="only the answers of these files under tests/data (default all)")
    args = parser.parse_args()
    from server.engines.embedder import MiniLMEmbedder

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bank = load_bank()
    scorer = ContentScorer.of(MiniLMEmbedder())
    items = load_labeled(tuple(args.file) if args.file else SETS)
    if not items:
        raise SystemExit("no labeled answers found under tests/data")
    print("| split | answers | judgements | precision | recall | false misconception reports "
          "(answers stating none) | reports on answers stating one | evidence on the quote | "
          "evidence / quote words, median |")
    print("|---|---|---|---|---|---|---|---|---|")
    groups: list[tuple[str, list[dict]]] = []
    for split in args.split or ("tune", "holdout"):
        chosen = [i for i in items if i.get("split") == split]
        groups.append((split, chosen))
        if split == "holdout":
            # Each hold-out set apart too (coverage_holdout2_a.yaml and _b.yaml are one set).
            sets = sorted({_set_name(i["file"]) for i in chosen})
            if len(sets) > 1:
                groups += [(f"holdout: {name.removeprefix('coverage_')}",
                            [i for i in chosen if _set_name(i["file"]) == name])
                           for name in sets]
    for split, chosen in groups:
        if not chosen:
            continue
        tally = Tally()
        judge(scorer, bank, chosen, tally)
        judged = tally.tp + tally.fp + tally.fn + tally.tn
        evidence = tally.evidence_hits / tally.tp if tally.tp else float("nan")
        print(f"| {split} | {tally.answers} | {judged} | **{tally.precision:.3f}** | "
              f"**{tally.recall:.3f}** | **{tally.false_reports}** ({tally.clean_answers}) | "
              f"{tally.reports_on_wrong} of {tally.wrong_answers} | {evidence:.0%} | "
              f"{statistics.median(tally.evidence_words or [0])} / "
              f"{statistics.median(tally.quote_words or [0])} |")
        if args.errors and split == "tune":
            for line in tally.errors:
                print("   ", line)
    times = Stats.of(last_piece_s(ContentScorer.of(MiniLMEmbedder()),
                                  {q.id: q for q in bank.questions}, items))
    assert times is not None
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nscoring the last piece of an answer: median {ms(times.median)} ms, "
          f"p95 {ms(times.p95)} ms over {times.n} answers "
          f"(cold key points on the first answer of each question included)")
    print(f"process peak RSS {rss_after:.0f} MiB (before loading the scorer: {rss_before:.0f} MiB)")


if __name__ == "__main__":
    main()
