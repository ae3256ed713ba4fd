"""The rows several services write the same way: users, deliverables and
their revisions, each with the seal its audit event records."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from workflow.errors import InvalidInput
from workflow.machine import policy
from workflow.spec.content import Content
from workflow.spec.definition import KNOWN_ROLES, WorkflowSpec
from workflow.store import audit, seals
from workflow.store.models import Deliverable, Revision, User, UserRole
from workflow.store.store import Store


def check_roles(roles: tuple[str, ...]) -> None:
    if not roles:
        raise InvalidInput("a user needs at least one --role")
    unknown = [r for r in roles if r not in KNOWN_ROLES]
    if unknown:
        raise InvalidInput(
            f"unknown role {unknown[0]!r} (known: {', '.join(sorted(KNOWN_ROLES))})"
        )


def insert_user(
    store: Store, session: Session, actor: str, role: str | None, user_id: str, name: str,
    roles: tuple[str, ...], unit: str | None,
) -> None:
    """A new user with their roles, audited as ``user.add``."""
    policy.check_user_id(user_id)
    check_roles(roles)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(f"user {user_id} needs a name (--name)")
    if session.get(User, user_id) is not None:
        raise InvalidInput(f"user {user_id!r} already exists")
    session.add(User(id=user_id, name=name, unit=unit, created_at=store.now()))
    session.add_all(UserRole(user_id=user_id, role=r) for r in roles)
    session.flush()
    connection = session.connection()
    audit.append(
        session, at=store.now(), actor=actor, role=role, action="user.add",
        detail=audit.detail({"user": user_id, "name": name, "roles": list(roles), "unit": unit}),
        seals=[seals.seal(connection, "app_user", user_id),
               *(seals.seal(connection, "user_role", user_id, r) for r in roles)],
    )


def insert_deliverable(
    store: Store, session: Session, who: policy.Actor, role: str, owner: str,
    spec: WorkflowSpec, definition_sha: str, title: str, *, due: date | None = None,
    content: Content | None = None, plan_id: str | None = None, phase: str | None = None,
) -> int:
    """A new deliverable in its definition's first state, audited as ``create``."""
    if not title.strip():
        raise InvalidInput("a deliverable needs a title")
    now = store.now()
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
        sha, revision_seal = add_revision(store, session, item.id, 1, content, who.id)
        written.append(revision_seal)
    audit.append(
        session, at=now, actor=who.id, role=role, action="create",
        deliverable_id=item.id, dest=spec.initial, revision=sha,
        detail=audit.detail({"type": spec.id, "title": item.title, "owner": owner,
                             "due": due.isoformat() if due else None, "plan": plan_id}),
        seals=written,
    )
    return item.id


def add_revision(
    store: Store, session: Session, deliverable_id: int, number: int, content: Content,
    author: str,
) -> tuple[str, seals.Seal]:
    """Store a revision; returns its sha256 and its seal for the audit event."""
    row = Revision(
        deliverable_id=deliverable_id, number=number, sha256=content.sha256,
        filename=content.filename, media_type=content.media_type, size=len(content.data),
        content=content.data, author_id=author, created_at=store.now(),
    )
    session.add(row)
    session.flush()
    return content.sha256, seals.seal(session.connection(), "revision", row.id)


def own_role(actor: policy.Actor, spec: WorkflowSpec) -> str | None:
    """The role under which ``actor`` works on their own deliverable of ``spec``."""
    return next((r for r in spec.create_roles if actor.has(r)), None)
