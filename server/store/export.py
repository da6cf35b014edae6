"""A stored session as a review and as a download: readable Markdown or the full JSON.

Pure functions over the `StoredSession` that `SessionStore.read_session` returns, shared
by the HTTP detail and export and by `viva export`, so all three say the same.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

from server import protocol as p
from server.store.records import (
    KeyPointText,
    QuestionReview,
    SessionReview,
    StoredSession,
    TurnReview,
)


class _Bank(Protocol):
    def get(self, question_id: str) -> Any: ...


def audio_url(session_id: str, turn_id: str) -> str:
    """Where `server/api/sessions.py:turn_audio` serves a turn's recording."""
    return f"/api/sessions/{quote(session_id, safe='')}/turns/{quote(turn_id, safe='')}/audio"


def review(session: StoredSession, bank: _Bank | None) -> SessionReview:
    """The session with each question's model answer, hint and key points from the bank
    (the stored session keeps only what was asked; the bank may have been edited since,
    and a question gone from the bank gets nulls), each word's delivery marks, and an
    audio URL per recorded turn in place of its path on disk."""
    questions = []
    for asked in session.questions:
        question = bank.get(asked.question_id) if bank is not None else None
        questions.append(QuestionReview(
            **asked.model_dump(),
            difficulty=getattr(question, "difficulty", None),
            answer=getattr(question, "answer", None),
            hint=getattr(question, "hint", None),
            key_points=[KeyPointText(id=kp.id, text=kp.text) for kp in question.key_points]
            if question is not None else [],
        ))
    # Words are marked on every read (so sessions stored before there were marks get
    # them, and a change of the rules reaches all).
    turns = [TurnReview(**turn.model_dump(exclude={"audio_path", "words"}),
                        words=p.marked_words(turn.words, turn.segments) if turn.words
                        else turn.words,
                        audio_url=audio_url(session.id, turn.turn_id) if turn.audio_path else None)
             for turn in session.turns]
    return SessionReview(**session.model_dump(exclude={"questions", "turns"}),
                         questions=questions, turns=turns)


def best_scores(session: SessionReview) -> dict[str, p.Score]:
    """Each question's best-scored answer (the same rule as the live summary)."""
    best: dict[str, p.Score] = {}
    for turn in session.turns:
        score, qid = turn.score, turn.question_id
        if turn.speaker != "candidate" or score is None or qid is None:
            continue
        if qid not in best or score.overall > best[qid].overall:
            best[qid] = score
    return best


def to_json(session: SessionReview) -> str:
    """The same JSON as the HTTP detail (`GET /api/sessions/{id}`)."""
    return session.model_dump_json(indent=2) + "\n"


def _fmt(value: float | None) -> str:
    return "—" if value is None else str(round(value))


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())


def to_markdown(session: SessionReview) -> str:
    """A transcript to read or paste: the conversation in order, each answer followed by
    its scores, the key points covered (with the words that covered them) and missed,
    and the feedback; each question's model answer where the bank still has it."""
    questions = {q.question_id: q for q in session.questions}
    scores = best_scores(session)
    summary = session.summary
    overall = summary.overall if summary is not None else None
    if overall is None and scores:
        overall = sum(s.overall for s in scores.values()) / len(scores)
    lines = [
        f"# viva session {session.id}",
        "",
        f"- Date: {session.created_at.isoformat()}",
        f"- Mode: {session.mode}",
        f"- Status: {session.status}",
        f"- Questions: {len(questions)}",
        f"- Overall: {_fmt(overall)} / 100",
        "",
    ]
    if summary is not None and (summary.strengths or summary.improvements):
        lines += ["## Summary", ""]
        for title, items in (("Strengths", summary.strengths),
                             ("To improve", summary.improvements)):
            if items:
                lines += [f"**{title}**", ""] + [f"- {item}" for item in items] + [""]

    lines += ["## Conversation", ""]
    current: str | None = None
    shown_answers: set[str] = set()

    def close_question(question_id: str | None) -> None:
        question = questions.get(question_id or "")
        if question and question.answer and question.question_id not in shown_answers:
            shown_answers.add(question.question_id)
            lines.extend(["**Model answer**", "", _quote(question.answer), ""])

    for turn in session.turns:
        qid = turn.question_id
        if qid and qid != current and qid in questions:
            close_question(current)
            current = qid
            q = questions[qid]
            best = scores[qid].overall if qid in scores else None
            lines += [f"### Q{q.index} · {q.category} · best {_fmt(best)}", "",
                      f"*{q.prompt}*", ""]
        who = "You" if turn.speaker == "candidate" else "Interviewer"
        kind = f" ({turn.kind})" if turn.kind and turn.speaker != "candidate" else ""
        lines += [f"**{who}{kind}:** {turn.text}", ""]
        if turn.speaker == "candidate" and turn.score is not None:
            lines += _score_lines(turn.score, turn)
    close_question(current)
    return "\n".join(lines).rstrip() + "\n"


def _score_lines(score: p.Score, turn: TurnReview) -> list[str]:
    lines = [f"- Score: overall **{_fmt(score.overall)}**, content "
             f"{_fmt(score.content)}, delivery {_fmt(score.delivery)}"]
    metrics = score.metrics or turn.metrics or {}
    if metrics.get("wpm") is not None:
        lines.append(f"- Delivery: {_fmt(metrics.get('wpm'))} words/min, "
                     f"{metrics.get('filler_count', 0)} fillers, "
                     f"{metrics.get('long_pauses', 0)} long pauses")
    covered = [kp for kp in score.key_points if kp.covered]
    missed = [kp for kp in score.key_points if not kp.covered]
    if covered:
        lines.append("- Covered:")
        for kp in covered:
            evidence = f' — "{kp.evidence}"' if kp.evidence else ""
            lines.append(f"  - {kp.text or kp.id}{evidence}")
    if missed:
        lines.append("- Missed:")
        lines += [f"  - {kp.text or kp.id}" for kp in missed]
    feedback = score.feedback or turn.feedback
    if feedback:
        lines.append(f"- Feedback: {feedback}")
    return [*lines, ""]
