"""Engines and migrations: SQLite in the data folder by default, PostgreSQL by URL.

Why Alembic rather than a home-made runner: the schema will keep changing
(new score fields, new tables), and Alembic already solves the parts that are
easy to get wrong by hand: a version table both databases agree on, a linear
history that refuses to skip a step, SQLite's missing ALTER TABLE (batch mode
copies the table) and PostgreSQL's transactional DDL (a failed migration leaves
nothing half done). It runs in-process on the store's own connection at
start-up, so nobody ever runs a migration command or wipes a database; the
scripts live in `server/store/migrations/versions/`, one file per revision.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger("viva.store")
# Alembic narrates every start-up at INFO ("Context impl", plugin set-up); `migrate`
# logs the one line that matters, a schema that actually changed.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_FILE = "viva.sqlite3"


class StoreError(RuntimeError):
    """A database that cannot be opened or migrated; the message says which and why."""


def database_url(database_url: str | None, data_dir: Path) -> URL:
    """The async URL to open: `VIVA_DATABASE_URL` if set, else SQLite in the data folder.

    Plain `postgresql://` and `sqlite:///` URLs (what people paste) get the async
    drivers viva ships with: asyncpg and aiosqlite.
    """
    if not database_url:
        return make_url(f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE).resolve()}")
    url = make_url(database_url.replace("postgres://", "postgresql://", 1)
                   if database_url.startswith("postgres://") else database_url)
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    elif url.get_backend_name() == "sqlite" and url.get_driver_name() != "aiosqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif url.get_backend_name() not in ("postgresql", "sqlite"):
        raise StoreError(f"unsupported database {url.get_backend_name()!r} in "
                         "VIVA_DATABASE_URL: use postgresql://... or sqlite:///...")
    return url


def create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL: readers never block the writer. synchronous=NORMAL in WAL mode keeps
    # every committed turn across a killed process (only a power cut may lose the
    # last commits). Foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                   "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=30000"):
        cursor.execute(pragma)
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def migrate(connection: AsyncConnection, target: str = "head") -> tuple[str | None, str]:
    """Bring the schema to `target` (head by default); returns (before, after)."""

    def run(sync: Connection) -> tuple[str | None, str]:
        before = current_revision(sync)
        command.upgrade(_alembic_config(sync), target)
        after = current_revision(sync)
        assert after is not None
        return before, after

    before, after = await connection.run_sync(run)
    if before != after:
        log.info("store schema migrated from %s to %s", before or "nothing", after)
    return before, after
