"""The optional LLM's fields put into a rule move, part by part.

The rules decide the move; the LLM may word three things of it: the
acknowledgement (the `ack` part), the follow-up question (the `core` of a
follow-up) and the drill feedback (the whole feedback move). `wording_steps`
says, for a reply's first move, which moves will be spoken and which field
each one waits for, so that the caller can speak the acknowledgement while the
follow-up is still streaming in; `WordingStep.worded` puts one field's value
in. A field that is missing (None or empty) keeps the rule wording, and every
move that went through this says who worded it in `source`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from server.interviewer.moves import Move, PartName

LLMField = Literal["acknowledgement", "follow_up", "feedback"]
#: The kinds of first move the LLM is asked to word (the others are spoken as they are).
WORDED_KINDS = frozenset({"followup", "question", "feedback"})


@dataclass(frozen=True)
class WordingStep:
    """One move to speak, and the LLM field that may replace one of its parts."""

    move: Move  # the rule wording
    field: LLMField | None = None  # None: spoken as the rules worded it
    #: The part `field` replaces; None: the field is the whole move.
    part: PartName | None = None

    def worded(self, value: str | None) -> Move:
        """The move to speak once `field` has come in (`value`; None if it did not)."""
        if self.field is None:
            return self.move
        if not value:
            return self.move.with_parts(source="rules")
        if self.part is None:
            return Move(self.move.kind, value, self.move.question_id, self.move.index,
                        self.move.target, "llm")
        return self.move.with_parts(source="llm", **{self.part: value})


def wording_steps(move: Move) -> list[WordingStep]:
    """How the LLM's fields word `move`, in speaking order.

    A move that acknowledges an answer is spoken as two: the acknowledgement on its own
    (kind "ack", the `acknowledgement` field), then the rest; a follow-up's question is
    the `follow_up` field. Drill feedback is the `feedback` field, whole.
    """
    if move.kind not in WORDED_KINDS:
        return [WordingStep(move)]
    if move.kind == "feedback":
        return [WordingStep(move, "feedback")]
    steps = []
    if move.ack:
        ack = Move("ack", "", move.question_id, move.index, ack=move.ack)
        steps.append(WordingStep(ack, "acknowledgement", "ack"))
    rest = move.with_parts(ack="")
    steps.append(WordingStep(rest, "follow_up", "core") if move.kind == "followup"
                 else WordingStep(rest))
    return steps


def worded_moves(move: Move, acknowledgement: str | None = None, follow_up: str | None = None,
                 feedback: str | None = None) -> list[Move]:
    """The moves to speak for the rule move `move`, with the LLM's fields that came in
    (each None when missing, invalid or late: that part keeps the rule wording)."""
    fields: dict[LLMField, str | None] = {"acknowledgement": acknowledgement,
                                          "follow_up": follow_up, "feedback": feedback}
    return [step.worded(fields[step.field] if step.field else None)
            for step in wording_steps(move)]
