"""The people taking part: adding them, granting and revoking roles,
deactivating them.  Roles decide every move, so each change is an audited
event sealing the rows it wrote, and the verification rebuilds everyone's
roles from these events (:mod:`workflow.services.authority`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from workflow.errors import InvalidInput, NotFound, TransitionNotAllowed
from workflow.machine import policy
from workflow.services.reads import Reads, roles_of
from workflow.services.rows import check_roles, insert_user
from workflow.spec.definition import Role
from workflow.store import audit, seals
from workflow.store.models import User, UserRole
from workflow.store.store import Store
from workflow.store.views import UserView


class People:
    def __init__(self, store: Store, reads: Reads) -> None:
        self._store = store
        self._reads = reads

    def add_user(
        self, actor: str | None, user_id: str, name: str, roles: Iterable[str],
        unit: str | None = None,
    ) -> UserView:
        """Add a person (by the campaign office; the very first user adds themselves)."""
        roles = tuple(dict.fromkeys(roles))
        policy.check_user_id(user_id)  # before the transaction: bad input opens none
        check_roles(roles)
        with self._store.writing() as session:
            bootstrap = session.exec(select(User).limit(1)).first() is None
            if bootstrap and Role.OFFICE not in roles:
                raise InvalidInput("the first user must have the office role (to add the others)")
            if bootstrap and actor not in (None, user_id):
                raise InvalidInput("the first user adds themselves (--as must be the new id)")
            admin = None if bootstrap else self._store.actor(session, actor)
            role = policy.require_user_admin(admin)
            insert_user(self._store, session, actor or user_id, role, user_id, name, roles, unit)
        return self._reads.user(user_id)

    def grant_role(self, actor: str | None, user_id: str, role: str) -> UserView:
        """Give ``user_id`` another role (campaign office only)."""
        check_roles((role,))
        with self._store.writing() as session:
            who = self._admin(session, actor)
            if role in roles_of(session, self._existing(session, user_id).id):
                raise InvalidInput(f"{user_id} already has role {role}")
            session.add(UserRole(user_id=user_id, role=role))
            session.flush()
            self._audit_user(session, who, "role.grant", user_id, {"role": role},
                             seals.seal(session.connection(), "user_role", user_id, role))
        return self._reads.user(user_id)

    def revoke_role(self, actor: str | None, user_id: str, role: str) -> UserView:
        """Take a role from ``user_id`` (campaign office only); they keep at least one,
        and the office keeps at least one active member."""
        with self._store.writing() as session:
            who = self._admin(session, actor)
            held = roles_of(session, self._existing(session, user_id).id)
            if role not in held:
                raise InvalidInput(f"{user_id} does not have role {role}")
            if len(held) == 1:
                raise TransitionNotAllowed(
                    f"{role} is {user_id}'s only role: deactivate the user instead")
            self._keep_an_office(session, user_id, role)
            row = session.get(UserRole, (user_id, role))
            session.delete(row)
            session.flush()
            self._audit_user(session, who, "role.revoke", user_id, {"role": role},
                             seals.removed("user_role", user_id, role))
        return self._reads.user(user_id)

    def deactivate_user(self, actor: str | None, user_id: str) -> UserView:
        """Stop ``user_id`` from acting; their history stays (campaign office only)."""
        with self._store.writing() as session:
            who = self._admin(session, actor)
            user = self._existing(session, user_id)
            if not user.active:
                raise InvalidInput(f"{user_id} is already deactivated")
            if user_id == who.id:
                raise TransitionNotAllowed("nobody deactivates themselves")
            self._keep_an_office(session, user_id, Role.OFFICE.value)
            user.active = False
            session.add(user)
            session.flush()
            self._audit_user(session, who, "user.deactivate", user_id, {},
                             seals.seal(session.connection(), "app_user", user_id))
        return self._reads.user(user_id)

    # -- helpers ----------------------------------------------------------------------

    def _admin(self, session: Session, actor: str | None) -> policy.Actor:
        who = self._store.actor(session, actor)
        policy.require_user_admin(who)
        return who

    @staticmethod
    def _existing(session: Session, user_id: str) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("user", user_id)
        return user

    @staticmethod
    def _keep_an_office(session: Session, user_id: str, role: str) -> None:
        if role != Role.OFFICE.value:
            return
        others = session.exec(
            select(UserRole.user_id).join(User)
            .where(col(UserRole.role) == Role.OFFICE.value, col(UserRole.user_id) != user_id,
                   col(User.active))
        ).first()
        if others is None:
            raise TransitionNotAllowed(
                f"{user_id} is the last active member of the campaign office")

    def _audit_user(self, session: Session, who: policy.Actor, action: str, user_id: str,
                    extra: dict[str, object], written: seals.Seal) -> None:
        audit.append(
            session, at=self._store.now(), actor=who.id, role=Role.OFFICE.value, action=action,
            detail=audit.detail({"user": user_id, **extra}), seals=[written],
        )
