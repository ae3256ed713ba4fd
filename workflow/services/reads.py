"""Reading the engine's state: deliverables, users, history, inbox, audit checks.

Nothing here writes.  :class:`workflow.campaign.Campaign` extends these reads
with the write path, so callers hold one object for both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from workflow.errors import (
    AuditVerificationFailed,
    ContentIntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from workflow.machine import policy
from workflow.machine.deliverables import DeliverableMachine, machine_for
from workflow.services import authority
from workflow.spec import loader
from workflow.spec.definition import WorkflowSpec
from workflow.store import audit, database, seals
from workflow.store.models import (
    AccessRefusal,
    AuditEvent,
    Deliverable,
    DeliverableView,
    EventView,
    InboxItem,
    PublicityWindow,
    Rectification,
    RefusalView,
    Revision,
    RevisionView,
    User,
    UserRole,
    UserView,
    WindowView,
    WorkflowDefinition,
)

_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]
_REVISIONS = Revision.__table__  # type: ignore[attr-defined]
_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]
# Built once: these run on every write.
_ACTOR = (
    sa_select(_USERS.c.id, _USERS.c.active, _ROLES.c.role)
    .outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id)
    .where(_USERS.c.id == bindparam("user"))
)
_RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]
# One round trip for what a move needs, the responsible person included (a
# rectification item's 整改责任人 answers for it beside its owner).
_STATE_OF = sa_select(
    _DELIVERABLES.c.id, _DELIVERABLES.c.definition_sha, _DELIVERABLES.c.owner_id,
    _DELIVERABLES.c.state, _DELIVERABLES.c.version, _RECTIFICATIONS.c.responsible_id,
).outerjoin_from(
    _DELIVERABLES, _RECTIFICATIONS, _RECTIFICATIONS.c.deliverable_id == _DELIVERABLES.c.id,
).where(_DELIVERABLES.c.id == bindparam("item"))


class Queries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._specs: dict[str, WorkflowSpec] = {}
        self._machines: dict[str, DeliverableMachine] = {}
        self._schema_checked = False

    # -- definitions ------------------------------------------------------------

    def spec(self, sha256: str) -> WorkflowSpec:
        """The spec a deliverable runs under (parsed once per process)."""
        if sha256 not in self._specs:
            with self._read() as session:
                row = session.get(WorkflowDefinition, sha256)
                if row is None:
                    raise NotFound("definition", sha256)
                file, source = row.file, row.source
            self._specs[sha256] = loader.parse_definition(source, f"{file}@{sha256[:12]}").spec
        return self._specs[sha256]

    def machine(self, sha256: str) -> DeliverableMachine:
        # Keyed by the definition's hash: hashing the frozen spec itself walks
        # every field, on every move.
        if sha256 not in self._machines:
            self._machines[sha256] = machine_for(self.spec(sha256))
        return self._machines[sha256]

    def definition_for(self, view: DeliverableView) -> WorkflowSpec:
        """The definition a deliverable runs under (it may predate the current one)."""
        return self.spec(view.definition_sha256)

    def definitions(self) -> list[WorkflowSpec]:
        with self._read() as session:
            rows = session.exec(
                select(WorkflowDefinition)
                .where(col(WorkflowDefinition.current))
                .order_by(col(WorkflowDefinition.type_id))
            ).all()
            shas = [r.sha256 for r in rows]
        return [self.spec(sha) for sha in shas]

    def definition(self, type_id: str) -> WorkflowSpec:
        with self._read() as session:
            sha = self._current_definition(session, type_id).sha256
        return self.spec(sha)

    # -- users ------------------------------------------------------------------

    def user(self, user_id: str) -> UserView:
        with self._read() as session:
            row = session.get(User, user_id)
            if row is None:
                raise NotFound("user", user_id)
            return _user_view(row, self._roles(session, user_id))

    def users(self) -> list[UserView]:
        with self._read() as session:
            rows = session.exec(select(User).order_by(col(User.id))).all()
            return [_user_view(r, self._roles(session, r.id)) for r in rows]

    # -- deliverables -------------------------------------------------------------

    def get(self, deliverable_id: int) -> DeliverableView:
        with self._read() as session:
            return self._view(session, self._deliverable(session, deliverable_id))

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
        with self._read() as session:
            return [self._view(session, d) for d in session.exec(query).all()]

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
        with self._read() as session:
            self._deliverable(session, deliverable_id)
            return [_revision_view(r) for r in self._revisions(session, deliverable_id)]

    def content(self, deliverable_id: int, number: int | None = None) -> bytes:
        """A revision's bytes, after checking them against the sha256 its audit
        event recorded: content that does not match is never handed out."""
        wanted = self.revision(deliverable_id, number)
        with self._read() as session:
            row = next(r for r in self._revisions(session, deliverable_id)
                       if r.number == wanted.number)
            data = bytes(row.content)
            recorded = self._recorded_revisions(session, deliverable_id)
        actual = hashlib.sha256(data).hexdigest()
        if actual != row.sha256 or row.sha256 not in recorded:
            raise ContentIntegrityError(
                deliverable_id, row.number,
                f"its content (sha256 {actual[:12]}…) is not the text its audit event recorded")
        return data

    def _recorded_revisions(self, session: Session, deliverable_id: int) -> set[str]:
        """The revision hashes the deliverable's audit events carry."""
        return {r for r in session.exec(
            select(AuditEvent.revision).where(col(AuditEvent.deliverable_id) == deliverable_id)
        ).all() if r}

    def inbox(self, actor: str | None) -> list[InboxItem]:
        """What ``actor`` may act on now: every trigger their roles and the rules allow.

        A deliverable without content moves nowhere (the engine refuses every
        trigger until it has a revision), so it offers no trigger; its owner
        still finds it here, with none, while it is editable: theirs to revise."""
        with self._read() as session:
            who = self._actor(session, actor)
            rows = session.exec(select(Deliverable).order_by(col(Deliverable.id))).all()
            answerable = self._answerable(session, rows)
            with_content = set(session.exec(select(Revision.deliverable_id).distinct()).all())
            items = []
            for row in rows:
                spec = self.spec(row.definition_sha)
                triggers = tuple(
                    t.trigger for t in spec.transitions_from(row.state)
                    if policy.may_fire(who, answerable[row.id or 0], t)
                ) if row.id in with_content else ()
                to_revise = (row.id not in with_content and row.owner_id == who.id
                             and row.state in spec.editable_states)
                if triggers or to_revise:
                    items.append(InboxItem(deliverable=self._view(session, row),
                                           triggers=triggers))
            return items

    def responsible_persons(self) -> dict[int, str]:
        """Deliverable id → responsible person (整改责任人), for every rectification
        item whose fields are set."""
        with self._read() as session:
            return _responsible(session)

    @staticmethod
    def _answerable(session: Session, rows: Sequence[Deliverable]
                    ) -> dict[int, policy.Answerable]:
        """Who answers for each deliverable: owner, and responsible person if any."""
        responsible = _responsible(session)
        return {row.id or 0: policy.Answerable(row.owner_id, responsible.get(row.id or 0))
                for row in rows}

    def windows(
        self, deliverable_id: int | None = None, *, open_only: bool = False
    ) -> list[WindowView]:
        """Publicity windows, oldest first."""
        query = select(PublicityWindow).order_by(col(PublicityWindow.id))
        if deliverable_id is not None:
            query = query.where(col(PublicityWindow.deliverable_id) == deliverable_id)
        if open_only:
            query = query.where(col(PublicityWindow.closed_at).is_(None))
        with self._read() as session:
            return [WindowView.model_validate(w, from_attributes=True)
                    for w in session.exec(query).all()]

    # -- audit ------------------------------------------------------------------

    def history(self, deliverable_id: int) -> list[EventView]:
        with self._read() as session:
            self._deliverable(session, deliverable_id)
            rows = session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.deliverable_id) == deliverable_id)
                .order_by(col(AuditEvent.seq))
            ).all()
            return [audit.as_view(r) for r in rows]

    def events(self, action: str | None = None) -> list[EventView]:
        """The whole audit log, oldest first; ``action`` keeps events whose
        action equals it or starts with it followed by a dot (``phase``)."""
        query = select(AuditEvent).order_by(col(AuditEvent.seq))
        if action:
            query = query.where(
                (col(AuditEvent.action) == action) | col(AuditEvent.action).startswith(f"{action}.")
            )
        with self._read() as session:
            return [audit.as_view(r) for r in session.exec(query).all()]

    def path(self, deliverable_id: int) -> list[tuple[str, str, str]]:
        """The moves a deliverable has made, in order: (source, trigger, dest)."""
        return [
            (e.source or "", e.trigger or "", e.dest or "")
            for e in self.history(deliverable_id)
            if e.action == "transition"
        ]

    def refusals(self) -> list[RefusalView]:
        with self._read() as session:
            rows = session.exec(select(AccessRefusal).order_by(col(AccessRefusal.id))).all()
            return [RefusalView.model_validate(r, from_attributes=True) for r in rows]

    def verify(self, digest: str | None = None) -> audit.VerifyReport:
        """Check the whole chain and the kept digest; every sealed row against
        the seal its event recorded (the approved text, roles, opinions,
        windows…); replay every deliverable; and replay authority: each
        event's actor held the role and kept the rules."""
        with self._read() as session:
            events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
            head = audit.verify_chain(events, digest)
            rows = seals.check(session.connection(), events)
            items = {d.id or 0: d for d in session.exec(select(Deliverable)).all()}
            audit.replay(
                events, items,
                initial_state=lambda d: self.spec(d.definition_sha).initial,
                next_state=lambda d, state, trigger: self.machine(d.definition_sha).next_state(
                    state, trigger),
            )
            roster = authority.check(events, items, lambda d: self.spec(d.definition_sha))
            self._check_roster(session, roster)
            return audit.VerifyReport(events=len(events), deliverables=len(items), head=head,
                                      rows=rows)

    def _check_roster(self, session: Session, roster: authority.Roster) -> None:
        """The roles stored are the roles the events lead to."""
        stored: dict[str, set[str]] = {}
        for row in session.exec(select(UserRole)).all():
            stored.setdefault(row.user_id, set()).add(row.role)
        for user in session.exec(select(User)).all():
            if stored.get(user.id, set()) != roster.roles.get(user.id, set()) or (
                    user.active == (user.id in roster.inactive)):
                raise AuditVerificationFailed(
                    None, f"user {user.id}'s roles or status are not what the user events "
                    "lead to")

    def digest(self) -> str | None:
        with self._read() as session:
            return audit.format_digest(audit.head(session))

    def export(self, fmt: str) -> Iterator[str]:
        if fmt not in ("jsonl", "csv"):
            raise InvalidInput(f"unknown export format {fmt!r} (use jsonl or csv)")
        with self._read() as session:
            events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))
            yield from audit.export(events, fmt)

    # -- session helpers ----------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        self._require_schema()
        with database.read_session(self.engine) as session:
            yield session

    def _require_schema(self) -> None:
        if self._schema_checked:
            return
        url = self.engine.url
        # schema_ready never creates a missing file (file: URIs too) and refuses what is not ours.
        if not database.schema_ready(self.engine):
            raise NotFound("campaign database (run `campaign init` first)",
                           url.render_as_string(hide_password=True))
        self._schema_checked = True

    def _actor(self, session: Session | Connection, user_id: str | None) -> policy.Actor:
        if not user_id:
            raise InvalidInput("who is acting? give --as USER or set CAMPAIGN_USER")
        policy.check_user_id(user_id)
        rows = database.as_connection(session).execute(_ACTOR, {"user": user_id}).all()
        if not rows:
            raise NotFound("user", user_id)
        if not rows[0].active:
            raise PermissionDenied(user_id, "act", "this user has been deactivated")
        return policy.Actor(user_id, frozenset(r.role for r in rows if r.role))

    def _state_of(self, session: Session | Connection, deliverable_id: int) -> Any:
        """The columns a move needs, without loading an ORM object."""
        row = database.as_connection(session).execute(_STATE_OF, {"item": deliverable_id}).first()
        if row is None:
            raise NotFound("deliverable", deliverable_id)
        return row

    def _roles(self, session: Session, user_id: str) -> tuple[str, ...]:
        return tuple(session.exec(
            select(UserRole.role).where(col(UserRole.user_id) == user_id)
            .order_by(col(UserRole.role))
        ).all())

    def _deliverable(self, session: Session, deliverable_id: int) -> Deliverable:
        row = session.get(Deliverable, deliverable_id)
        if row is None:
            raise NotFound("deliverable", deliverable_id)
        return row

    def _current_definition(self, session: Session, type_id: str) -> WorkflowDefinition:
        row = session.exec(
            select(WorkflowDefinition).where(
                col(WorkflowDefinition.type_id) == type_id, col(WorkflowDefinition.current)
            )
        ).first()
        if row is None:
            raise NotFound("deliverable type", type_id)
        return row

    def _revisions(self, session: Session, deliverable_id: int) -> list[Revision]:
        return list(session.exec(
            select(Revision).where(col(Revision.deliverable_id) == deliverable_id)
            .options(defer(Revision.content))  # type: ignore[arg-type]
            .order_by(col(Revision.number))
        ).all())

    def _view(self, session: Session, row: Deliverable) -> DeliverableView:
        state = self.spec(row.definition_sha).state(row.state)
        revisions = self._revisions(session, row.id or 0)
        return DeliverableView(
            id=row.id or 0, type=row.type_id, definition_sha256=row.definition_sha,
            title=row.title, plan_id=row.plan_id, phase=row.phase, owner=row.owner_id,
            state=row.state, state_label=state.label, final=state.final, version=row.version,
            due=row.due, created_at=row.created_at, updated_at=row.updated_at,
            revision=_revision_view(revisions[-1]) if revisions else None,
        )


def _responsible(session: Session) -> dict[int, str]:
    return dict(session.exec(
        select(Rectification.deliverable_id, Rectification.responsible_id)).all())


def _user_view(row: User, roles: tuple[str, ...]) -> UserView:
    return UserView(id=row.id, name=row.name, unit=row.unit, roles=roles, active=row.active)


def _revision_view(row: Revision) -> RevisionView:
    return RevisionView(
        number=row.number, sha256=row.sha256, filename=row.filename,
        media_type=row.media_type, size=row.size, author=row.author_id, at=row.created_at,
    )
