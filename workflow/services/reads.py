"""Reading deliverables, users, their history, and what someone may act on now.

Nothing here writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy import select as core_select
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from workflow.errors import ContentIntegrityError, NotFound
from workflow.services import listing, overdue, permissions, tallies
from workflow.services.lateness import LateCompletion, OverdueItem
from workflow.services.registry import Registry
from workflow.spec.plan import PlanSpec
from workflow.store import audit
from workflow.store.models import (
    AuditEvent,
    Deliverable,
    PublicityWindow,
    Rectification,
    Revision,
    User,
    UserRole,
)
from workflow.store.store import Store
from workflow.store.views import (
    DeliverableView,
    EventView,
    InboxItem,
    RevisionView,
    UserView,
    WindowView,
)

_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]


class Reads:
    def __init__(self, store: Store, registry: Registry) -> None:
        self._store = store
        self._registry = registry

    # -- users ------------------------------------------------------------------

    def user(self, user_id: str) -> UserView:
        with self._store.read() as session:
            row = session.get(User, user_id)
            if row is None:
                raise NotFound("user", user_id)
            return _user_view(row, roles_of(session, user_id))

    def users(self, among: Select[Any] | None = None) -> list[UserView]:
        """Users by id with their roles; ``among``: only those whose ids it
        selects.  One statement, one row per (user, role)."""
        query = (core_select(_USERS.c.id, _USERS.c.name, _USERS.c.unit, _USERS.c.active,
                             _ROLES.c.role)
                 .select_from(_USERS.outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id))
                 .order_by(_USERS.c.id, _ROLES.c.role))
        if among is not None:
            query = query.where(_USERS.c.id.in_(among))
        views: list[UserView] = []
        with self._store.read() as session:
            rows = session.connection().execute(query).all()
        for user_id, group in groupby(rows, key=lambda r: r.id):
            held = list(group)
            first = held[0]
            views.append(UserView(id=user_id, name=first.name, unit=first.unit,
                                  roles=tuple(r.role for r in held if r.role is not None),
                                  active=first.active))
        return views

    # -- deliverables -------------------------------------------------------------

    def get(self, deliverable_id: int) -> DeliverableView:
        query = listing.views_select().where(listing.DELIVERABLES.c.id == deliverable_id)
        with self._store.read() as session:
            row = session.connection().execute(query).first()
            if row is None:
                raise NotFound("deliverable", deliverable_id)
            return listing.to_view(self._registry.spec(row.definition_sha), row)

    def check_filters(self, type_id: str | None = None, state: str | None = None,
                      owner: str | None = None) -> None:
        """A list filter naming nothing that exists is a mistake, not an empty
        answer: an unknown type, a state no (such) type has, or an unknown user
        is not found (exit 6), as ``show 99`` is."""
        specs = ([self._registry.definition(type_id)] if type_id
                 else self._registry.definitions())
        if state is not None and all(state not in {s.name for s in spec.states}
                                     for spec in specs):
            raise NotFound(f"state of {type_id}" if type_id else "state", state)
        if owner is not None:
            self.user(owner)

    def deliverables(
        self, type_id: str | None = None, state: str | None = None, owner: str | None = None,
        *, limit: int | None = None, after: int | None = None,
    ) -> list[DeliverableView]:
        """Deliverables by id, each filter applied when given; ``limit`` of
        them after id ``after`` (keyset paging: pass the last id seen)."""
        return list(self.iter_deliverables(type_id, state, owner, limit=limit, after=after))

    def iter_deliverables(
        self, type_id: str | None = None, state: str | None = None, owner: str | None = None,
        *, limit: int | None = None, after: int | None = None,
    ) -> Iterator[DeliverableView]:
        """:meth:`deliverables`, one at a time off the cursor: constant memory
        however many there are (the read transaction stays open while iterating)."""
        query = listing.views_select()
        for column, wanted in (("type_id", type_id), ("state", state), ("owner_id", owner)):
            if wanted:
                query = query.where(listing.DELIVERABLES.c[column] == wanted)
        query = listing.paged(query, limit, after)
        with self._store.read() as session:
            rows = session.connection().execution_options(stream_results=True).execute(query)
            yield from listing.to_views(self._registry.spec, rows)

    def state_counts(self, type_id: str) -> dict[str, int]:
        """How many deliverables of ``type_id`` sit in each state (any definition)."""
        column = listing.DELIVERABLES.c
        query = (core_select(column.state, func.count()).where(column.type_id == type_id)
                 .group_by(column.state))
        with self._store.read() as session:
            return {state: count for state, count in session.connection().execute(query)}

    def overdue(self, today: date, plan: PlanSpec | None, type_id: str | None = None,
                state: str | None = None, owner: str | None = None, *,
                limit: int | None = None, after: int | None = None) -> list[OverdueItem]:
        """What :func:`~workflow.services.lateness.find_overdue` finds among the
        plan's deliverables and those tied to none (every one without a plan),
        asked of the database; each filter applied when given.  Latest first
        (the earliest due date, then by id): ``limit`` of them after the
        deliverable ``after`` (the last id of the previous page), cut by the
        database."""
        with self._store.read() as session:
            connection = session.connection()
            query = overdue.overdue_select(today, plan, self._complete(connection, plan),
                                           type_id, state, owner)
            if after is not None:
                query = overdue.after(query, connection, after)
            if limit is not None:
                query = query.limit(limit)
            rows = connection.execute(query)
            return [overdue.overdue_item(row, today, self._registry.spec) for row in rows]

    def tallies(self, plan: PlanSpec | None
                ) -> tuple[list[tallies.StateTally], list[tallies.UnitTally]]:
        """The plan's deliverables and those tied to none (every one without a
        plan), counted by definition and state, and by their owner's unit (all,
        complete): two ``GROUP BY`` statements, each one pass over an index."""
        with self._store.read() as session:
            connection = session.connection()
            in_use = listing.definitions_in_use(connection)
            complete = overdue.complete_rows(plan, in_use, self._registry.spec)
            states = tallies.state_tallies(
                connection.execute(tallies.by_state_select(plan)), in_use, complete)
            units = tallies.unit_tallies(
                connection.execute(tallies.by_unit_select(plan, complete)))
        return states, units

    def completed_late(self, plan: PlanSpec | None) -> list[LateCompletion]:
        """What :func:`~workflow.services.lateness.find_completed_late` finds
        among the plan's deliverables and those tied to none, from their
        transition events, in one statement; latest first."""
        with self._store.read() as session:
            connection = session.connection()
            done = tallies.complete_table(self._complete(connection, plan))
            rows = connection.execute(tallies.completed_select(plan, done))
            found = [late for row in rows
                     if (late := tallies.late_completion(row, self._registry.spec))]
        return sorted(found, key=lambda o: (-o.days_late, o.id))

    def _complete(self, connection: Any, plan: PlanSpec | None) -> list[tuple[str, str, str]]:
        return overdue.complete_rows(plan, listing.definitions_in_use(connection),
                                     self._registry.spec)

    def revision(self, deliverable_id: int, number: int | None = None) -> RevisionView:
        revisions = self.revisions(deliverable_id)
        if not revisions:
            raise NotFound("revision of deliverable", deliverable_id)
        if number is None:
            return revisions[-1]
        for revision in revisions:
            if revision.number == number:
                return revision
        raise NotFound(f"revision of deliverable {deliverable_id}", number)

    def revisions(self, deliverable_id: int) -> list[RevisionView]:
        with self._store.read() as session:
            deliverable(session, deliverable_id)
            return [revision_view(r) for r in revision_rows(session, deliverable_id)]

    def content(self, deliverable_id: int, number: int | None = None) -> bytes:
        """A revision's bytes, after checking them against the sha256 its audit
        event recorded: content that does not match is never handed out."""
        wanted = self.revision(deliverable_id, number)
        with self._store.read() as session:
            row = next(r for r in revision_rows(session, deliverable_id)
                       if r.number == wanted.number)
            data = bytes(row.content)
            recorded = _recorded_revisions(session, deliverable_id)
        actual = hashlib.sha256(data).hexdigest()
        if actual != row.sha256 or row.sha256 not in recorded:
            raise ContentIntegrityError(
                deliverable_id, row.number,
                f"its content (sha256 {actual[:12]}…) is not the text its audit event recorded")
        return data

    def inbox(self, actor: str | None, *, limit: int | None = None, after: int | None = None
              ) -> list[InboxItem]:
        """What ``actor`` may act on now: every trigger their roles and the rules
        allow, by deliverable id; ``limit`` of them after id ``after``.

        A deliverable without content moves nowhere (the engine refuses every
        trigger until it has a revision), so it offers no trigger; its owner
        still finds it here, with none, while it is editable: theirs to revise.
        The database answers from a table of the definitions' permissions
        (:mod:`workflow.services.permissions`), as ``policy.may_fire`` would."""
        with self._store.read() as session:
            who = self._store.actor(session, actor)
            connection = session.connection()
            in_use = [(sha, self._registry.spec(sha))
                      for _, sha in listing.definitions_in_use(connection)]
            rows = connection.execute(permissions.inbox_select(who, in_use, limit, after))
            return permissions.inbox_items(rows, self._registry.spec)

    def responsible_persons(self) -> dict[int, str]:
        """Deliverable id → responsible person (整改责任人), for every rectification
        item whose fields are set."""
        with self._store.read() as session:
            return _responsible(session)

    def windows(
        self, deliverable_id: int | None = None, *, open_only: bool = False
    ) -> list[WindowView]:
        """Publicity windows, oldest first."""
        query = select(PublicityWindow).order_by(col(PublicityWindow.id))
        if deliverable_id is not None:
            query = query.where(col(PublicityWindow.deliverable_id) == deliverable_id)
        if open_only:
            query = query.where(col(PublicityWindow.closed_at).is_(None))
        with self._store.read() as session:
            return [WindowView.model_validate(w, from_attributes=True)
                    for w in session.exec(query).all()]

    # -- history ------------------------------------------------------------------

    def history(self, deliverable_id: int) -> list[EventView]:
        with self._store.read() as session:
            deliverable(session, deliverable_id)
            rows = session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.deliverable_id) == deliverable_id)
                .order_by(col(AuditEvent.seq))
            ).all()
            return [audit.as_view(r) for r in rows]

    def path(self, deliverable_id: int) -> list[tuple[str, str, str]]:
        """The moves a deliverable has made, in order: (source, trigger, dest)."""
        return [
            (e.source or "", e.trigger or "", e.dest or "")
            for e in self.history(deliverable_id)
            if e.action == "transition"
        ]


# -- reads inside a caller's transaction --------------------------------------------


def deliverable(session: Session, deliverable_id: int) -> Deliverable:
    row = session.get(Deliverable, deliverable_id)
    if row is None:
        raise NotFound("deliverable", deliverable_id)
    return row


def rows_of(session: Session, model: type[Any], deliverable_id: int) -> list[Any]:
    """The rows of ``model``'s table that belong to one deliverable, oldest
    first; NotFound if there is no such deliverable."""
    deliverable(session, deliverable_id)
    return list(session.exec(
        select(model).where(col(model.deliverable_id) == deliverable_id).order_by(col(model.id))
    ).all())


def roles_of(session: Session, user_id: str) -> tuple[str, ...]:
    return tuple(session.exec(
        select(UserRole.role).where(col(UserRole.user_id) == user_id)
        .order_by(col(UserRole.role))
    ).all())


def revision_rows(session: Session, deliverable_id: int) -> list[Revision]:
    return list(session.exec(
        select(Revision).where(col(Revision.deliverable_id) == deliverable_id)
        .options(defer(Revision.content))  # type: ignore[arg-type]
        .order_by(col(Revision.number))
    ).all())


def revision_view(row: Revision) -> RevisionView:
    return RevisionView(
        number=row.number, sha256=row.sha256, filename=row.filename,
        media_type=row.media_type, size=row.size, author=row.author_id, at=row.created_at,
    )


def _recorded_revisions(session: Session, deliverable_id: int) -> set[str]:
    """The revision hashes the deliverable's audit events carry."""
    return {r for r in session.exec(
        select(AuditEvent.revision).where(col(AuditEvent.deliverable_id) == deliverable_id)
    ).all() if r}


def _responsible(session: Session) -> dict[int, str]:
    return dict(session.exec(
        select(Rectification.deliverable_id, Rectification.responsible_id)).all())


def _user_view(row: User, held: tuple[str, ...]) -> UserView:
    return UserView(id=row.id, name=row.name, unit=row.unit, roles=held, active=row.active)
