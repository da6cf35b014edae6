"""Prompts for the optional LLM: the question, its rubric and the coverage so far.

The rubric decides the move; this only asks the LLM to word it. The candidate's
answer is embedded as a JSON string literal, so it arrives as quoted data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from server.bank import Question
from server.engines.llm import load_prompt
from server.interviewer.moves import Move
from server.scoring.content import PointCoverage


def turn_messages(question: Question, points: Sequence[PointCoverage], answer: str,
                  move: Move, draft: str | None = None) -> list[dict[str, str]]:
    """The messages that ask the LLM to word `move`'s parts. The follow-up it rewords is
    the move's `core` (the bank's text); `draft`, the rule wording shown for reference,
    is the whole move unless given."""
    by_id = {p.id: p for p in points}
    rubric_lines = []
    for kp in sorted(question.key_points, key=lambda kp: -kp.weight):
        state = "covered" if by_id.get(kp.id) and by_id[kp.id].covered else "MISSED"
        rubric_lines.append(f"- [{state}] (importance {kp.weight}) {kp.text}")
    if move.kind == "followup" and move.target == "deeper":
        instruction = ("the candidate's answer was strong; ask this deeper probe in your own "
                       f"words, as one question ending with '?': {json.dumps(move.core)}")
    elif move.kind == "followup":
        instruction = ("ask about the missed key point below, in your own words, as one "
                       "question ending with '?', without giving the answer away: "
                       f"{json.dumps(move.core)}")
    else:
        instruction = "an empty string (the interviewer moves on to the next question)."
    template = load_prompt("turn")
    user = template.substitute(
        question=question.prompt,
        rubric="\n".join(rubric_lines),
        answer=json.dumps(answer),
        move={"followup": "ask a follow-up question", "question": "move on to the next question",
              "feedback": "give feedback and move on", "closing": "close the session"}.get(
                  move.kind, move.kind),
        draft=json.dumps(move.text if draft is None else draft),
        follow_up_instruction=instruction,
    )
    return [{"role": "system", "content": load_prompt("system").template},
            {"role": "user", "content": user}]

