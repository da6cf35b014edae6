"""Alembic migration scripts of the store; run by `server.store.db.migrate`, never by hand."""
