"""The interviewer's replies to labeled answers: does the follow-up go after the most
important point the answer missed, and does the acknowledgement credit only what was said?

    python -m bench.dialogues --measure [--errors]

Each answer is the first answer to its question in a fresh interview (`Interviewer`,
`max_follow_ups` 2, the protocol's default), scored by the real `ContentScorer`, and the
policy's reply taken as the session takes it (`server.session.planner.answer_result` builds the
`AnswerResult`, the scorer's evidence included). The answers: one partial answer per seed
question (`bench.dialogues.SEED_PARTIALS`, labeled when written) and every hand-labeled
answer of tests/data/coverage_*.yaml. Truth is the labels,
never the scorer.

* Follow-up: over the answers whose labels leave a weight-3 point uncovered, the reply's
  first move must be a `followup` whose `target` is a labeled-missed point of the highest
  missed weight.
* Acknowledgement: the policy names the weightiest point this answer added (ties: a
  two-concept claim first, then bank order: `replies.acknowledged_point`), in the
  point's `covered` wording.
  An ack counts as a false credit when the labels say that point is not covered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from bench.coverage import load_labeled
from bench.dialogues import SEED_PARTIALS
from server.bank import KeyPoint, Question, QuestionBank, load_bank
from server.interviewer.moves import Move
from server.interviewer.policy import Interviewer
from server.interviewer.replies import acknowledged_point
from server.scoring.content import ContentResult, ContentScorer
from server.session.planner import answer_result  # the AnswerResult the session builds

#: Key point weight that marks an essential point.
ESSENTIAL = 3


@dataclass(frozen=True)
class Labeled:
    source: str  # "seed" or the labeled set's split
    answer_id: str
    question: Question
    text: str
    covered: frozenset[str]  # by the labels
    labeled: frozenset[str]  # the points the labels speak about


@dataclass(frozen=True)
class Judged:
    item: Labeled
    content: ContentResult
    move: Move
    named: KeyPoint | None  # the point the acknowledgement names
    picked: KeyPoint | None = None  # the point the policy's rule would name


def labeled_answers(bank: QuestionBank) -> Iterator[Labeled]:
    for number, seed in enumerate(SEED_PARTIALS, 1):
        question = bank.get(seed.question_id)
        assert question is not None, seed.question_id
        yield Labeled("seed", f"seed-{number}-{seed.question_id}", question, seed.answer,
                      seed.covered, frozenset(kp.id for kp in question.key_points))
    for item in load_labeled():
        question = bank.get(item["question_id"])
        if question is None:
            raise SystemExit(f"{item['id']}: unknown question {item['question_id']!r}")
        labels = item["labels"]
        yield Labeled(item.get("split", "?"), item["id"], question, item["answer"],
                      frozenset(k for k, v in labels.items() if v["covered"]),
                      frozenset(labels))


def judge(scorer: ContentScorer, item: Labeled) -> Judged:
    policy = Interviewer([item.question], "interview", max_follow_ups=2, seed=0)
    policy.start()
    content = scorer.score(item.question, item.text)
    reply = policy.on_answer(answer_result(item.question, content))
    covered = content.covered_ids
    added = [kp for kp in item.question.key_points if kp.id in covered]
    picked = acknowledged_point(added)  # the policy's rule
    move = reply.moves[0]
    # What was said: the point whose authored wording the acknowledgement carries (none
    # when the policy stays silent, as after a wrong claim).
    named = next((kp for kp in added if names(move, kp)), None)
    return Judged(item, content, move, named, picked)


def names(move: Move, kp: KeyPoint) -> bool:
    """The acknowledgement says this point: its authored `covered` wording."""
    return bool(kp.covered) and kp.covered in move.ack


def print_measures(show_acks: bool = False) -> None:
    bank = load_bank()
    scorer = ContentScorer(_no_embedding)
    judged = [judge(scorer, item) for item in labeled_answers(bank)]

    aimed: dict[str, list[int]] = {}
    misses: list[str] = []
    false_credits: list[str] = []
    acks: dict[str, list[int]] = {}
    unrecovered: list[str] = []
    for j in judged:
        item, move = j.item, j.move
        group = {"seed": "seed", "holdout": "hold-out"}.get(item.source, "tuning sets")
        # The hold-out answers are counted, never shown: reading them would be tuning on them.
        shown = item.source != "holdout"
        missed = [kp for kp in item.question.key_points
                  if kp.id in item.labeled and kp.id not in item.covered]
        if any(kp.weight >= ESSENTIAL for kp in missed):
            top = max(kp.weight for kp in missed)
            wanted = {kp.id for kp in missed if kp.weight == top}
            aimed_right = move.kind == "followup" and move.target in wanted
            aimed.setdefault(group, [0, 0])[0] += aimed_right
            aimed[group][1] += 1
            if not aimed_right and shown:
                credited = sorted(wanted & j.content.covered_ids)
                if move.target in item.covered:
                    why = f"the scorer missed {move.target}, which the labels say is stated"
                elif credited:
                    why = f"the scorer credited {', '.join(credited)}, which the labels deny"
                else:
                    why = "no follow-up" if move.kind != "followup" else "other"
                if credited and move.target in item.covered:
                    why += f"; and credited {', '.join(credited)}"
                misses.append(f"{item.answer_id} ({item.question.id}): wanted "
                              f"{'/'.join(sorted(wanted))}; got {move.kind} "
                              f"{move.target or ''} [{why}]")
        if j.picked is not None and move.ack and j.named is None and shown:
            unrecovered.append(f"{item.answer_id}: {j.picked.id}: {move.ack!r}")
        if j.named is not None:
            counts = acks.setdefault(group, [0, 0])
            counts[1] += 1
            if j.named.id in item.labeled and j.named.id not in item.covered:
                counts[0] += 1
                if shown:
                        false_credits.append(f"{item.answer_id} ({item.question.id}) names "
                                         f"{j.named.id}: {move.ack!r}\n      answer: {item.text}")
            if show_acks and shown:
                print(f"{item.answer_id}: {move.ack!r} ({j.named.id})")

    rows = []
    for group in ("seed", "tuning sets", "hold-out"):
        hit, total = aimed.get(group, [0, 0])
        bad, said = acks.get(group, [0, 0])
        rows.append([group, f"{hit}/{total} ({100 * hit / total:.1f} %)" if total else "-",
                     f"{bad} of {said}"])
    hit = sum(v[0] for v in aimed.values())
    total = sum(v[1] for v in aimed.values())
    bad = sum(v[0] for v in acks.values())
    said = sum(v[1] for v in acks.values())
    rows.append(["**all**", f"**{hit}/{total} ({100 * hit / total:.1f} %)**", f"**{bad} of {said}**"])
    from bench.harness import markdown_table

    print("## The interviewer's replies against hand labels\n")
    print(f"{len(judged)} answers ({sum(j.item.source == 'seed' for j in judged)} seed partials, "
          f"the rest from tests/data/coverage_*.yaml)\n")
    print(markdown_table(["answers", "follow-up aimed at a missed essential point (target >= 90 %)",
                          "acks naming a point the labels say is not covered (target 0)"], rows))
    print("\n### Follow-up misses (seed and tuning sets; the hold-out's are not shown)\n")
    print("\n".join(f"* {m}" for m in misses) or "none")
    print("\n### Acknowledgements that credit an unstated point\n")
    print("\n".join(f"* {m}" for m in false_credits) or "none")
    if unrecovered:
        print("\n### Acknowledgements that do not name the point the rule picks (check)\n")
        print("\n".join(f"* {m}" for m in unrecovered))


def covered_wordings() -> list[dict[str, str]]:
    """Every `covered` wording the interviewer could say of the tuning answers (never the
    hold-outs): one row per point the scorer credited that the labels also call covered,
    with the answer and the clause the scorer quoted, for a reader to judge whether
    "you <covered>" is true of what the candidate said (`bench.dialogues --export-wordings`)."""
    bank = load_bank()
    scorer = ContentScorer(_no_embedding)
    rows = []
    for item in labeled_answers(bank):
        if item.source == "holdout":
            continue
        content = scorer.score(item.question, item.text)
        by_id = {kp.id: kp for kp in item.question.key_points}
        for point in content.points:
            if not point.covered or point.id not in item.covered:
                continue
            rows.append({"answer_id": item.answer_id, "question_id": item.question.id,
                         "point_id": point.id, "point_text": point.text, "answer": item.text,
                         "evidence": point.evidence or "",
                         "said": f"Right, you {by_id[point.id].covered}."})
    return rows


def _no_embedding(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError("bank questions are judged by claims, never embedded")
