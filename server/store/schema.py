"""The tables, as SQLAlchemy Core metadata: what the code reads and writes at head.

The migrations under `migrations/versions/` are the history that builds this
shape; they never import it (a migration is a snapshot of its own time).
`tests/test_store.py` checks that a database migrated to head matches it.
"""

from __future__ import annotations

from typing import get_args

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from server.store.records import SessionStatus

# Stable constraint names, so a later migration can alter them on any database.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

#: JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
Json = JSON().with_variant(JSONB(), "postgresql")

STATUSES: tuple[str, ...] = get_args(SessionStatus)

sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("settings", Json, nullable=False),
    # sha256 of the session token (hex). The token itself is never stored.
    Column("token_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("summary", Json, nullable=True),
    Index("ix_sessions_status", "status"),
    Index("ix_sessions_created_at", "created_at"),  # added by 0002: listing is newest first
)

questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"),
           nullable=False),
    Column("index", Integer, nullable=False),  # 1-based, as in the `agent` message
    Column("question_id", String(128), nullable=False),
    Column("category", String(64), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("asked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("session_id", "index"),
)

turns = Table(
    "turns", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"),
           nullable=False),
    Column("turn_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),  # order within the session, from 1
    Column("speaker", String(16), nullable=False),  # candidate | interviewer
    Column("kind", String(32), nullable=True),
    Column("text", Text, nullable=False),
    Column("question_id", String(128), nullable=True),
    Column("words", Json, nullable=True),
    Column("segments", Json, nullable=True),
    Column("score", Json, nullable=True),
    # Copied out of `score` (added by 0002) so listing needs no JSON parsing in SQL.
    Column("overall", Float, nullable=True),
    Column("metrics", Json, nullable=True),
    Column("feedback", Text, nullable=True),
    Column("audio_path", String(512), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("session_id", "turn_id"),
    UniqueConstraint("session_id", "seq"),
)

#: Small key/value facts about this database (the review-link secret).
store_meta = Table(
    "store_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
