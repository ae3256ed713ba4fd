"""Reading deliverables, users, their history, and what someone may act on now.

Nothing here writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from workflow.errors import ContentIntegrityError, NotFound
from workflow.machine import policy
from workflow.services.registry import Registry
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

    def users(self) -> list[UserView]:
        with self._store.read() as session:
            rows = session.exec(select(User).order_by(col(User.id))).all()
            return [_user_view(r, roles_of(session, r.id)) for r in rows]

    # -- deliverables -------------------------------------------------------------

    def get(self, deliverable_id: int) -> DeliverableView:
        with self._store.read() as session:
            return self.view(session, deliverable(session, deliverable_id))

    def deliverables(
        self, type_id: str | None = None, state: str | None = None, owner: str | None = None
    ) -> list[DeliverableView]:
        query = select(Deliverable).order_by(col(Deliverable.id))
        if type_id:
            query = query.where(col(Deliverable.type_id) == type_id)
        if state:
            query = query.where(col(Deliverable.state) == state)
        if owner:
            query = query.where(col(Deliverable.owner_id) == owner)
        with self._store.read() as session:
            return [self.view(session, d) for d in session.exec(query).all()]

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

    def inbox(self, actor: str | None) -> list[InboxItem]:
        """What ``actor`` may act on now: every trigger their roles and the rules allow.

        A deliverable without content moves nowhere (the engine refuses every
        trigger until it has a revision), so it offers no trigger; its owner
        still finds it here, with none, while it is editable: theirs to revise."""
        with self._store.read() as session:
            who = self._store.actor(session, actor)
            rows = session.exec(select(Deliverable).order_by(col(Deliverable.id))).all()
            answerable = _answerable(session, rows)
            with_content = set(session.exec(select(Revision.deliverable_id).distinct()).all())
            items = []
            for row in rows:
                spec = self._registry.spec(row.definition_sha)
                triggers = tuple(
                    t.trigger for t in spec.transitions_from(row.state)
                    if policy.may_fire(who, answerable[row.id or 0], t)
                ) if row.id in with_content else ()
                to_revise = (row.id not in with_content and row.owner_id == who.id
                             and row.state in spec.editable_states)
                if triggers or to_revise:
                    items.append(InboxItem(deliverable=self.view(session, row),
                                           triggers=triggers))
            return items

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

    def view(self, session: Session, row: Deliverable) -> DeliverableView:
        """A deliverable as the API shows it, with its state's label and latest revision."""
        state = self._registry.spec(row.definition_sha).state(row.state)
        revisions = revision_rows(session, row.id or 0)
        return DeliverableView(
            id=row.id or 0, type=row.type_id, definition_sha256=row.definition_sha,
            title=row.title, plan_id=row.plan_id, phase=row.phase, owner=row.owner_id,
            state=row.state, state_label=state.label, final=state.final, version=row.version,
            due=row.due, created_at=row.created_at, updated_at=row.updated_at,
            revision=revision_view(revisions[-1]) if revisions else None,
        )


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


def _answerable(session: Session, rows: Sequence[Deliverable]) -> dict[int, policy.Answerable]:
    """Who answers for each deliverable: owner, and responsible person if any."""
    responsible = _responsible(session)
    return {row.id or 0: policy.Answerable(row.owner_id, responsible.get(row.id or 0))
            for row in rows}


def _responsible(session: Session) -> dict[int, str]:
    return dict(session.exec(
        select(Rectification.deliverable_id, Rectification.responsible_id)).all())


def _user_view(row: User, held: tuple[str, ...]) -> UserView:
    return UserView(id=row.id, name=row.name, unit=row.unit, roles=held, active=row.active)
