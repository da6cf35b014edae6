"""What the interviewer says: moves made of named parts, joined by one renderer.

A move is built from parts ("Right, you covered cold start." / "Let's move on." /
"Question 2." / the prompt) instead of one string, so that whatever rewords a
part (the optional LLM) replaces that part by name and `render` joins the move
again; nothing splits a move's text after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MoveKind = Literal["greeting", "question", "followup", "hint", "feedback", "ack", "closing"]
#: Who worded a move: "rules", or "llm"; None for a rule move the LLM was never asked about.
Source = Literal["rules", "llm"]
#: A move's parts, in the order they are spoken:
#: `ack`: the one sentence that acknowledges an answer ("Right, you covered cold start.");
#: `lead`: a sentence that frames what follows ("Here's a hint:", "Let's leave that there.");
#: `transition`: the bridge to the next question ("Let's move on.");
#: `label`: the question's number ("Question 2.");
#: `core`: what the move is there to say (the prompt, the follow-up, the hint, the feedback).
PartName = Literal["ack", "lead", "transition", "label", "core"]
PARTS: tuple[PartName, ...] = ("ack", "lead", "transition", "label", "core")


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    core: str = ""
    question_id: str | None = None
    index: int | None = None
    #: Which key point a follow-up probes, or "deeper" (for logs, LLM wording, tests).
    target: str | None = None
    source: Source | None = None
    ack: str = ""
    lead: str = ""
    transition: str = ""
    label: str = ""

    @property
    def text(self) -> str:
        """The move as spoken and shown: its parts joined by `render`."""
        return render(self)

    def with_parts(self, source: Source | None = None, **parts: str) -> Move:
        """This move with the named parts replaced (and `source` set, when given);
        `dataclasses.replace` does the same for any field."""
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise TypeError(f"not a part of a move: {sorted(unknown)}")
        now: dict[str, str] = {name: parts.get(name, getattr(self, name)) for name in PARTS}
        return Move(self.kind, now["core"], self.question_id, self.index, self.target,
                    self.source if source is None else source, ack=now["ack"], lead=now["lead"],
                    transition=now["transition"], label=now["label"])

def render(move: Move) -> str:
    """The one way a move's parts are joined: in `PARTS` order, empty ones left out,
    one space between (each part is whole sentences, or a lead that ends with ':')."""
    return " ".join(part for part in (getattr(move, name) for name in PARTS) if part)


@dataclass
class Reply:
    moves: list[Move] = field(default_factory=list)
    done: bool = False  # the session is over after these moves
    #: Speech-rate change asked for ("slower"/"faster"): the conversation applies it.
    rate_change: Literal["slower", "faster"] | None = None
