"""The schema of release 0.1 (SCHEMA_VERSION 2), exactly as ``create_all`` made it.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Frozen: a migration never imports the models (they describe the newest
schema, this describes 0.1's), so it uses plain SQLAlchemy types.  A
database made before migrations existed holds exactly this and is stamped
0001 without running it (see workflow.store.migrate).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

#: The pre-Alembic version marker this schema carried (schema.SCHEMA_VERSION).
MARKER = 2

# SQLite cannot refuse an UPDATE/DELETE by permission, so triggers make the
# audit log append-only for every client (as schema._APPEND_ONLY did in 0.1).
APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


#: Every table, in creation order (a table after those it refers to).
TABLES = (
    "access_refusal",
    "app_user",
    "attachment_blob",
    "audit_event",
    "plan_run",
    "workflow_definition",
    "deliverable",
    "event_record",
    "talk",
    "target_entry",
    "user_role",
    "attachment",
    "opinion",
    "progress_note",
    "publicity_window",
    "rectification",
    "revision",
)


def upgrade() -> None:
    _tables()
    if op.get_bind().dialect.name == "sqlite":
        for statement in APPEND_ONLY:
            op.execute(statement)
        # Part of the transaction: a failed init leaves no marker behind.
        op.execute(f"PRAGMA user_version = {MARKER:d}")
    else:
        # Elsewhere the marker is a one-row table of its own.
        meta = op.create_table("schema_meta", sa.Column("version", sa.Integer(), nullable=False))
        op.bulk_insert(meta, [{"version": MARKER}])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 0")
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb}")
    else:
        op.drop_table("schema_meta")
    for name in reversed(TABLES):  # dependents first; their indexes go with them
        op.drop_table(name)


def _tables() -> None:
    op.create_table("access_refusal",
    sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("at", sa.String(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=True),
    sa.Column("reason", sa.String(), nullable=False),
    sa.Column("channel", sa.String(), nullable=True),
    sa.Column("os_user", sa.String(), nullable=True),
    sa.Column("host", sa.String(), nullable=True),
    sa.Column("prev_hash", sa.String(), nullable=False),
    sa.Column("hash", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("app_user",
    sa.Column("id", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("unit", sa.String(), nullable=True),
    sa.Column("created_at", sa.String(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("attachment_blob",
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint("sha256")
    )
    op.create_table("audit_event",
    sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("at", sa.String(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("role", sa.String(), nullable=True),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=True),
    sa.Column("trigger", sa.String(), nullable=True),
    sa.Column("source", sa.String(), nullable=True),
    sa.Column("dest", sa.String(), nullable=True),
    sa.Column("comment", sa.String(), nullable=True),
    sa.Column("revision", sa.String(), nullable=True),
    sa.Column("detail", sa.String(), nullable=True),
    sa.Column("sealed", sa.String(), nullable=True),
    sa.Column("channel", sa.String(), nullable=True),
    sa.Column("os_user", sa.String(), nullable=True),
    sa.Column("host", sa.String(), nullable=True),
    sa.Column("prev_hash", sa.String(), nullable=False),
    sa.Column("hash", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("seq"),
    sa.UniqueConstraint("hash")
    )
    _index("audit_event", "deliverable_id")
    op.create_table("plan_run",
    sa.Column("id", sa.String(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("file", sa.String(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("phase", sa.String(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("started_at", sa.String(), nullable=False),
    sa.Column("updated_at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id")
    )
    op.create_table("workflow_definition",
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("type_id", sa.String(), nullable=False),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("file", sa.String(), nullable=False),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("loaded_at", sa.String(), nullable=False),
    sa.Column("current", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("sha256")
    )
    _index("workflow_definition", "current")
    _index("workflow_definition", "type_id")
    op.create_table("deliverable",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("type_id", sa.String(), nullable=False),
    sa.Column("definition_sha", sa.String(), nullable=False),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("owner_id", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("due", sa.Date(), nullable=True),
    sa.Column("plan_id", sa.String(), nullable=True),
    sa.Column("phase", sa.String(), nullable=True),
    sa.Column("created_at", sa.String(), nullable=False),
    sa.Column("updated_at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["definition_sha"], ["workflow_definition.sha256"]),
    sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"]),
    sa.ForeignKeyConstraint(["plan_id"], ["plan_run.id"])
    )
    _index("deliverable", "owner_id")
    _index("deliverable", "plan_id")
    _index("deliverable", "state")
    _index("deliverable", "type_id")
    op.create_table("event_record",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("plan_id", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("held_on", sa.Date(), nullable=False),
    sa.Column("days", sa.Float(), nullable=False),
    sa.Column("person", sa.String(), nullable=True),
    sa.Column("theme", sa.String(), nullable=True),
    sa.Column("supervisors_invited", sa.Boolean(), nullable=False),
    sa.Column("attendees", sa.String(), nullable=False),
    sa.Column("minutes", sa.String(), nullable=False),
    sa.Column("recorded_by", sa.String(), nullable=False),
    sa.Column("recorded_at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["plan_id"], ["plan_run.id"]),
    sa.ForeignKeyConstraint(["person"], ["app_user.id"]),
    sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"])
    )
    _index("event_record", "plan_id")
    op.create_table("talk",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("plan_id", sa.String(), nullable=False),
    sa.Column("first", sa.String(), nullable=False),
    sa.Column("second", sa.String(), nullable=False),
    sa.Column("held_on", sa.Date(), nullable=False),
    sa.Column("notes", sa.String(), nullable=False),
    sa.Column("first_confirmed_at", sa.String(), nullable=True),
    sa.Column("second_confirmed_at", sa.String(), nullable=True),
    sa.Column("recorded_by", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("plan_id", "first", "second"),
    sa.ForeignKeyConstraint(["plan_id"], ["plan_run.id"]),
    sa.ForeignKeyConstraint(["first"], ["app_user.id"]),
    sa.ForeignKeyConstraint(["second"], ["app_user.id"]),
    sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"])
    )
    _index("talk", "plan_id")
    op.create_table("target_entry",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("plan_id", sa.String(), nullable=False),
    sa.Column("target_id", sa.String(), nullable=False),
    sa.Column("amount", sa.Float(), nullable=False),
    sa.Column("note", sa.String(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["plan_id"], ["plan_run.id"]),
    sa.ForeignKeyConstraint(["actor"], ["app_user.id"])
    )
    _index("target_entry", "plan_id")
    _index("target_entry", "target_id")
    op.create_table("user_role",
    sa.Column("user_id", sa.String(), nullable=False),
    sa.Column("role", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("user_id", "role"),
    sa.ForeignKeyConstraint(["user_id"], ["app_user.id"])
    )
    op.create_table("attachment",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("media_type", sa.String(), nullable=False),
    sa.Column("author_id", sa.String(), nullable=False),
    sa.Column("at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("deliverable_id", "name"),
    sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"]),
    sa.ForeignKeyConstraint(["author_id"], ["app_user.id"])
    )
    _index("attachment", "deliverable_id")
    _index("attachment", "sha256")
    op.create_table("opinion",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=False),
    sa.Column("revision_number", sa.Integer(), nullable=True),
    sa.Column("revision_sha", sa.String(), nullable=True),
    sa.Column("line", sa.Integer(), nullable=True),
    sa.Column("author_id", sa.String(), nullable=False),
    sa.Column("text", sa.String(), nullable=False),
    sa.Column("at", sa.String(), nullable=False),
    sa.Column("event_seq", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"]),
    sa.ForeignKeyConstraint(["author_id"], ["app_user.id"])
    )
    _index("opinion", "deliverable_id")
    op.create_table("progress_note",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=False),
    sa.Column("author_id", sa.String(), nullable=False),
    sa.Column("text", sa.String(), nullable=False),
    sa.Column("at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"]),
    sa.ForeignKeyConstraint(["author_id"], ["app_user.id"])
    )
    _index("progress_note", "deliverable_id")
    op.create_table("publicity_window",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=False),
    sa.Column("opened_on", sa.Date(), nullable=False),
    sa.Column("closes_on", sa.Date(), nullable=False),
    sa.Column("closed_at", sa.String(), nullable=True),
    sa.Column("outcome", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"])
    )
    _index("publicity_window", "deliverable_id")
    op.create_table("rectification",
    sa.Column("deliverable_id", sa.Integer(), nullable=False),
    sa.Column("matter", sa.String(), nullable=False),
    sa.Column("measures", sa.String(), nullable=False),
    sa.Column("responsible_id", sa.String(), nullable=False),
    sa.Column("deadline", sa.Date(), nullable=False),
    sa.Column("effect", sa.String(), nullable=False),
    sa.Column("rating", sa.String(), nullable=True),
    sa.Column("rated_by", sa.String(), nullable=True),
    sa.Column("rated_at", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("deliverable_id"),
    sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"]),
    sa.ForeignKeyConstraint(["responsible_id"], ["app_user.id"])
    )
    op.create_table("revision",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("deliverable_id", sa.Integer(), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("filename", sa.String(), nullable=False),
    sa.Column("media_type", sa.String(), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("content", sa.LargeBinary(), nullable=False),
    sa.Column("author_id", sa.String(), nullable=False),
    sa.Column("created_at", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("deliverable_id", "number"),
    sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"]),
    sa.ForeignKeyConstraint(["author_id"], ["app_user.id"])
    )
    _index("revision", "deliverable_id")


def _index(table: str, column: str) -> None:
    """The index ``index=True`` gives a model's column: named as SQLModel names it."""
    op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
