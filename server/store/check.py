"""The SQLite file checked before start-up, and copied whole by `viva backup`.

Why check at all: a damaged sessions table let the server start, answer 500 on
/api/sessions and silently drop every new turn; a deleted or emptied file was
replaced by a fresh one, orphaning the recordings under `audio/`. Both now stop
start-up with one line that names the file and what to do. Plain `sqlite3` here:
it runs before the event loop and the async engine exist.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from server.config import Settings
from server.store.audio import AUDIO_DIR
from server.store.db import StoreError, database_url


def sqlite_path(settings: Settings) -> Path | None:
    """The database file, or None for PostgreSQL and in-memory SQLite."""
    url = database_url(settings.database_url, settings.data_dir)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def recorded_sessions(data_dir: Path) -> int:
    """Sessions with at least one recording in the data folder."""
    root = data_dir / AUDIO_DIR
    if not root.is_dir():
        return 0
    return sum(1 for folder in root.iterdir() if folder.is_dir() and any(folder.glob("*.wav")))


def _connect(path: Path) -> sqlite3.Connection:
    # mode=rw: never create the file as a side effect of looking at it.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)


def check_database(settings: Settings) -> None:
    """Raise StoreError (one line) for a damaged SQLite file, or for a missing or empty one
    while the data folder holds recordings that it indexed."""
    path = sqlite_path(settings)
    if path is None:
        return
    if not path.exists() or path.stat().st_size == 0:
        recorded = recorded_sessions(settings.data_dir)
        if recorded:
            what = "missing" if not path.exists() else "empty"
            raise StoreError(
                f"the database {path} is {what}, but {settings.data_dir / AUDIO_DIR} holds the "
                f"recordings of {recorded} session(s) it indexed: restore it from a backup "
                f"(`viva backup` makes one), or move that audio folder away to start afresh")
        return
    problem = quick_check(path)
    if problem is not None:
        raise StoreError(
            f"the database {path} is damaged ({problem}): stop viva and restore it from a "
            f"backup, or move it (with any -wal and -shm files beside it) away to start with "
            f"an empty one; the recordings under {settings.data_dir / AUDIO_DIR} stay")


def quick_check(path: Path) -> str | None:
    """None for a sound file; else SQLite's first complaint."""
    try:
        with closing(_connect(path)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows == [("ok",)]:
        return None
    first = str(rows[0][0]) if rows else "no answer"
    return f"{first}{f' and {len(rows) - 1} more' if len(rows) > 1 else ''}"


def backup(settings: Settings, target: Path) -> int:
    """Copy the live database to `target` with SQLite's online backup (a consistent copy
    while the server goes on writing); returns the number of sessions in the copy."""
    path = sqlite_path(settings)
    if path is None:
        raise StoreError("`viva backup` copies a SQLite database; for PostgreSQL use pg_dump")
    if not path.exists():
        raise StoreError(f"no database at {path}")
    if target.exists():
        raise StoreError(f"{target} already exists; name a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(_connect(path)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
            count = copy.execute("SELECT count(*) FROM sessions").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        target.unlink(missing_ok=True)
        raise StoreError(f"cannot back up {path}: {exc}") from exc
    problem = quick_check(target)
    if problem is not None:
        raise StoreError(f"the copy {target} fails its check ({problem}); the database "
                         f"{path} may be damaged")
    return int(count)
