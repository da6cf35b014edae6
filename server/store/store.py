"""SessionStore: everything viva keeps about a session, committed turn by turn.

Each call is its own short transaction, so a turn is on disk the moment
`add_turn` returns and a killed server loses at most the turn in progress.
Only SQLAlchemy Core expressions reach the database (no SQL strings), and the
same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.util import CommandError
from sqlalchemy import Row, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from server import protocol as p
from server.scoring.overall import session_averages
from server.store import db
from server.store.audio import relative_audio_path, write_wav
from server.store.records import (
    SessionListing,
    StoredQuestion,
    StoredSession,
    StoredTurn,
    TurnInput,
)
from server.store.schema import STATUSES, questions, sessions, store_meta, turns

log = logging.getLogger("viva.store")

_GRANT_KEY = "review_grant_secret"
_GRANT_PREFIX = "g."
# Compared against when the session does not exist, so that an unknown id and a
# wrong token take the same time.
_NO_HASH = "0" * 64


def hash_token(token: str) -> str:
    """sha256, hex. Tokens are 144 random bits, so a fast unsalted hash is enough:
    there is nothing to guess, only a database file to keep useless to a reader."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:  # SQLite gives back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


def _plain(value: Any) -> Any:
    """JSON-ready data: pydantic models (a protocol `Score`, `Word`) become dicts."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _without_secrets(value: Any) -> Any:
    """Drop anything token-like before it is stored: `resume.token` inside the start
    options, a `review_url` carrying `?token=` inside a summary."""
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items()
                if k not in ("token", "review_url", "key", "access_key")}
    if isinstance(value, list | tuple):
        return [_without_secrets(v) for v in value]
    return value


class SessionStore:
    """The store of one server (or one CLI command). Build it with `open_store`."""

    def __init__(self, engine: AsyncEngine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = data_dir.resolve()
        self._locks: dict[str, asyncio.Lock] = {}
        self._grant_secret: bytes | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """INSERT with this dialect's ON CONFLICT (both spell it the same way): an
        upsert in one statement instead of a select, then an update or an insert."""
        return postgresql.insert(table) if self.dialect == "postgresql" else \
            sqlite.insert(table)

    # ------------------------------------------------------------------ lifecycle

    async def init(self, *, recover: bool = True) -> None:
        """Create or migrate the schema; with `recover`, sessions left `active` by a
        server that died are marked `interrupted` (the CLI passes recover=False, as a
        server may be running beside it). One server per database: a second server
        starting on the same PostgreSQL database would mark the first one's live
        sessions interrupted too."""
        try:
            async with self.engine.begin() as conn:
                await db.migrate(conn)
        except CommandError as exc:
            # Usually a database written by a newer viva: refuse rather than guess.
            raise db.StoreError(f"cannot migrate the database at "
                                f"{self.engine.url.render_as_string()}: {exc}") from exc
        if recover:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    update(sessions).where(sessions.c.status == "active")
                    # It ended, as far as anyone can tell, with its last write.
                    .values(status="interrupted", ended_at=sessions.c.updated_at))
            if result.rowcount:
                log.info("marked %d unfinished session(s) interrupted", result.rowcount)

    async def close(self) -> None:
        await self.engine.dispose()

    def _lock(self, session_id: str) -> asyncio.Lock:
        # Serialises the read-then-write of `seq` per session within this process.
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    # ------------------------------------------------------------------ writing

    async def create_session(self, session_id: str, token: str, mode: str,
                             options: dict[str, Any]) -> None:
        now = _now()
        async with self.engine.begin() as conn:
            await conn.execute(insert(sessions).values(
                id=session_id, mode=mode, settings=_without_secrets(_plain(options)),
                token_hash=hash_token(token), status="active",
                created_at=now, updated_at=now, ended_at=None, summary=None,
            ))

    async def add_question(self, session_id: str, index: int, question_id: str, category: str,
                           prompt: str) -> None:
        """Record the question asked at `index`; asking an index again replaces it."""
        values = {"question_id": question_id, "category": category, "prompt": prompt,
                  "asked_at": _now()}
        upsert = self._insert(questions).values(session_id=session_id, index=index, **values)
        # One writer per session at a time, as for turns: SQLite refuses a second writer
        # ("database is locked"), and the kill -9 test lost a question row that way.
        async with self._lock(session_id), self.engine.begin() as conn:
            await conn.execute(upsert.on_conflict_do_update(
                index_elements=[questions.c.session_id, questions.c.index], set_=values))
            await self._touch(conn, session_id)

    async def add_turn(self, session_id: str, turn: TurnInput | Mapping[str, Any]) -> None:
        """Commit one finished turn. The same `turn_id` again updates that turn in place
        (keeping its position), e.g. to attach a score that came later. A mapping (the
        rows conversation.py builds) is validated into a `TurnInput` (ValueError)."""
        row = turn if isinstance(turn, TurnInput) else TurnInput.model_validate(turn)
        score = row.score
        metrics = row.metrics if row.metrics is not None else score.metrics if score else None
        feedback = row.feedback if row.feedback is not None else score.feedback if score \
            else None
        values = {
            "speaker": row.speaker,
            "kind": row.kind,
            "text": row.text or "",
            "question_id": row.question_id,
            "words": _plain(row.words),
            "segments": _plain(row.segments),
            "score": _plain(score),
            "overall": score.overall if score else None,
            "metrics": _plain(metrics),
            "feedback": feedback,
            "audio_path": row.audio_path,
        }
        next_seq = (select(func.coalesce(func.max(turns.c.seq), 0) + 1)
                    .where(turns.c.session_id == session_id).scalar_subquery())
        upsert = self._insert(turns).values(session_id=session_id, turn_id=row.turn_id,
                                            seq=next_seq, created_at=_now(), **values)
        # The lock still serialises this session's writes within the process: two new
        # turns at once in PostgreSQL (read committed) would both read the same
        # max(seq), and the second would break the unique (session_id, seq).
        async with self._lock(session_id), self.engine.begin() as conn:
            await conn.execute(upsert.on_conflict_do_update(
                index_elements=[turns.c.session_id, turns.c.turn_id], set_=values))
            await self._touch(conn, session_id)

    async def withdraw_turns(self, session_id: str, turn_ids: list[str],
                             questions_kept: int | None = None) -> None:
        """Delete turns that turned out never to have happened (an interviewer's reply the
        candidate talked over to finish their answer), and any question numbered past
        `questions_kept` that such a reply had asked."""
        async with self._lock(session_id), self.engine.begin() as conn:
            if turn_ids:
                await conn.execute(delete(turns).where(turns.c.session_id == session_id,
                                                       turns.c.turn_id.in_(turn_ids)))
            if questions_kept is not None:
                await conn.execute(delete(questions).where(
                    questions.c.session_id == session_id, questions.c.index > questions_kept))
            await self._touch(conn, session_id)

    async def save_audio(self, session_id: str, turn_id: str, pcm16: bytes,
                         sample_rate: int = 16000) -> str:
        """Write the turn's audio as `audio/{session_id}/{turn_id}.wav` under the data folder
        (off the event loop); returns that relative path for `add_turn(audio_path=...)`."""
        relative = relative_audio_path(session_id, turn_id)
        await asyncio.to_thread(write_wav, self.data_dir / relative, pcm16, sample_rate)
        return relative

    async def finish_session(self, session_id: str, summary: p.Summary | Mapping[str, Any],
                             status: str = "completed") -> None:
        """Store the session's summary (a mapping is validated into `p.Summary`; its
        review link, which carries the token, is not kept) and its final status."""
        self._check_status(status)
        kept = p.Summary.model_validate(summary).model_copy(update={"review_url": None})
        now = _now()
        async with self.engine.begin() as conn:
            await conn.execute(update(sessions).where(sessions.c.id == session_id).values(
                summary=kept.model_dump(mode="json"), status=status, ended_at=now,
                updated_at=now))
        self._locks.pop(session_id, None)

    async def mark_status(self, session_id: str, status: str) -> None:
        """Set the status; `active` (a resumed session) also clears `ended_at`."""
        self._check_status(status)
        now = _now()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "active":
            values["ended_at"] = None
        elif status == "interrupted":
            values["ended_at"] = now
        async with self.engine.begin() as conn:
            await conn.execute(update(sessions).where(sessions.c.id == session_id).values(**values))

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")

    @staticmethod
    async def _touch(conn: Any, session_id: str) -> None:
        await conn.execute(update(sessions).where(sessions.c.id == session_id)
                           .values(updated_at=_now()))

    # ------------------------------------------------------------------ access

    async def check_token(self, session_id: str, token: str) -> bool:
        """True when `token` is this session's own token (what `resume` needs)."""
        async with self.engine.connect() as conn:
            stored = (await conn.execute(select(sessions.c.token_hash)
                                         .where(sessions.c.id == session_id))).scalar()
        ok = hmac.compare_digest(hash_token(token or ""), stored or _NO_HASH)
        return ok and stored is not None

    async def review_grant(self, session_id: str) -> str:
        """A read-only credential for one session's review, derived from a secret kept in
        the database: the sessions list (behind the access key, or on loopback) links
        each review with it, since the session tokens themselves are not stored."""
        secret = await self._secret()
        digest = hmac.new(secret, f"review:{session_id}".encode(), hashlib.sha256).hexdigest()
        return _GRANT_PREFIX + digest[:40]

    async def check_access(self, session_id: str, token: str | None) -> bool:
        """True for the session's token or its review grant: what the read endpoints take."""
        if not token:
            return False
        if token.startswith(_GRANT_PREFIX):
            exists = await self._exists(session_id)
            return hmac.compare_digest(token, await self.review_grant(session_id)) and exists
        return await self.check_token(session_id, token)

    async def _exists(self, session_id: str) -> bool:
        async with self.engine.connect() as conn:
            found = (await conn.execute(select(sessions.c.id)
                                        .where(sessions.c.id == session_id))).scalar()
        return found is not None

    async def _secret(self) -> bytes:
        if self._grant_secret is not None:
            return self._grant_secret
        async with self.engine.connect() as conn:
            value = (await conn.execute(select(store_meta.c.value)
                                        .where(store_meta.c.key == _GRANT_KEY))).scalar()
        if value is None:
            # Another process may make it at the same moment: whichever row landed first
            # is the secret, for both.
            async with self.engine.begin() as conn:
                await conn.execute(self._insert(store_meta)
                                   .values(key=_GRANT_KEY, value=secrets.token_hex(32))
                                   .on_conflict_do_nothing(index_elements=[store_meta.c.key]))
                value = (await conn.execute(select(store_meta.c.value)
                                            .where(store_meta.c.key == _GRANT_KEY))).scalar()
        assert value is not None
        self._grant_secret = bytes.fromhex(value)
        return self._grant_secret

    # ------------------------------------------------------------------ reading

    async def read_session(self, session_id: str) -> StoredSession | None:
        """The whole session: its fields, questions by index, turns in order, summary."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
            if row is None:
                return None
            asked = (await conn.execute(select(questions)
                                        .where(questions.c.session_id == session_id)
                                        .order_by(questions.c.index))).all()
            said = (await conn.execute(select(turns).where(turns.c.session_id == session_id)
                                       .order_by(turns.c.seq))).all()
        return StoredSession(
            id=row.id, mode=row.mode, status=row.status, settings=row.settings,
            created_at=_utc(row.created_at), updated_at=_utc(row.updated_at),
            ended_at=_utc_or_none(row.ended_at),
            summary=None if row.summary is None else p.Summary.model_validate(row.summary),
            # `_mapping`: on a Row, `.index` is the tuple method, not the column.
            questions=[StoredQuestion(index=q._mapping["index"], question_id=q.question_id,
                                      category=q.category, prompt=q.prompt,
                                      asked_at=_utc(q.asked_at)) for q in asked],
            turns=[self._turn(t) for t in said],
        )

    async def list_sessions(self, limit: int = 100) -> list[SessionListing]:
        """Newest first, with the number of questions asked, the overall score and the
        average per category (each question counted once, by its best answer)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(sessions).order_by(sessions.c.created_at.desc(),
                                                                 sessions.c.id.desc())
                                       .limit(max(1, limit)))).all()
            ids = [r.id for r in rows]
            asked = (await conn.execute(
                select(questions.c.session_id, questions.c.question_id, questions.c.category)
                .where(questions.c.session_id.in_(ids)))).all() if ids else []
            scored = (await conn.execute(
                select(turns.c.session_id, turns.c.question_id, turns.c.overall)
                .where(turns.c.session_id.in_(ids), turns.c.speaker == "candidate",
                       turns.c.overall.is_not(None)))).all() if ids else []
        categories: dict[str, dict[str, str]] = {}
        for q in asked:
            categories.setdefault(q.session_id, {})[q.question_id] = q.category
        best: dict[str, dict[str, float]] = {}
        for t in scored:
            per_question = best.setdefault(t.session_id, {})
            if t.question_id is not None:
                per_question[t.question_id] = max(t.overall, per_question.get(t.question_id, 0.0))
        listed = []
        for row in rows:
            by_question = best.get(row.id, {})
            cats = categories.get(row.id, {})
            overall, by_category = session_averages(by_question, cats)
            # A finished session's own summary is authoritative where it has a figure.
            if row.summary is not None:
                summary = p.Summary.model_validate(row.summary)
                overall = summary.overall
                by_category = summary.categories or by_category
            listed.append(SessionListing(
                id=row.id, mode=row.mode, status=row.status, created_at=_utc(row.created_at),
                ended_at=_utc_or_none(row.ended_at), question_count=len(cats),
                answered_count=len(by_question), overall=overall, categories=by_category,
            ))
        return listed

    @staticmethod
    def _turn(row: Row[Any]) -> StoredTurn:
        return StoredTurn(
            turn_id=row.turn_id, seq=row.seq, speaker=row.speaker, kind=row.kind,
            text=row.text, question_id=row.question_id, words=row.words,
            segments=row.segments,
            score=None if row.score is None else p.Score.model_validate(row.score),
            metrics=row.metrics, feedback=row.feedback, audio_path=row.audio_path,
            created_at=_utc(row.created_at),
        )
