"""The single write path.

Every write is one ``BEGIN IMMEDIATE`` transaction that checks (roles, rules,
state, version), moves, and appends its audit event — then commits, or
raises and leaves nothing behind.  Permission refusals are noted afterwards
in the separate access log, never in the audit chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from . import audit, database, loader, policy
from .checks import errors_in, lint
from .content import Content
from .definition import KNOWN_ROLES, Role, WorkflowSpec
from .errors import Conflict, InvalidInput, PermissionDenied, TransitionNotAllowed
from .models import (
    AccessRefusal,
    Deliverable,
    DeliverableView,
    EventView,
    Revision,
    RevisionView,
    User,
    UserRole,
    UserView,
    WorkflowDefinition,
)
from .queries import Queries

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Campaign(Queries):
    """The engine's API: open a database, then read and write through it."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        super().__init__(engine)
        self.clock = clock

    @classmethod
    def open(cls, url: str | None = None, clock: Clock = utc_now) -> Campaign:
        return cls(database.make_engine(database.resolve_url(url)), clock)

    def _now(self) -> str:
        return timestamp(self.clock())

    # -- set-up -------------------------------------------------------------

    def init(self, definitions_dir: Path | None = None, actor: str = "system") -> list[str]:
        """Create the schema and load definitions; loading the same files again is a no-op.

        Returns the ids of definitions that were new or changed.
        """
        loaded = loader.load_directory(definitions_dir or loader.shipped_definitions_dir())
        for item in loaded:
            problems = errors_in(lint(item))
            if problems:
                raise InvalidInput(f"invalid definition {problems[0]}")
        database.create_schema(self.engine)
        with self._writing() as session:
            return [d.spec.id for d in loaded if self._store_definition(session, d, actor)]

    def _store_definition(
        self, session: Session, item: loader.LoadedDefinition, actor: str
    ) -> bool:
        row = session.get(WorkflowDefinition, item.sha256)
        if row is not None and row.current:
            return False
        session.execute(
            update(WorkflowDefinition)
            .where(col(WorkflowDefinition.type_id) == item.spec.id)
            .values(current=False)
        )
        if row is None:
            row = WorkflowDefinition(
                sha256=item.sha256, type_id=item.spec.id, title=item.spec.title,
                file=Path(item.file).name, source=item.source, loaded_at=self._now(),
            )
        row.current = True
        session.add(row)
        audit.append(
            session, at=self._now(), actor=actor, role=None, action="definition.load",
            detail=_detail({"type": item.spec.id, "sha256": item.sha256, "file": row.file}),
        )
        return True

    def add_user(
        self, actor: str | None, user_id: str, name: str, roles: Iterable[str],
        unit: str | None = None,
    ) -> UserView:
        roles = tuple(dict.fromkeys(roles))
        _check_roles(roles)
        with self._writing() as session:
            bootstrap = session.exec(select(User).limit(1)).first() is None
            if bootstrap and Role.OFFICE not in roles:
                raise InvalidInput("the first user must have the office role (to add the others)")
            admin = None if bootstrap and actor in (None, user_id) else self._actor(session, actor)
            role = policy.require_user_admin(admin)
            if session.get(User, user_id) is not None:
                raise InvalidInput(f"user {user_id!r} already exists")
            session.add(User(id=user_id, name=name, unit=unit, created_at=self._now()))
            session.add_all(UserRole(user_id=user_id, role=r) for r in roles)
            audit.append(
                session, at=self._now(), actor=actor or user_id, role=role, action="user.add",
                detail=_detail({"user": user_id, "name": name, "roles": list(roles),
                                "unit": unit}),
            )
        return self.user(user_id)

    # -- deliverables -------------------------------------------------------

    def create(
        self, actor: str | None, type_id: str, title: str, *, owner: str | None = None,
        content: Content | None = None, due: date | None = None,
    ) -> DeliverableView:
        if not title.strip():
            raise InvalidInput("a deliverable needs a title")
        with self._writing() as session:
            who = self._actor(session, actor)
            holder = who if owner in (None, who.id) else self._actor(session, owner)
            definition = self._current_definition(session, type_id)
            spec = self.spec(definition.sha256)
            role = policy.creation_role(who, spec, holder)
            now = self._now()
            item = Deliverable(
                type_id=type_id, definition_sha=definition.sha256, title=title.strip(),
                owner_id=holder.id, state=spec.initial, version=1, due=due,
                created_at=now, updated_at=now,
            )
            session.add(item)
            session.flush()
            assert item.id is not None
            sha = self._add_revision(session, item.id, 1, content, who.id) if content else None
            audit.append(
                session, at=now, actor=who.id, role=role, action="create",
                deliverable_id=item.id, dest=spec.initial, revision=sha,
                detail=_detail({"type": type_id, "title": item.title, "owner": holder.id,
                                "due": due.isoformat() if due else None}),
            )
            deliverable_id = item.id
        return self.get(deliverable_id)

    def revise(self, actor: str | None, deliverable_id: int, content: Content) -> RevisionView:
        with self._writing() as session:
            who = self._actor(session, actor)
            item = self._deliverable(session, deliverable_id)
            spec = self.spec(item.definition_sha)
            policy.require_revisable(who, item.owner_id, item.state, spec, deliverable_id)
            number = len(self._revisions(session, deliverable_id)) + 1
            sha = self._add_revision(session, deliverable_id, number, content, who.id)
            self._bump(session, item, item.version, item.state)
            audit.append(
                session, at=self._now(), actor=who.id, role=_owner_role(who, spec),
                action="revise", deliverable_id=deliverable_id, source=item.state,
                dest=item.state, revision=sha,
                detail=_detail({"number": number, "filename": content.filename}),
            )
        return self.revision(deliverable_id)

    def fire(
        self, actor: str | None, deliverable_id: int, trigger: str, comment: str | None = None,
        expected_version: int | None = None,
    ) -> EventView:
        """Fire ``trigger`` on a deliverable: check, move and audit in one transaction."""
        comment = comment.strip() if comment else None
        with self._writing() as session:
            who = self._actor(session, actor)
            item = self._deliverable(session, deliverable_id)
            if expected_version is not None and expected_version != item.version:
                raise Conflict(deliverable_id, expected_version, item.version)
            spec = self.spec(item.definition_sha)
            dest = self.machine(item.definition_sha).next_state(item.state, trigger)
            transition = spec.transition(item.state, trigger)
            assert transition is not None  # the machine just fired it
            role = policy.transition_role(who, item.owner_id, transition, deliverable_id)
            policy.require_reason(transition, comment, deliverable_id)
            revisions = self._revisions(session, deliverable_id)
            if not revisions:
                raise TransitionNotAllowed("it has no content yet (campaign revise)",
                                           deliverable_id)
            source = item.state
            self._bump(session, item, item.version, dest)
            event = audit.append(
                session, at=self._now(), actor=who.id, role=role, action="transition",
                deliverable_id=deliverable_id, trigger=trigger, source=source, dest=dest,
                comment=comment, revision=revisions[-1].sha256,
            )
            return audit.as_view(event)

    # -- internals ------------------------------------------------------------

    def _bump(self, session: Session, item: Deliverable, version: int, state: str) -> None:
        """Compare-and-set on the version: the optimistic lock that also holds
        on databases without BEGIN IMMEDIATE."""
        result = session.execute(
            update(Deliverable)
            .where(col(Deliverable.id) == item.id, col(Deliverable.version) == version)
            .values(state=state, version=version + 1, updated_at=self._now())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(item.id or 0, version, version + 1)
        session.refresh(item)

    def _add_revision(
        self, session: Session, deliverable_id: int, number: int, content: Content, author: str
    ) -> str:
        session.add(Revision(
            deliverable_id=deliverable_id, number=number, sha256=content.sha256,
            filename=content.filename, media_type=content.media_type, size=len(content.data),
            content=content.data, author_id=author, created_at=self._now(),
        ))
        return content.sha256

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A write transaction; a permission refusal inside it is rolled back
        and then noted in the access log."""
        self._require_schema()
        try:
            with database.write_transaction(self.engine) as session:
                yield session
        except PermissionDenied as refusal:
            self._note_refusal(refusal)
            raise

    def _note_refusal(self, refusal: PermissionDenied) -> None:
        with database.write_transaction(self.engine) as session:
            session.add(AccessRefusal(
                at=self._now(), actor=refusal.actor, action=refusal.action,
                deliverable_id=refusal.deliverable_id, reason=refusal.reason,
            ))


def _detail(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _check_roles(roles: tuple[str, ...]) -> None:
    if not roles:
        raise InvalidInput("a user needs at least one --role")
    unknown = [r for r in roles if r not in KNOWN_ROLES]
    if unknown:
        raise InvalidInput(
            f"unknown role {unknown[0]!r} (known: {', '.join(sorted(KNOWN_ROLES))})"
        )


def _owner_role(actor: policy.Actor, spec: WorkflowSpec) -> str | None:
    return next((r for r in spec.create_roles if actor.has(r)), None)

