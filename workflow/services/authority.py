"""Replaying who was allowed to do what.

The hash chain proves that the log was not edited; it does not prove that
what the log says was allowed.  An event appended by someone with the
database file — an approval by a member, say — links into the chain as well
as any.  So the verification replays authority too: it rebuilds every
user's roles from the user and role events, in order, and refuses an event
whose actor was not an active user holding the role it claims, a role the
move needs, or that broke a rule such as self-approval.

Both halves stream.  An actor's standing is checked as the log is read in
order (:func:`check_actor`): the user and role events are few and the
:class:`Roster` keeps what they say.  A deliverable's rules are checked as its
own events are replayed, in order (:class:`Rules`), with the responsible
person its rectification events set; nothing about deliverables is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NoReturn

from workflow.errors import AuditVerificationFailed
from workflow.machine.policy import Answerable
from workflow.spec.definition import Role, TransitionSpec, WorkflowSpec

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

#: Actions on one's own account, or by the office on anyone's.
SELF_OR_OFFICE = frozenset({"password.set", "contact.set", "session.start", "session.end"})

#: Who objects from the public notice board (公示): nobody's account, and
#: never one — it is not a valid user id, so no user can be added under it.
#: It may fire a definition's objection trigger out of publicity, under
#: :data:`PUBLIC_ROLE`, and nothing else (:func:`check_actor`, :class:`Rules`).
PUBLIC_ACTOR = "@public"
PUBLIC_ROLE = "public"

USER_ACTIONS = frozenset({"user.add", "role.grant", "role.revoke", "user.deactivate",
                          "user.activate"})


@dataclass
class Roster:
    """Who held which role, as the user and role events so far have it: the
    log's few global events, kept in memory; the many about deliverables are
    never held.  Users holding the same roles share one set of them."""

    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    inactive: set[str] = field(default_factory=set)
    _sets: dict[frozenset[str], frozenset[str]] = field(default_factory=dict, repr=False)

    def apply(self, event: Any) -> None:
        if event.action not in USER_ACTIONS:
            return
        info = json.loads(event.detail or "{}")
        user = info.get("user")
        held = self.roles.get(user, frozenset())
        if event.action == "user.add":
            self._hold(user, frozenset(info.get("roles") or ()))
        elif event.action == "role.grant":
            self._hold(user, held | {info["role"]})
        elif event.action == "role.revoke":
            self._hold(user, held - {info["role"]})
        elif event.action == "user.deactivate":
            self.inactive.add(user)
        elif event.action == "user.activate":
            self.inactive.discard(user)

    def _hold(self, user: str, roles: frozenset[str]) -> None:
        self.roles[user] = self._sets.setdefault(roles, roles)


def check_actor(event: Any, roster: Roster) -> None:
    """Raise if ``event``'s actor was not an active user holding the role it
    claims, or a role its action needs, as ``roster`` stood just before it
    (the log read in order up to it)."""
    if event.action in UNCHECKED or _bootstrap(event, roster):
        return
    if event.actor == PUBLIC_ACTOR or event.role == PUBLIC_ROLE:
        if event.actor != PUBLIC_ACTOR or event.role != PUBLIC_ROLE \
                or event.action != "transition":
            _refuse(event, "only the public's objection is written as the public")
        return  # which transition it fired is the Rules' replay's to check
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
    if event.action in SELF_OR_OFFICE and event.role != Role.OFFICE.value:
        subject = json.loads(event.detail or "{}").get("user")
        if subject != event.actor:
            _refuse(event, f"{event.actor} may not {event.action} for {subject} "
                    "without role office")


class Rules:
    """The rules of a deliverable's moves — who may create it, revise it, fire
    a transition — checked as its events are replayed, in order; each
    definition's transitions looked up once."""

    def __init__(self) -> None:
        self._transitions: dict[tuple[str, str, str], TransitionSpec | None] = {}

    def check(self, event: Any, item: Any, spec: WorkflowSpec, responsible: str | None) -> None:
        """Raise if ``event`` broke a rule of its deliverable ``item`` (a row
        with ``id``, ``owner_id`` and ``definition_sha``, whose definition is
        ``spec``), ``responsible`` being the rectification's responsible person
        as the deliverable's events before it set."""
        if event.action == "transition":
            transition = self._transition(item.definition_sha, spec, event)
            if event.actor == PUBLIC_ACTOR:
                _check_public(event, spec)
            elif transition is not None:
                _check_transition(event, item, transition, Answerable(item.owner_id, responsible))
        elif event.action not in UNCHECKED:
            _check_deliverable_rules(event, item, spec)

    def _transition(self, sha: str, spec: WorkflowSpec, event: Any) -> TransitionSpec | None:
        key = (sha, event.source or "", event.trigger or "")
        if key not in self._transitions:
            self._transitions[key] = spec.transition(key[1], key[2])
        return self._transitions[key]


def _bootstrap(event: Any, roster: Roster) -> bool:
    """The first user of an empty database adds themselves, as office."""
    if roster.roles or event.action != "user.add":
        return False
    info = json.loads(event.detail or "{}")
    if info.get("user") != event.actor or Role.OFFICE.value not in (info.get("roles") or ()):
        _refuse(event, "the first user must add themselves with the office role")
    return True


def _check_deliverable_rules(event: Any, item: Any, spec: WorkflowSpec) -> None:
    if event.action == "create":
        allowed = {*spec.create_roles, Role.OFFICE.value}
        if event.role not in allowed or (event.actor != item.owner_id
                                         and event.role != Role.OFFICE.value):
            _refuse(event, f"{event.actor} could not create this {spec.id} as {event.role}")
    elif event.action == "revise" and event.actor != item.owner_id:
        _refuse(event, f"only the owner ({item.owner_id}) may revise deliverable {item.id}")


def _check_public(event: Any, spec: WorkflowSpec) -> None:
    """The public may only object to a deliverable in publicity."""
    if spec.publicity is None or event.source != "publicity" \
            or event.trigger != spec.publicity.objection_trigger:
        _refuse(event, f"the public may only object during publicity, not {event.trigger} "
                f"from {event.source}")


def _check_transition(event: Any, item: Any, transition: TransitionSpec,
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


def _refuse(event: Any, problem: str) -> NoReturn:
    raise AuditVerificationFailed(event.seq, f"not allowed: {problem}")
