"""The read-only views the API hands out.

Views are frozen pydantic models so that callers (the CLI, tests, other
programs) cannot mutate engine state by accident and can dump them straight
to JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class UserView(View):
    id: str
    name: str
    unit: str | None
    roles: tuple[str, ...]
    active: bool = True


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
    plan_id: str | None = None
    phase: str | None = None
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
    detail: str | None = None
    sealed: str | None = None
    channel: str | None = None
    os_user: str | None = None
    host: str | None = None
    #: The chain it links into and its place there (None before chains: the global one).
    chain: str | None = None
    chain_seq: int | None = None
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
    channel: str | None = None
    os_user: str | None = None
    host: str | None = None


class EventRecordView(View):
    id: int
    kind: str
    held_on: date
    days: float
    person: str | None
    theme: str | None
    supervisors_invited: bool
    attendees: tuple[str, ...]
    minutes: str
    recorded_by: str
    #: Parties the record lists as invited (besides the supervisors' flag).
    invited: tuple[str, ...] = ()
    #: Who opened it (作动员报告, 带头查摆).
    opened_by: str | None = None
    #: What it states it covered (通报民主生活会情况, 督导组组长点评).
    covered: tuple[str, ...] = ()
    #: Whom it names as falling short (抽查抽考不达标者).
    short: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


class TalkView(View):
    id: int
    first: str
    second: str
    held_on: date
    notes: str
    first_confirmed_at: str | None
    second_confirmed_at: str | None

    @property
    def confirmed(self) -> bool:
        return bool(self.first_confirmed_at and self.second_confirmed_at)


class TargetView(View):
    id: str
    label: str
    unit: str
    goal: float
    done: float
    entries: int
    responsible: tuple[str, ...]

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.goal, 1)


class OpinionView(View):
    id: int
    deliverable_id: int
    revision_number: int | None
    revision_sha: str | None
    line: int | None
    author: str
    text: str
    at: str
    event_seq: int | None


class AttachmentView(View):
    id: int
    deliverable_id: int
    name: str
    sha256: str
    size: int
    media_type: str
    author: str
    at: str


class WindowView(View):
    deliverable_id: int
    opened_on: date
    closes_on: date
    closed_at: str | None
    outcome: str | None


class RectificationView(View):
    deliverable_id: int
    matter: str
    measures: str
    responsible: str
    deadline: date
    effect: str
    rating: str | None
    rated_by: str | None
    rated_at: str | None
    notes: tuple[str, ...] = ()
