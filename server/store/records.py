"""The store's records: what `SessionStore` takes and gives back, as pydantic models.

The same models are the HTTP API's `response_model`s (`server/api/sessions.py`), so
/docs shows the real shapes. A turn's score and a session's summary are the wire
models themselves (`server.protocol.Score`, `Summary`): the store keeps exactly what
the candidate was sent, and one definition says what that is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from server import protocol as p

Speaker = Literal["candidate", "interviewer"]
SessionStatus = Literal["active", "completed", "interrupted"]
#: A stretch of speech, seconds from the start of the turn's audio.
Segment = tuple[float, float]


class TurnInput(BaseModel):
    """One finished turn as `SessionStore.add_turn` takes it; the dict rows that
    conversation.py builds validate into it. `metrics` and `feedback` default to the
    score's own."""

    model_config = ConfigDict(extra="forbid")

    turn_id: str
    speaker: Speaker
    kind: str | None = None
    text: str | None = None
    question_id: str | None = None
    words: list[p.Word] | None = None
    segments: list[Segment] | None = None
    score: p.Score | None = None
    metrics: dict[str, Any] | None = None
    feedback: str | None = None
    #: Relative to the data folder, as `SessionStore.save_audio` returns it.
    audio_path: str | None = None


class _TurnFields(BaseModel):
    turn_id: str
    #: Position within the session, from 1; kept when the turn is written again.
    seq: int
    speaker: Speaker
    #: The interviewer's `agent` kind, or "answer" for a candidate's turn.
    kind: str | None
    text: str
    question_id: str | None
    words: list[p.Word] | None
    segments: list[Segment] | None
    score: p.Score | None
    metrics: dict[str, Any] | None
    feedback: str | None
    created_at: datetime


class StoredTurn(_TurnFields):
    audio_path: str | None


class StoredQuestion(BaseModel):
    #: 1-based, as in the `agent` message.
    index: int
    question_id: str
    category: str
    prompt: str
    asked_at: datetime


class _SessionFields(BaseModel):
    id: str
    mode: p.Mode
    status: SessionStatus
    #: The `start` options the session was begun with, without any token.
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    #: The summary the candidate was sent (without its review link), once it ended.
    summary: p.Summary | None


class StoredSession(_SessionFields):
    """The whole session: its fields, questions by index, turns in order."""

    questions: list[StoredQuestion]
    turns: list[StoredTurn]


class SessionListing(BaseModel):
    """One row of `SessionStore.list_sessions`."""

    id: str
    mode: p.Mode
    status: SessionStatus
    created_at: datetime
    ended_at: datetime | None
    question_count: int
    answered_count: int
    #: The summary's figure for a finished session, else the mean of each question's best.
    overall: float | None
    categories: dict[str, float]


# ------------------------------------------------------------------ the review


class KeyPointText(BaseModel):
    id: str
    text: str


class QuestionReview(StoredQuestion):
    """A question asked, with what the bank says of it now (nulls when the bank no
    longer has it)."""

    difficulty: p.Difficulty | None
    answer: str | None
    hint: str | None
    key_points: list[KeyPointText]


class TurnReview(_TurnFields):
    #: Where the recording is served, for a turn that has one (the caller adds its own
    #: `?token=` or `?key=`).
    audio_url: str | None


class SessionReview(_SessionFields):
    """A stored session as the review page, the HTTP detail and the exports show it."""

    questions: list[QuestionReview]
    turns: list[TurnReview]


class SessionLink(SessionListing):
    """A listed session with links that open it (a review grant, not its token)."""

    review_url: str
    api_url: str


class SessionList(BaseModel):
    count: int
    sessions: list[SessionLink]
