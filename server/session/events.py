"""What the listener tells the session, one typed event per happening.

`Listener.feed` (and `reweigh`, `end_turn`) return these in the order they happened;
`Conversation` routes each to the part that acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.turn import Piece, Turn


@dataclass(frozen=True)
class SpeechStarted:
    t: float  # input time of the onset (s)
    #: The interviewer was speaking: the candidate's words win.
    barge_in: bool


@dataclass(frozen=True)
class SpeechStopped:
    t: float  # input time the speech stopped


@dataclass(frozen=True)
class TurnReopened:
    """The candidate went on right after the turn was ended: it is live again, its audio
    back in the input, and whatever the session did on its end must be rolled back."""

    turn: Turn
    after_s: float  # seconds between the end and the new speech


@dataclass(frozen=True)
class PieceCut:
    """A piece of the turn closed, to be transcribed after `previous` (its context)."""

    turn: Turn
    piece: Piece
    audio: np.ndarray
    previous: Piece | None


@dataclass(frozen=True)
class EndCheckDue:
    """A pause began: ask the turn-end model whether the speech sounded finished."""

    turn: Turn
    silence_since: float
    audio: np.ndarray  # the last seconds of the turn, up to now


@dataclass(frozen=True)
class PartialDue:
    turn: Turn


@dataclass(frozen=True)
class PreviewDue:
    """Silence long enough that the reply should be worked out now for `text`."""

    turn: Turn
    text: str


@dataclass(frozen=True)
class TurnEnded:
    turn: Turn
    audio: np.ndarray  # the turn's audio, from its first sample to its end
    reopenable: bool


ListenerEvent = (SpeechStarted | SpeechStopped | TurnReopened | PieceCut | EndCheckDue
                 | PartialDue | PreviewDue | TurnEnded)
