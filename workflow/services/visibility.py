"""Who may read which deliverable: the served interface's rule of sight.

The command line trusts whoever runs it with the database; a browser does
not.  A member sees their own deliverables (and the rectification items they
answer for), reviewers the types they review, the campaign office and the
supervision group everything, and everyone what is on public notice (an open
publicity window).  A deliverable someone may not read looks missing
(:class:`~workflow.errors.NotFound`), so ids cannot be probed.
"""

from __future__ import annotations

from sqlmodel import Session

from workflow.errors import InvalidInput, NotFound, PermissionDenied
from workflow.machine import policy
from workflow.services.reads import Reads
from workflow.services.registry import Registry
from workflow.spec.definition import Role, Rule, WorkflowSpec
from workflow.store.store import Store

#: Roles that see every deliverable: those who run and who supervise the campaign.
SEE_ALL = frozenset({Role.OFFICE.value, Role.SUPERVISOR.value})
_OWNERS_RULES = frozenset({Rule.OWNER_ONLY, Rule.OWNER_OR_RESPONSIBLE})


def reviewer_roles(spec: WorkflowSpec) -> frozenset[str]:
    """The roles that act on others' deliverables of a type: every role of a
    transition that is not its owner's own, nor the objection anyone may
    raise while the deliverable is on public notice."""
    objection = spec.publicity.objection_trigger if spec.publicity else None
    return frozenset(role for t in spec.transitions
                     if not _OWNERS_RULES & set(t.rules) and t.trigger != objection
                     for role in t.roles)


class Visibility:
    def __init__(self, store: Store, registry: Registry, reads: Reads) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads

    def may_read(self, user_id: str | None, deliverable_id: int) -> bool:
        """Whether ``user_id`` (None: someone not signed in) may read it."""
        try:
            self.require_read(user_id, deliverable_id)
        except NotFound:
            return False
        return True

    def require_read(self, user_id: str | None, deliverable_id: int) -> None:
        """Raise NotFound unless ``user_id`` may read the deliverable."""
        if not self._sees(user_id, deliverable_id):
            raise NotFound("deliverable", deliverable_id)

    def _sees(self, user_id: str | None, deliverable_id: int) -> bool:
        with self._store.read() as session:
            row = self._store.state_of(session, deliverable_id)
            who = self._who(session, user_id)
        if who is not None and (who.roles & SEE_ALL or who.id in policy.Answerable(
                row.owner_id, row.responsible_id)):
            return True
        if who is not None and who.roles & reviewer_roles(self._registry.spec(
                row.definition_sha)):
            return True
        return bool(self._reads.windows(deliverable_id, open_only=True))

    def _who(self, session: Session, user_id: str | None) -> policy.Actor | None:
        if not user_id:
            return None
        try:
            return self._store.actor(session, user_id)
        except (NotFound, PermissionDenied, InvalidInput):
            return None  # unknown or deactivated: they see what the public sees
