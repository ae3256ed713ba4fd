"""The base of every write: the clock, the write transaction, the row writers.

:class:`workflow.campaign.Campaign` (deliverables) and
:class:`workflow.services.plan.PlanOps` (the campaign plan) build on this, so
both write users, deliverables, revisions and audit events the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, bindparam
from sqlmodel import Session

from workflow.errors import Conflict, InvalidInput, PermissionDenied
from workflow.machine import policy
from workflow.services.reads import Queries
from workflow.spec.content import Content
from workflow.spec.definition import KNOWN_ROLES, WorkflowSpec
from workflow.store import audit, database, seals
from workflow.store.models import AccessRefusal, Deliverable, Revision, User, UserRole
from workflow.store.origin import Origin, detect

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]
_MOVE = (
    _DELIVERABLES.update()
    .where(_DELIVERABLES.c.id == bindparam("b_id"),
           _DELIVERABLES.c.version == bindparam("b_version"))
    .values(state=bindparam("b_state"), version=bindparam("b_next"),
            updated_at=bindparam("b_at"))
)


def campaign_zone() -> ZoneInfo:
    name = os.environ.get("CAMPAIGN_TZ", "Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"CAMPAIGN_TZ={name!r} is not a time zone") from None


class WriteBase(Queries):
    """Writes take their time from ``clock`` — the real one, or a simulated
    calendar given through the API (the demo's) — never from a caller's word."""

    def __init__(
        self, engine: Engine, clock: Clock = utc_now, origin: Origin | None = None
    ) -> None:
        super().__init__(engine)
        self.clock = clock
        self.origin = origin or detect()

    def _now(self) -> str:
        return timestamp(self.clock())

    def today(self) -> date:
        """The calendar day where the campaign runs (``CAMPAIGN_TZ``, default Asia/Shanghai)."""
        return self.clock().astimezone(campaign_zone()).date()

    def require_today(self, day: date) -> None:
        """Refuse a write that claims to happen on any day but today."""
        if day != self.today():
            raise InvalidInput(
                f"{day} is not today ({self.today()}): a write happens today; --today moves "
                "only reads and reports")

    def _as_of(self, day: date | None) -> date:
        """The day a write judges windows by: today, or an earlier day a
        caller names (which can only do less); never a day still to come."""
        today = self.today()
        if day is None:
            return today
        if day > today:
            raise InvalidInput(
                f"{day} is later than today ({today}): a write happens today; --today "
                "moves only reads and reports")
        return day

    def _insert_user(
        self, session: Session, actor: str, role: str | None, user_id: str, name: str,
        roles: tuple[str, ...], unit: str | None,
    ) -> None:
        policy.check_user_id(user_id)
        check_roles(roles)
        name = " ".join(name.split())
        if not name:
            raise InvalidInput(f"user {user_id} needs a name (--name)")
        if session.get(User, user_id) is not None:
            raise InvalidInput(f"user {user_id!r} already exists")
        session.add(User(id=user_id, name=name, unit=unit, created_at=self._now()))
        session.add_all(UserRole(user_id=user_id, role=r) for r in roles)
        session.flush()
        connection = session.connection()
        audit.append(
            session, at=self._now(), actor=actor, role=role, action="user.add",
            detail=detail({"user": user_id, "name": name, "roles": list(roles), "unit": unit}),
            seals=[seals.seal(connection, "app_user", user_id),
                   *(seals.seal(connection, "user_role", user_id, r) for r in roles)],
        )

    def _insert_deliverable(
        self, session: Session, who: policy.Actor, role: str, owner: str, spec: WorkflowSpec,
        definition_sha: str, title: str, *, due: date | None = None,
        content: Content | None = None, plan_id: str | None = None, phase: str | None = None,
    ) -> int:
        if not title.strip():
            raise InvalidInput("a deliverable needs a title")
        now = self._now()
        item = Deliverable(
            type_id=spec.id, definition_sha=definition_sha, title=title.strip(),
            owner_id=owner, state=spec.initial, version=1, due=due, plan_id=plan_id,
            phase=phase, created_at=now, updated_at=now,
        )
        session.add(item)
        session.flush()
        assert item.id is not None
        written = [seals.seal(session.connection(), "deliverable", item.id)]
        sha = None
        if content:
            sha, revision_seal = self._add_revision(session, item.id, 1, content, who.id)
            written.append(revision_seal)
        audit.append(
            session, at=now, actor=who.id, role=role, action="create",
            deliverable_id=item.id, dest=spec.initial, revision=sha,
            detail=detail({"type": spec.id, "title": item.title, "owner": owner,
                           "due": due.isoformat() if due else None, "plan": plan_id}),
            seals=written,
        )
        return item.id

    def _bump(
        self, session: Session | Connection, deliverable_id: int, version: int, state: str
    ) -> None:
        """Compare-and-set on the version: the optimistic lock that also holds
        on databases without BEGIN IMMEDIATE."""
        result = database.as_connection(session).execute(_MOVE, {
            "b_id": deliverable_id, "b_version": version, "b_state": state,
            "b_next": version + 1, "b_at": self._now(),
        })
        if result.rowcount != 1:
            raise Conflict(deliverable_id, version, version + 1)

    def _add_revision(
        self, session: Session, deliverable_id: int, number: int, content: Content, author: str
    ) -> tuple[str, seals.Seal]:
        """Store a revision; returns its sha256 and its seal for the audit event."""
        row = Revision(
            deliverable_id=deliverable_id, number=number, sha256=content.sha256,
            filename=content.filename, media_type=content.media_type, size=len(content.data),
            content=content.data, author_id=author, created_at=self._now(),
        )
        session.add(row)
        session.flush()
        return content.sha256, seals.seal(session.connection(), "revision", row.id)

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A write transaction; a permission refusal inside it is rolled back
        and then noted in the access log."""
        with self._noting_refusals(), database.write_transaction(self.engine) as session:
            session.connection().info[audit.ORIGIN] = self.origin
            yield session

    @contextmanager
    def _writing_core(self) -> Iterator[Connection]:
        """The same, on a bare connection: moves need no ORM objects."""
        with self._noting_refusals(), database.write_connection(self.engine) as connection:
            connection.info[audit.ORIGIN] = self.origin
            yield connection

    @contextmanager
    def _noting_refusals(self) -> Iterator[None]:
        self._require_schema()
        try:
            yield
        except PermissionDenied as refusal:
            self._note_refusal(refusal)
            raise

    def _note_refusal(self, refusal: PermissionDenied) -> None:
        with database.write_connection(self.engine) as connection:
            connection.execute(_REFUSALS.insert(), seals.chain_refusal(connection, {
                "at": self._now(), "actor": refusal.actor, "action": refusal.action,
                "deliverable_id": refusal.deliverable_id, "reason": refusal.reason,
                **self.origin.fields(),
            }))


def detail(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_REFUSALS = AccessRefusal.__table__  # type: ignore[attr-defined]
def check_roles(roles: tuple[str, ...]) -> None:
    if not roles:
        raise InvalidInput("a user needs at least one --role")
    unknown = [r for r in roles if r not in KNOWN_ROLES]
    if unknown:
        raise InvalidInput(
            f"unknown role {unknown[0]!r} (known: {', '.join(sorted(KNOWN_ROLES))})"
        )

