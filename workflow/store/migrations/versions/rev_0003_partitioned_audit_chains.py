"""The audit log as several chains: one per owner's unit, and a global one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

- ``audit_event.chain`` and ``chain_seq``: the chain an event links into and
  its place there (see workflow.store.chains).  Events already written keep
  both NULL and stay what they were: the start of the global chain, each at
  its ``seq``, hashed without the two fields, so every old hash still holds.
- A unique index on (chain, chain_seq): a chain's head is one index probe,
  and two events can never take the same place in one chain.
- On a server, the sequence ``audit_event_seq`` hands out ``seq`` without a
  global lock, starting after the last event already written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

SEQUENCE = "audit_event_seq"


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("chain", sa.String(), nullable=True))
    op.add_column("audit_event", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.create_index("ux_audit_event_chain", "audit_event", ["chain", "chain_seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE {SEQUENCE} AS bigint MINVALUE 1")
        op.execute(f"SELECT setval('{SEQUENCE}', coalesce(max(seq), 0) + 1, false) "
                   "FROM audit_event")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
    op.drop_index("ux_audit_event_chain", "audit_event")
    op.drop_column("audit_event", "chain_seq")
    op.drop_column("audit_event", "chain")
