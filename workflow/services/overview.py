"""Who may see the campaign's overview — its phase, its gate, its progress by
unit and everyone's overdue items — and the roster with its accounts.

The overview names other people's deliverables and how late they are, so it
is for those who run, lead or supervise the campaign — the office, the
supervision group, the principal and the leadership team — and not for a
member or a branch, who see their own work in their inbox.
"""

from __future__ import annotations

from workflow.errors import PermissionDenied
from workflow.machine import policy
from workflow.spec.definition import Role
from workflow.store.views import UserView

OVERVIEW_ROLES = frozenset({Role.OFFICE.value, Role.SUPERVISOR.value, Role.PRINCIPAL.value,
                            Role.LEADER.value})


def require_overview(user: UserView) -> None:
    """Raise PermissionDenied unless ``user`` may see the campaign's overview."""
    if not user.active or not OVERVIEW_ROLES & set(user.roles):
        raise PermissionDenied(
            user.id, "see the campaign overview",
            "it lists everyone's deliverables: needs role "
            f"{' or '.join(sorted(OVERVIEW_ROLES))}")


def require_user_admin(user: UserView) -> None:
    """Raise PermissionDenied unless ``user`` manages the roster (the office):
    the rule every write of :mod:`workflow.services.people` applies."""
    policy.require_user_admin(policy.Actor(user.id, frozenset(user.roles) if user.active
                                           else frozenset()))
