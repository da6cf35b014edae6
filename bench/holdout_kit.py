"""Write the kit for a fresh hold-out round: each writer's questions (prompt and key
point texts only, nothing of the bank's phrasings) and brief, from docs/holdout-brief.md.

    python -m bench.holdout_kit ROUND OUT_DIR [--writers a b c] [--questions 10]

Questions are drawn with the round number as the seed, disjoint between writers. The
writers read only their two files; their labeled sets come back as
tests/data/coverage_holdout<ROUND>_<writer>.yaml (measure with the release first, reading
only the aggregate line of `python -m bench.coverage --split holdout`).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from server.bank import load_bank

BRIEF = Path(__file__).resolve().parent.parent / "docs" / "holdout-brief.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("round", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--writers", nargs="+", default=["a", "b", "c"])
    parser.add_argument("--questions", type=int, default=10, help="per writer (10)")
    args = parser.parse_args()
    questions = list(load_bank().questions)
    random.Random(args.round).shuffle(questions)
    args.out.mkdir(parents=True, exist_ok=True)
    template = BRIEF.read_text(encoding="utf-8")
    for n, writer in enumerate(args.writers):
        mine = questions[n * args.questions:(n + 1) * args.questions]
        lines = [f"# Questions for writer {writer}{args.round}", ""]
        for q in mine:
            lines += [f"## {q.id}", "", f"Prompt: {' '.join(q.prompt.split())}", "",
                      "Key points (id, weight 1-3, text):", ""]
            lines += [f"- `{kp.id}` (weight {kp.weight}): {kp.text}" for kp in q.key_points]
            lines.append("")
        (args.out / f"questions_{writer}.md").write_text("\n".join(lines), encoding="utf-8")
        brief = template.split("-->", 1)[-1].lstrip().replace("{W}", writer).replace("{R}", str(args.round)) \
            .replace("{DIR}", str(args.out.resolve())).replace("REPO", str(BRIEF.parent.parent))
        (args.out / f"brief_{writer}.md").write_text(brief, encoding="utf-8")
        print(f"{writer}{args.round}: {', '.join(q.id for q in mine)}")


if __name__ == "__main__":
    main()
