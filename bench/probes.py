"""Probe sentences: one-line statements of a key point (or of a wrong claim in its words)
written to test the bank's claims, each marked whether it states the point.

    python -m bench.probes                 # agreement per file and overall
    python -m bench.probes --errors        # and every probe judged otherwise
    python -m bench.probes --file probes_fundamentals.yaml

tests/data/probes_*.yaml: a list of entries, each
`{question_id, key_point, text, states: true|false}` for a key point, or with
`misconception: "<its text>"` to say whether the sentence states that misconception as
the speaker's own claim. A sentence is judged alone, as a one-sentence answer. An entry
marked `open: true` is one the bank still judges otherwise, kept in sight (the test
skips it; this script counts it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

from server.bank import QuestionBank, load_bank
from server.scoring.claims import claim_for, misconception_claims, read_answer, stated_misconception

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


@dataclass(frozen=True)
class Probe:
    file: str
    question_id: str
    key_point: str
    text: str
    states: bool
    misconception: str | None = None
    open: bool = False  # known to be judged otherwise for now


def load_probes(names: list[str] | None = None) -> list[Probe]:
    probes = []
    for path in sorted(DATA.glob("probes_*.yaml")):
        if names and path.name not in names:
            continue
        for row in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            probes.append(Probe(path.name, row["question_id"], row["key_point"], row["text"],
                                bool(row["states"]), row.get("misconception"),
                                bool(row.get("open", False))))
    return probes


def judged(bank: QuestionBank, probe: Probe) -> bool:
    """Whether the scorer's claims read `probe.text` as stating what the probe is about."""
    question = bank.get(probe.question_id)
    if question is None:
        raise SystemExit(f"{probe.file}: unknown question {probe.question_id!r}")
    kp = next((k for k in question.key_points if k.id == probe.key_point), None)
    if kp is None:
        raise SystemExit(f"{probe.file}: {probe.question_id} has no key point {probe.key_point!r}")
    reading = read_answer(probe.text)
    claim = claim_for(question, kp)
    if probe.misconception is None:
        return bool(reading.stating(claim))
    wrong = [(t, c) for t, c in misconception_claims(kp) if t == probe.misconception.strip().lower()]
    if not wrong:
        raise SystemExit(f"{probe.file}: {probe.question_id}/{kp.id} has no misconception "
                         f"{probe.misconception!r}")
    return stated_misconception(claim, wrong, reading) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="print every probe judged otherwise")
    parser.add_argument("--file", action="append", help="only these files under tests/data")
    args = parser.parse_args()
    bank = load_bank()
    probes = load_probes(args.file)
    by_file: dict[str, list[int]] = {}
    errors = []
    for probe in probes:
        right = judged(bank, probe) == probe.states
        counts = by_file.setdefault(probe.file, [0, 0])
        counts[0] += right
        counts[1] += 1
        if not right:
            what = f"misconception {probe.misconception!r}" if probe.misconception else probe.key_point
            errors.append(f"{'MISSED' if probe.states else 'WRONGLY READ'} {probe.question_id}/{what}: "
                          f"{probe.text!r}")
    print("| file | probes | judged as written |\n|---|---|---|")
    for name, (agreed, total) in by_file.items():
        print(f"| {name} | {total} | {agreed / total:.1%} |")
    agreed = sum(v[0] for v in by_file.values())
    total = sum(v[1] for v in by_file.values())
    if total:
        print(f"| **all** | {total} | **{agreed / total:.1%}** |")
    if args.errors:
        print("\n".join(errors))


if __name__ == "__main__":
    main()
