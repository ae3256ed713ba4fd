"""What a deliverable's page offers its viewer, and why an item came back.

A page shows exactly the moves its viewer may make now, so it asks the same
policy code the move path checks (:func:`workflow.machine.policy.may_fire`,
:func:`~workflow.machine.policy.require_revisable`, the attachment and opinion
rules of their services) for the one deliverable shown — the inbox's
question (:mod:`workflow.services.permissions`) asked of one row.  Nothing
here decides anything the services do not: a form posted anyway still goes
through the service, which refuses and records the refusal.  Nothing writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import Session

from workflow.errors import PermissionDenied, TransitionNotAllowed
from workflow.machine import policy
from workflow.services import rectification
from workflow.services.attachments import Attachments
from workflow.services.documents import opinion_role
from workflow.services.listing import DELIVERABLES
from workflow.services.registry import Registry
from workflow.spec.definition import TransitionSpec, WorkflowSpec
from workflow.store.models import AuditEvent, Revision
from workflow.store.store import Store

_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_REVISIONS = Revision.__table__  # type: ignore[attr-defined]

#: The moves whose type rules need a rating as well as a comment (the
#: office's verdict on a rectification item's effect).
_RATED = frozenset({(rectification.TYPE_ID, "verify")})


@dataclass(frozen=True)
class MoveOffer:
    """A move the viewer may make now, as a button shows it."""

    trigger: str
    label: str
    label_en: str
    dest: str
    requires_comment: bool
    #: The ratings to choose from when the move needs one (else empty).
    ratings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Offers:
    """Everything the viewer may do to one deliverable now."""

    moves: tuple[MoveOffer, ...]
    revise: bool
    attach: bool
    comment: bool


@dataclass(frozen=True)
class CameBack:
    """The move that last sent a deliverable back, and its reason."""

    trigger: str
    label: str
    label_en: str
    actor: str
    at: str
    reason: str


class PageReads:
    def __init__(self, store: Store, registry: Registry, attachments: Attachments) -> None:
        self._store = store
        self._registry = registry
        self._attachments = attachments

    def offers(self, actor: str, deliverable_id: int) -> Offers:
        """What ``actor`` may do to the deliverable now: the moves the roles and
        owner rules allow (none without content, as the inbox), a revision,
        an attachment, an opinion."""
        with self._store.read() as session:
            who = self._store.actor(session, actor)
            row = self._store.state_of(session, deliverable_id)
            has_content = _has_content(session, deliverable_id)
        spec = self._registry.spec(row.definition_sha)
        answerable = policy.Answerable(row.owner_id, row.responsible_id)
        moves = tuple(_offer(spec, t) for t in spec.transitions_from(row.state)
                      if has_content and policy.may_fire(who, answerable, t))
        return Offers(
            moves=moves,
            revise=_allowed(lambda: policy.require_revisable(who, row.owner_id, row.state, spec,
                                                             deliverable_id)),
            # The services' own checks: the same code refuses the write.
            attach=_allowed(lambda: self._attachments.attach_role(
                who, row.owner_id, row.definition_sha, deliverable_id)),
            comment=has_content and _allowed(lambda: opinion_role(
                who, row.owner_id, spec, deliverable_id)),
        )

    def came_back(self, deliverable_ids: Iterable[int]) -> dict[int, CameBack]:
        """For each deliverable whose latest move needed a reason (a return,
        rejection, objection or reopening), that move and its reason."""
        ids = sorted(set(deliverable_ids))
        if not ids:
            return {}
        e = _EVENTS.c
        latest = (core_select(func.max(e.seq).label("seq"))
                  .where(e.deliverable_id.in_(ids), e.action == "transition")
                  .group_by(e.deliverable_id))
        query = (core_select(e.deliverable_id, e.source, e.trigger, e.actor, e.at, e.comment,
                             _current_sha())
                 .where(e.seq.in_(latest)))
        with self._store.read() as session:
            rows = session.connection().execute(query).all()
        found: dict[int, CameBack] = {}
        for row in rows:
            transition = self._registry.spec(row.sha).transition(row.source, row.trigger)
            if transition is not None and transition.requires_comment and row.comment:
                found[row.deliverable_id] = CameBack(
                    row.trigger, transition.label, transition.label_en, row.actor, row.at,
                    row.comment)
        return found


def _current_sha() -> Any:
    """The definition the deliverable follows (its moves are that definition's)."""
    return (core_select(DELIVERABLES.c.definition_sha)
            .where(DELIVERABLES.c.id == _EVENTS.c.deliverable_id)
            .scalar_subquery().label("sha"))


def _has_content(session: Session, deliverable_id: int) -> bool:
    query = core_select(_REVISIONS.c.number).where(
        _REVISIONS.c.deliverable_id == deliverable_id).limit(1)
    return session.connection().execute(query).first() is not None


def _offer(spec: WorkflowSpec, transition: TransitionSpec) -> MoveOffer:
    rated = (spec.id, transition.trigger) in _RATED
    return MoveOffer(transition.trigger, transition.label, transition.label_en,
                     transition.dest, transition.requires_comment,
                     rectification.RATINGS if rated else ())


def _allowed(check: Callable[[], object]) -> bool:
    """Whether a service's check passes (it raises when it refuses)."""
    try:
        check()
    except (PermissionDenied, TransitionNotAllowed):
        return False
    return True
