"""A stored session as a download: readable Markdown or the full JSON.

Pure functions over the dict `SessionStore.get_session` returns, shared by the
HTTP export and `viva export`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol


class _Bank(Protocol):
    def get(self, question_id: str) -> Any: ...


def with_bank(session: dict[str, Any], bank: _Bank | None) -> dict[str, Any]:
    """Add each question's model answer, hint and key points from the bank (the
    stored session keeps only what was asked; the bank may have been edited since,
    and a question gone from the bank gets nulls)."""
    enriched = dict(session)
    out = []
    for asked in session.get("questions", []):
        question = bank.get(asked["question_id"]) if bank is not None else None
        out.append(asked | {
            "difficulty": getattr(question, "difficulty", None),
            "answer": getattr(question, "answer", None),
            "hint": getattr(question, "hint", None),
            "key_points": [{"id": kp.id, "text": kp.text} for kp in question.key_points]
            if question is not None else [],
        })
    enriched["questions"] = out
    return enriched


def best_scores(session: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each question's best-scored answer (the same rule as the live summary)."""
    best: dict[str, dict[str, Any]] = {}
    for turn in session.get("turns", []):
        score, qid = turn.get("score"), turn.get("question_id")
        if turn.get("speaker") != "candidate" or not score or qid is None:
            continue
        if not isinstance(score.get("overall"), int | float):
            continue
        if qid not in best or score["overall"] > best[qid]["overall"]:
            best[qid] = score
    return best


def to_json(session: dict[str, Any]) -> str:
    return json.dumps(session, indent=2, ensure_ascii=False) + "\n"


def _fmt(value: Any) -> str:
    return str(round(value)) if isinstance(value, int | float) else "—"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())


def to_markdown(session: dict[str, Any]) -> str:
    """A transcript to read or paste: the conversation in order, each answer followed by
    its scores, the key points covered (with the words that covered them) and missed,
    and the feedback; each question's model answer where the bank still has it."""
    questions = {q["question_id"]: q for q in session.get("questions", [])}
    scores = best_scores(session)
    summary = session.get("summary") or {}
    overall = summary.get("overall")
    if overall is None and scores:
        overall = sum(s["overall"] for s in scores.values()) / len(scores)
    lines = [
        f"# viva session {session['id']}",
        "",
        f"- Date: {session.get('created_at') or '—'}",
        f"- Mode: {session.get('mode')}",
        f"- Status: {session.get('status')}",
        f"- Questions: {len(questions)}",
        f"- Overall: {_fmt(overall)} / 100",
        "",
    ]
    if summary.get("strengths") or summary.get("improvements"):
        lines += ["## Summary", ""]
        for title, key in (("Strengths", "strengths"), ("To improve", "improvements")):
            if summary.get(key):
                lines += [f"**{title}**", ""] + [f"- {item}" for item in summary[key]] + [""]

    lines += ["## Conversation", ""]
    current: str | None = None
    shown_answers: set[str] = set()

    def close_question(question_id: str | None) -> None:
        question = questions.get(question_id or "")
        if question and question.get("answer") and question_id not in shown_answers:
            shown_answers.add(question_id or "")
            lines.extend(["**Model answer**", "", _quote(question["answer"]), ""])

    for turn in session.get("turns", []):
        qid = turn.get("question_id")
        if qid and qid != current and qid in questions:
            close_question(current)
            current = qid
            q = questions[qid]
            best = scores.get(qid, {}).get("overall")
            lines += [f"### Q{q['index']} · {q['category']} · best {_fmt(best)}", "",
                      f"*{q['prompt']}*", ""]
        who = "You" if turn["speaker"] == "candidate" else "Interviewer"
        kind = f" ({turn['kind']})" if turn.get("kind") and turn["speaker"] != "candidate" else ""
        lines += [f"**{who}{kind}:** {turn.get('text') or ''}", ""]
        score = turn.get("score")
        if turn["speaker"] == "candidate" and score:
            lines += _score_lines(score, turn)
    close_question(current)
    return "\n".join(lines).rstrip() + "\n"


def _score_lines(score: dict[str, Any], turn: dict[str, Any]) -> list[str]:
    lines = [f"- Score: overall **{_fmt(score.get('overall'))}**, content "
             f"{_fmt(score.get('content'))}, delivery {_fmt(score.get('delivery'))}"]
    metrics = score.get("metrics") or turn.get("metrics") or {}
    if metrics.get("wpm") is not None:
        lines.append(f"- Delivery: {_fmt(metrics.get('wpm'))} words/min, "
                     f"{metrics.get('filler_count', 0)} fillers, "
                     f"{metrics.get('long_pauses', 0)} long pauses")
    points = score.get("key_points") or []
    covered = [p for p in points if p.get("covered")]
    missed = [p for p in points if not p.get("covered")]
    if covered:
        lines.append("- Covered:")
        for p in covered:
            evidence = f' — "{p["evidence"]}"' if p.get("evidence") else ""
            lines.append(f"  - {p.get('text') or p.get('id')}{evidence}")
    if missed:
        lines.append("- Missed:")
        lines += [f"  - {p.get('text') or p.get('id')}" for p in missed]
    feedback = score.get("feedback") or turn.get("feedback")
    if feedback:
        lines.append(f"- Feedback: {feedback}")
    return [*lines, ""]
