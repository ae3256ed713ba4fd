"""Every table of the database, as SQLModel classes (the views the API hands
out are :mod:`workflow.store.views`).

Rows never drive the state machine: a service reads a row, asks the machine
built from the row's definition, and writes the answer back.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

#: Ids and sequence numbers: 64-bit everywhere (migration 0006).  SQLite's
#: INTEGER already is, and must stay spelled INTEGER for a primary key to be
#: the rowid (and so number itself).
ID = BigInteger().with_variant(Integer(), "sqlite")


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
    #: A deactivated user keeps their history but may no longer act.
    active: bool = True


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"

    user_id: str = Field(foreign_key="app_user.id", primary_key=True)
    role: str = Field(primary_key=True)


class Deliverable(SQLModel, table=True):
    # For the reads answered in SQL: the inbox's join with the permission table,
    # state counts, and the overdue range (migration 0002); the report's counts
    # by definition and state and by owner, and a campaign's deliverables of a
    # type (migration 0004).
    __table_args__ = (
        Index("ix_deliverable_type_state", "type_id", "state"),
        Index("ix_deliverable_definition_state", "definition_sha", "state"),
        Index("ix_deliverable_due", "due", "id"),
        Index("ix_deliverable_sha_state_plan", "definition_sha", "state", "plan_id"),
        Index("ix_deliverable_owner_tally", "owner_id", "definition_sha", "state", "plan_id"),
        Index("ix_deliverable_plan_type", "plan_id", "type_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    type_id: str = Field(index=True)
    definition_sha: str = Field(foreign_key="workflow_definition.sha256")
    title: str
    owner_id: str = Field(foreign_key="app_user.id", index=True)
    state: str = Field(index=True)
    #: Number of audit events that changed this deliverable (remarks do not); the
    #: optimistic lock.
    version: int = 0
    due: date | None = None
    #: The campaign that requires it, and the phase it belongs to (if any).
    plan_id: str | None = Field(default=None, foreign_key="plan_run.id", index=True)
    phase: str | None = None
    created_at: str
    updated_at: str


class Revision(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("deliverable_id", "number"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    deliverable_id: int = Field(foreign_key="deliverable.id", index=True, sa_type=ID)
    number: int
    sha256: str
    filename: str
    media_type: str
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    author_id: str = Field(foreign_key="app_user.id")
    created_at: str


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained; see :mod:`workflow.store.audit`."""

    __tablename__ = "audit_event"
    # A chain's head is its highest chain_seq: every write reads it (migration 0003).
    __table_args__ = (
        Index("ux_audit_event_chain", "chain", "chain_seq", unique=True),
    )

    #: The log's order across chains (gaps are allowed: a server hands it out
    #: from a sequence that a rolled-back write does not give back).
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False}, sa_type=ID)
    at: str
    actor: str
    role: str | None = None
    action: str
    deliverable_id: int | None = Field(default=None, index=True, sa_type=ID)
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    comment: str | None = None
    revision: str | None = None
    detail: str | None = None
    #: The rows this event wrote, as ``{"table:key": sha256 or null}``
    #: (see :mod:`workflow.store.seals`).
    sealed: str | None = None
    #: Who typed it: the channel (``cli``, ``api``), the operating-system account and host.
    channel: str | None = None
    os_user: str | None = None
    host: str | None = None
    #: The chain the event links into (``global``, or ``unit:<owner's unit>``)
    #: and its place there; both NULL on events written before chains were
    #: partitioned, which belong to the global chain at ``seq``.
    chain: str | None = None
    chain_seq: int | None = Field(default=None, sa_type=ID)
    prev_hash: str
    hash: str = Field(unique=True)


class AccessRefusal(SQLModel, table=True):
    """Refused attempts; kept apart so a refusal never touches the audit chain.

    They form a hash chain of their own, and every audit event records its
    head, so a deleted refusal shows (see :mod:`workflow.store.seals`)."""

    __tablename__ = "access_refusal"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False}, sa_type=ID)
    at: str
    actor: str
    action: str
    deliverable_id: int | None = Field(default=None, sa_type=ID)
    reason: str
    channel: str | None = None
    os_user: str | None = None
    host: str | None = None
    prev_hash: str
    hash: str


class PlanRun(SQLModel, table=True):
    """A campaign being run: its plan (kept verbatim) and its current phase."""

    __tablename__ = "plan_run"

    id: str = Field(primary_key=True)
    sha256: str
    file: str
    source: str
    phase: str
    version: int = 1
    started_at: str
    updated_at: str


class EventRecord(SQLModel, table=True):
    """A meeting, study session or field trip the plan requires."""

    __tablename__ = "event_record"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    plan_id: str = Field(foreign_key="plan_run.id", index=True)
    kind: str
    held_on: date
    days: float
    #: Whose event it is when the plan wants one per person (a leader's trip, a branch's meeting).
    person: str | None = Field(default=None, foreign_key="app_user.id")
    theme: str | None = None
    supervisors_invited: bool = False
    attendees: str = "[]"
    minutes: str = ""
    recorded_by: str = Field(foreign_key="app_user.id")
    recorded_at: str
    #: What the record states beyond its date, as JSON (``invited``, ``opened_by``,
    #: ``covered``, ``short``); NULL when it states none (migration 0007).
    facts: str | None = None


class Talk(SQLModel, table=True):
    """A heart-to-heart talk between two team members, confirmed by both."""

    __table_args__ = (UniqueConstraint("plan_id", "first", "second"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    plan_id: str = Field(foreign_key="plan_run.id", index=True)
    first: str = Field(foreign_key="app_user.id")
    second: str = Field(foreign_key="app_user.id")
    held_on: date
    notes: str = ""
    first_confirmed_at: str | None = None
    second_confirmed_at: str | None = None
    recorded_by: str = Field(foreign_key="app_user.id")


class TargetEntry(SQLModel, table=True):
    """Progress towards a target: entries are added, never edited."""

    __tablename__ = "target_entry"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    plan_id: str = Field(foreign_key="plan_run.id", index=True)
    target_id: str = Field(index=True)
    amount: float
    note: str
    actor: str = Field(foreign_key="app_user.id")
    at: str


# -- documents: opinions, attachments, publicity, rectification ---------------------


class Opinion(SQLModel, table=True):
    """A review opinion (审核意见) on a revision, optionally on one line of it."""

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    deliverable_id: int = Field(foreign_key="deliverable.id", index=True, sa_type=ID)
    revision_number: int | None = None
    revision_sha: str | None = None
    line: int | None = None
    author_id: str = Field(foreign_key="app_user.id")
    text: str
    at: str
    #: The audit event of the return or rejection this opinion gives the reason of.
    event_seq: int | None = Field(default=None, sa_type=ID)


class Attachment(SQLModel, table=True):
    """A file kept content-addressed in the attachment store, named per deliverable."""

    __table_args__ = (UniqueConstraint("deliverable_id", "name"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    deliverable_id: int = Field(foreign_key="deliverable.id", index=True, sa_type=ID)
    name: str
    sha256: str = Field(index=True)
    size: int
    media_type: str
    author_id: str = Field(foreign_key="app_user.id")
    at: str


class AttachmentBlob(SQLModel, table=True):
    """Attachment bytes, by sha256, for databases without a store directory."""

    __tablename__ = "attachment_blob"

    sha256: str = Field(primary_key=True)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PublicityWindow(SQLModel, table=True):
    """The days a deliverable stays public (公示期), and how the window ended."""

    __tablename__ = "publicity_window"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    deliverable_id: int = Field(foreign_key="deliverable.id", index=True, sa_type=ID)
    opened_on: date
    closes_on: date
    closed_at: str | None = None
    outcome: str | None = None  # "objection" or "ended"


class Rectification(SQLModel, table=True):
    """The five fields of a rectification item (整改事项、措施、责任、时限、效果)
    and the office's rating of its effect."""

    deliverable_id: int = Field(foreign_key="deliverable.id", primary_key=True, sa_type=ID)
    matter: str
    measures: str
    #: Indexed: a member's inbox holds the items they answer for (migration 0004).
    responsible_id: str = Field(foreign_key="app_user.id", index=True)
    deadline: date
    effect: str
    rating: str | None = None
    rated_by: str | None = None
    rated_at: str | None = None


class ProgressNote(SQLModel, table=True):
    __tablename__ = "progress_note"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    deliverable_id: int = Field(foreign_key="deliverable.id", index=True, sa_type=ID)
    author_id: str = Field(foreign_key="app_user.id")
    text: str
    at: str
