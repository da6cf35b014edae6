"""A turn's overall score as a column, filled from its score JSON; sessions by date.

Listing sessions with their averages then reads one float per turn instead of
every score document. Existing rows are backfilled, so an older database keeps
all its history.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("overall", sa.Float, nullable=True))
    op.create_index("ix_sessions_created_at", "sessions", ["created_at"])

    # The table as it is at this revision (not the app's current schema).
    turns = sa.table("turns", sa.column("id", sa.Integer), sa.column("score", sa.JSON),
                     sa.column("overall", sa.Float))
    bind = op.get_bind()
    rows = bind.execute(sa.select(turns.c.id, turns.c.score).where(turns.c.score.is_not(None)))
    for turn_id, score in rows.all():
        if isinstance(score, str):  # JSON read back as text by an older driver
            score = json.loads(score)
        overall = score.get("overall") if isinstance(score, dict) else None
        if isinstance(overall, int | float):
            bind.execute(sa.update(turns).where(turns.c.id == turn_id)
                         .values(overall=float(overall)))


def downgrade() -> None:
    op.drop_index("ix_sessions_created_at", table_name="sessions")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("overall")
