"""Alembic environment: always called by `server.store.db.migrate` with a live connection.

No `alembic.ini` and no URL here: the store hands over the connection it already
opened (SQLite or PostgreSQL), so migrations run wherever the store runs.
"""

from __future__ import annotations

from alembic import context

from server.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("viva migrations run through server.store.db.migrate(), not the "
                       "alembic command line")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
