"""Ids and sequence numbers as 64-bit integers on a server.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

SQLite's INTEGER is 64-bit already, so this changes nothing there.  On
PostgreSQL the ids were ``integer`` (32-bit): a lookup of an id beyond
2**31-1 — which the command line and the JSON API accept, as SQLite does —
failed with "integer out of range" instead of finding nothing, and a
campaign would have run out of ids at two billion.  Every id, every
reference to one and every sequence number becomes ``bigint``, and the
sequences that number the ids with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

#: Table → its 64-bit columns; the first of a table's numbered by a sequence is ``id``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "deliverable": ("id",),
    "revision": ("id", "deliverable_id"),
    "audit_event": ("seq", "deliverable_id", "chain_seq"),
    "access_refusal": ("id", "deliverable_id"),
    "event_record": ("id",),
    "talk": ("id",),
    "target_entry": ("id",),
    "opinion": ("id", "deliverable_id", "event_seq"),
    "attachment": ("id", "deliverable_id"),
    "publicity_window": ("id", "deliverable_id"),
    "rectification": ("deliverable_id",),
    "progress_note": ("id", "deliverable_id"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} TYPE bigint" for column in columns))
        if "id" in columns:
            _sequence_as(table, "bigint")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        if "id" in columns:
            _sequence_as(table, "integer")
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} TYPE integer" for column in columns))


def _sequence_as(table: str, kind: str) -> None:
    """The sequence that numbers ``table.id``, if one does (the audit log's
    ids are written by the engine, not numbered by the server)."""
    name = op.get_bind().execute(
        sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}).scalar()
    if name is not None:
        op.execute(f"ALTER SEQUENCE {name} AS {kind}")
