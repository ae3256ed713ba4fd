"""What an event record states beyond its date: who was invited, who opened
it, what it covered, who fell short.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

One nullable JSON text column, ``event_record.facts``.  A record without
facts keeps NULL there, and the seal leaves a NULL ``facts`` out of the row's
digest (:data:`workflow.store.seals.OPTIONAL`), so every record sealed before
this revision still verifies.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_record") as batch:
        batch.add_column(sa.Column("facts", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_record") as batch:
        batch.drop_column("facts")
