"""SQLModel tables, and the read-only views the API hands out.

Rows never drive the state machine: the service reads a row, asks the machine
built from the row's definition, and writes the answer back.  Views are frozen
pydantic models so that callers (the CLI, tests, other programs) cannot mutate
engine state by accident and can dump them straight to JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class WorkflowDefinition(SQLModel, table=True):
    """A definition as loaded; kept forever so old deliverables keep their rules."""

    __tablename__ = "workflow_definition"

    sha256: str = Field(primary_key=True)
    type_id: str = Field(index=True)
    title: str
    file: str
    source: str
    loaded_at: str
    current: bool = Field(default=True, index=True)


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: str = Field(primary_key=True)
    name: str
    unit: str | None = None
    created_at: str


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"

    user_id: str = Field(foreign_key="app_user.id", primary_key=True)
    role: str = Field(primary_key=True)


class Deliverable(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    type_id: str = Field(index=True)
    definition_sha: str = Field(foreign_key="workflow_definition.sha256")
    title: str
    owner_id: str = Field(foreign_key="app_user.id", index=True)
    state: str = Field(index=True)
    #: Number of audit events about this deliverable; the optimistic lock.
    version: int = 0
    due: date | None = None
    created_at: str
    updated_at: str


class Revision(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("deliverable_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    deliverable_id: int = Field(foreign_key="deliverable.id", index=True)
    number: int
    sha256: str
    filename: str
    media_type: str
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    author_id: str = Field(foreign_key="app_user.id")
    created_at: str


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained; see :mod:`workflow.audit`."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str
    actor: str
    role: str | None = None
    action: str
    deliverable_id: int | None = Field(default=None, index=True)
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    comment: str | None = None
    revision: str | None = None
    detail: str | None = None
    prev_hash: str
    hash: str = Field(unique=True)


class AccessRefusal(SQLModel, table=True):
    """Refused attempts; kept apart so a refusal never touches the audit chain."""

    __tablename__ = "access_refusal"

    id: int | None = Field(default=None, primary_key=True)
    at: str
    actor: str
    action: str
    deliverable_id: int | None = None
    reason: str


# -- views ------------------------------------------------------------------


class View(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class UserView(View):
    id: str
    name: str
    unit: str | None
    roles: tuple[str, ...]


class RevisionView(View):
    number: int
    sha256: str
    filename: str
    media_type: str
    size: int
    author: str
    at: str


class DeliverableView(View):
    id: int
    type: str
    definition_sha256: str
    title: str
    owner: str
    state: str
    state_label: str
    final: bool
    version: int
    due: date | None
    created_at: str
    updated_at: str
    revision: RevisionView | None = None


class EventView(View):
    seq: int
    at: str
    actor: str
    role: str | None
    action: str
    deliverable_id: int | None
    trigger: str | None
    source: str | None
    dest: str | None
    comment: str | None
    revision: str | None
    prev_hash: str
    hash: str


class InboxItem(View):
    deliverable: DeliverableView
    triggers: tuple[str, ...]


class RefusalView(View):
    id: int
    at: str
    actor: str
    action: str
    deliverable_id: int | None
    reason: str
