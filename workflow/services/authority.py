"""Replaying who was allowed to do what.

The hash chain proves that the log was not edited; it does not prove that
what the log says was allowed.  An event appended by someone with the
database file — an approval by a member, say — links into the chain as well
as any.  So the verification replays authority too: it rebuilds every
user's roles from the user and role events, in order, and refuses an event
whose actor was not an active user holding the role it claims, a role the
move needs, or that broke a rule such as self-approval.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from workflow.errors import AuditVerificationFailed
from workflow.machine.policy import Answerable
from workflow.spec.definition import Role, TransitionSpec, WorkflowSpec
from workflow.store.models import AuditEvent, Deliverable

#: Actions only the campaign office may take (besides the very first user's bootstrap).
OFFICE_ONLY = frozenset({
    "user.add", "role.grant", "role.revoke", "user.deactivate", "user.activate",
    "plan.start", "target.record", "publicity.end", "phase.force",
})
#: Actions that need one of these roles.
NEEDS_ROLE: dict[str, frozenset[str]] = {
    **{action: frozenset({Role.OFFICE.value}) for action in OFFICE_ONLY},
    "phase.advance": frozenset({Role.OFFICE.value, Role.PRINCIPAL.value}),
}
#: Written by whoever runs ``init``: definitions are sealed by their own sha256.
UNCHECKED = frozenset({"definition.load"})

SpecOf = Callable[[Deliverable], WorkflowSpec]


@dataclass
class Roster:
    """Who held which role, as the events so far have it."""

    roles: dict[str, set[str]] = field(default_factory=dict)
    inactive: set[str] = field(default_factory=set)
    #: Each rectification item's responsible person, as its fields were set.
    responsible: dict[int, str] = field(default_factory=dict)

    def apply(self, event: AuditEvent) -> None:
        info = json.loads(event.detail or "{}")
        if event.action == "rectification.set" and event.deliverable_id is not None:
            self.responsible[event.deliverable_id] = info["responsible"]
            return
        user = info.get("user")
        if event.action == "user.add":
            self.roles[user] = set(info.get("roles") or ())
        elif event.action == "role.grant":
            self.roles.setdefault(user, set()).add(info["role"])
        elif event.action == "role.revoke":
            self.roles.setdefault(user, set()).discard(info["role"])
        elif event.action == "user.deactivate":
            self.inactive.add(user)
        elif event.action == "user.activate":
            self.inactive.discard(user)


def check(
    events: Iterable[AuditEvent], deliverables: Mapping[int, Deliverable], spec_of: SpecOf
) -> Roster:
    """Raise on the first event its actor was not allowed to make; return the
    roles the log leads to."""
    roster = Roster()
    for event in events:
        if event.action not in UNCHECKED:
            _check_event(event, roster, deliverables, spec_of)
        roster.apply(event)
    return roster


def _check_event(event: AuditEvent, roster: Roster, deliverables: Mapping[int, Deliverable],
                 spec_of: SpecOf) -> None:
    if _bootstrap(event, roster):
        return
    if event.actor not in roster.roles:
        _refuse(event, f"its actor {event.actor!r} was not a user then")
    if event.actor in roster.inactive:
        _refuse(event, f"its actor {event.actor} was deactivated then")
    held = roster.roles[event.actor]
    if event.role is not None and event.role not in held:
        _refuse(event, f"{event.actor} did not hold role {event.role} then "
                f"(held: {', '.join(sorted(held)) or 'none'})")
    needed = NEEDS_ROLE.get(event.action)
    if needed is not None and event.role not in needed:
        _refuse(event, f"{event.action} needs role {' or '.join(sorted(needed))}")
    item = deliverables.get(event.deliverable_id or 0)
    if item is not None:
        answerable = Answerable(item.owner_id, roster.responsible.get(item.id or 0))
        _check_deliverable_rules(event, item, spec_of(item), answerable)


def _bootstrap(event: AuditEvent, roster: Roster) -> bool:
    """The first user of an empty database adds themselves, as office."""
    if roster.roles or event.action != "user.add":
        return False
    info = json.loads(event.detail or "{}")
    if info.get("user") != event.actor or Role.OFFICE.value not in (info.get("roles") or ()):
        _refuse(event, "the first user must add themselves with the office role")
    return True


def _check_deliverable_rules(event: AuditEvent, item: Deliverable, spec: WorkflowSpec,
                             answerable: Answerable) -> None:
    if event.action == "create":
        allowed = {*spec.create_roles, Role.OFFICE.value}
        if event.role not in allowed or (event.actor != item.owner_id
                                         and event.role != Role.OFFICE.value):
            _refuse(event, f"{event.actor} could not create this {spec.id} as {event.role}")
    elif event.action == "revise" and event.actor != item.owner_id:
        _refuse(event, f"only the owner ({item.owner_id}) may revise deliverable {item.id}")
    elif event.action == "transition":
        transition = spec.transition(event.source or "", event.trigger or "")
        if transition is not None:
            _check_transition(event, item, transition, answerable)


def _check_transition(event: AuditEvent, item: Deliverable, transition: TransitionSpec,
                      answerable: Answerable) -> None:
    if event.role not in transition.roles:
        _refuse(event, f"{transition.trigger} needs role {' or '.join(transition.roles)}, "
                f"not {event.role}")
    if transition.owner_only and event.actor != answerable.owner:
        _refuse(event, f"only the owner ({answerable.owner}) may {transition.trigger}")
    if transition.owner_or_responsible and event.actor not in answerable:
        _refuse(event, f"only {answerable} may {transition.trigger}")
    if transition.not_owner and event.actor in answerable:
        _refuse(event, f"self-approval: {event.actor} answers for deliverable {item.id}")


def _refuse(event: AuditEvent, problem: str) -> NoReturn:
    raise AuditVerificationFailed(event.seq, f"not allowed: {problem}")
