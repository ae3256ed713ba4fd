"""Indexes for the report's and the gates' counts at a province's scale.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Each count the report makes is one pass over an index that holds every
column it reads, never over the table (issue 11, benchmark 1):

- by definition and state, for the plan's deliverables and those tied to
  none: ``(definition_sha, state, plan_id)``;
- by owner (then unit), all and complete: ``(owner_id, definition_sha, state,
  plan_id)``;
- a campaign's own deliverables of one type, by id — a gate line of ``phase
  status``, the phases' counts: ``(plan_id, type_id)`` (its rows stay in id
  order, so listing what a gate lacks needs no sort);
- a rectification item by the person responsible for it: a member's inbox.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

INDEXES = (
    ("ix_deliverable_sha_state_plan", ["definition_sha", "state", "plan_id"]),
    ("ix_deliverable_owner_tally", ["owner_id", "definition_sha", "state", "plan_id"]),
    ("ix_deliverable_plan_type", ["plan_id", "type_id"]),
)


RESPONSIBLE = "ix_rectification_responsible_id"


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "deliverable", columns)
    op.create_index(RESPONSIBLE, "rectification", ["responsible_id"])


def downgrade() -> None:
    op.drop_index(RESPONSIBLE, "rectification")
    for name, _ in INDEXES:
        op.drop_index(name, "deliverable")
