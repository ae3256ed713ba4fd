"""Indexes for the reads answered in SQL, and an append-only audit log on servers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

- The inbox joins deliverables with the permission table on (definition,
  state); state counts group by (type, state); ``list --overdue`` ranges over
  the due date.
- SQLite has had triggers refusing UPDATE and DELETE on ``audit_event`` since
  0001; a server database gets the same refusal (and of TRUNCATE) here.  The
  hash chain still catches whoever drops them.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

INDEXES = (
    ("ix_deliverable_type_state", ["type_id", "state"]),
    ("ix_deliverable_definition_state", ["definition_sha", "state"]),
    ("ix_deliverable_due", ["due", "id"]),
)

_REFUSE = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END $$
"""
_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "deliverable", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_REFUSE)
        for statement in _TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("no_update", "no_delete", "no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_{trigger} ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    for name, _ in INDEXES:
        op.drop_index(name, "deliverable")
