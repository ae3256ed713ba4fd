"""Who may do what.  Every refusal raises with the reason; nothing returns False.

Identity is whatever the caller says it is (``--as``); authentication belongs
in front of the engine, authorisation is here.  The audit log records the
channel and operating-system account of each write (:mod:`workflow.store.origin`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from workflow.spec.definition import (
    USER_ID_MAX,
    USER_ID_PATTERN,
    Role,
    TransitionSpec,
    WorkflowSpec,
)

_USER_ID = re.compile(USER_ID_PATTERN)


@dataclass(frozen=True)
class Actor:
    id: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Answerable:
    """Who answers for a deliverable: its owner and, for a rectification item,
    its responsible person (整改责任人).  ``owner_or_responsible`` moves are
    theirs (``owner_only`` ones the owner's alone); ``not_owner`` moves (no
    self-approval) are never theirs."""

    owner: str
    responsible: str | None = None

    def __contains__(self, user: object) -> bool:
        return user in (self.owner, self.responsible)

    def __str__(self) -> str:
        if self.responsible in (None, self.owner):
            return f"the owner ({self.owner})"
        return f"the owner ({self.owner}) or the responsible person ({self.responsible})"


def transition_role(
    actor: Actor, answerable: Answerable, transition: TransitionSpec,
    deliverable_id: int | None = None,
) -> str:
    """The role under which ``actor`` fires ``transition``; raises if they may not."""
    allowed = [r for r in transition.roles if actor.has(r)]
    action = f"{transition.trigger}"
    if not allowed:
        raise PermissionDenied(
            actor.id, action, f"needs role {' or '.join(transition.roles)}", deliverable_id
        )
    refusal = owner_rule_refusal(actor.id, answerable, transition)
    if refusal is not None:
        raise PermissionDenied(actor.id, action, refusal, deliverable_id)
    return allowed[0]


def owner_rule_refusal(user_id: str, answerable: Answerable, transition: TransitionSpec
                       ) -> str | None:
    """Why ``transition``'s owner rule keeps ``user_id`` from firing it, or None:
    the one statement of the rules, for a move and for who a move concerns."""
    if transition.owner_only and user_id != answerable.owner:
        return f"only the owner ({answerable.owner}) may do this"
    if transition.owner_or_responsible and user_id not in answerable:
        return f"only {answerable} may do this"
    if transition.not_owner and user_id in answerable:
        return f"no self-approval: {answerable} may not do this"
    return None


def may_fire(actor: Actor, answerable: Answerable, transition: TransitionSpec) -> bool:
    """For listings (the inbox) only; writes always go through transition_role."""
    try:
        transition_role(actor, answerable, transition)
    except PermissionDenied:
        return False
    return True


def require_reason(transition: TransitionSpec, comment: str | None, deliverable_id: int) -> None:
    if transition.requires_comment and not (comment and comment.strip()):
        raise TransitionNotAllowed(
            f"{transition.trigger} needs a reason (--comment)", deliverable_id
        )


def creation_role(actor: Actor, spec: WorkflowSpec, owner: Actor) -> str:
    """The role under which ``actor`` creates a deliverable owned by ``owner``.

    Anyone with a creating role may create their own; only the campaign
    office creates deliverables for somebody else, and only for someone who
    could have created it themselves.
    """
    action = f"create {spec.id}"
    owner_roles = [r for r in spec.create_roles if owner.has(r)]
    if not owner_roles:
        who = "they need" if owner.id == actor.id else f"the owner {owner.id} needs"
        raise PermissionDenied(
            actor.id, action, f"{who} role {' or '.join(spec.create_roles)}"
        )
    if owner.id == actor.id:
        return owner_roles[0]
    if not actor.has(Role.OFFICE):
        raise PermissionDenied(
            actor.id, action, "only the campaign office creates deliverables for others"
        )
    return Role.OFFICE.value


def require_revisable(
    actor: Actor, owner_id: str, state: str, spec: WorkflowSpec, deliverable_id: int
) -> None:
    if actor.id != owner_id:
        raise PermissionDenied(
            actor.id, "revise", f"only the owner ({owner_id}) may add a revision", deliverable_id
        )
    if state not in spec.editable_states:
        raise TransitionNotAllowed(
            f"content cannot change in state {state!r} "
            f"(editable in: {', '.join(spec.editable_states)})",
            deliverable_id,
        )


def require_user_admin(actor: Actor | None) -> str:
    """Users are managed by the campaign office (the very first user bootstraps)."""
    if actor is None:
        return Role.OFFICE.value
    if not actor.has(Role.OFFICE):
        raise PermissionDenied(actor.id, "manage users", "needs role office")
    return Role.OFFICE.value


def check_user_id(user_id: str) -> None:
    """The roster's rule for ids, everywhere an id is written or claimed."""
    if len(user_id) > USER_ID_MAX or not _USER_ID.fullmatch(user_id):
        raise InvalidInput(
            f"user id {user_id!r} is not valid: letters, digits, '_', '.' and '-', starting "
            f"with a letter or digit, at most {USER_ID_MAX} characters")
