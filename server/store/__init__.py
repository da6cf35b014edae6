"""Persistence: sessions, questions asked, every turn and its audio.

SQLite in the data folder by default (`{data_dir}/viva.sqlite3`), PostgreSQL when
`VIVA_DATABASE_URL` is set; recordings are WAV files under `{data_dir}/audio/`.
The schema is migrated at start-up (see `db.py` for why Alembic).
"""

from __future__ import annotations

from server.config import Settings
from server.store.db import StoreError, create_engine, database_url
from server.store.store import SessionStore, hash_token

__all__ = ["SessionStore", "StoreError", "hash_token", "open_store"]


def open_store(settings: Settings) -> SessionStore:
    """Build the store for these settings; call `await store.init()` before use."""
    url = database_url(settings.database_url, settings.data_dir)
    return SessionStore(create_engine(url), settings.data_dir)
