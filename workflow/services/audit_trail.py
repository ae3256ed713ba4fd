"""The audit log as its readers see it: the events, the refusals, the digest,
the export, and the verification that everything stored is what the log says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from sqlmodel import Session, col, select

from workflow.errors import AuditVerificationFailed, InvalidInput
from workflow.machine.phases import PhaseMachine, phase_machine
from workflow.services import authority
from workflow.services.attachments import Attachments
from workflow.services.registry import Registry
from workflow.store import audit, chains, seals
from workflow.store.models import AccessRefusal, AuditEvent, Deliverable, PlanRun, User, UserRole
from workflow.store.store import Store
from workflow.store.views import EventView, RefusalView

#: Audit events read per round trip by an export.
_EXPORT_BATCH = 500


class AuditTrail:
    def __init__(self, store: Store, registry: Registry, attachments: Attachments) -> None:
        self._store = store
        self._registry = registry
        self._attachments = attachments

    def events(self, action: str | None = None) -> list[EventView]:
        """The whole audit log, oldest first; ``action`` keeps events whose
        action equals it or starts with it followed by a dot (``phase``)."""
        query = select(AuditEvent).order_by(col(AuditEvent.seq))
        if action:
            query = query.where(
                (col(AuditEvent.action) == action) | col(AuditEvent.action).startswith(f"{action}.")
            )
        with self._store.read() as session:
            return [audit.as_view(r) for r in session.exec(query).all()]

    def refusals(self) -> list[RefusalView]:
        with self._store.read() as session:
            rows = session.exec(select(AccessRefusal).order_by(col(AccessRefusal.id))).all()
            return [RefusalView.model_validate(r, from_attributes=True) for r in rows]

    def digest(self) -> str | None:
        with self._store.read() as session:
            return chains.digest(session.connection())

    def export(self, fmt: str) -> Iterator[str]:
        if fmt not in ("jsonl", "csv"):
            raise InvalidInput(f"unknown export format {fmt!r} (use jsonl or csv)")
        # Batches off one cursor (a server-side one on PostgreSQL), each event
        # let go once written: constant memory however long the log.
        query = select(AuditEvent).order_by(col(AuditEvent.seq)).execution_options(
            yield_per=_EXPORT_BATCH)
        with self._store.read() as session:
            yield from audit.export(session.exec(query), fmt)

    def verify(self, digest: str | None = None) -> audit.VerifyReport:
        """Check the whole chain and the kept digest; every sealed row against
        the seal its event recorded (the approved text, roles, opinions,
        windows…); replay every deliverable through its machine and every
        campaign through its phases; replay authority (each event's actor held
        the role and kept the rules); and re-hash every attachment's bytes."""
        with self._store.read() as session:
            events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
            head = audit.verify_chain(events, digest)
            rows = seals.check(session.connection(), events)
            items = {d.id or 0: d for d in session.exec(select(Deliverable)).all()}
            audit.replay(
                events, items,
                initial_state=lambda d: self._registry.spec(d.definition_sha).initial,
                next_state=lambda d, state, trigger: self._registry.machine(
                    d.definition_sha).next_state(state, trigger),
            )
            roster = authority.check(events, items,
                                     lambda d: self._registry.spec(d.definition_sha))
            _check_roster(session, roster)
            runs = session.exec(select(PlanRun).order_by(col(PlanRun.started_at))).all()
            phase_events = [audit.as_view(e) for e in events
                            if e.action.split(".")[0] in ("plan", "phase")]
        self._attachments.check_all()
        self._check_phases(runs, phase_events)
        return audit.VerifyReport(events=len(events), deliverables=len(items), head=head,
                                  rows=rows)

    def _check_phases(self, runs: Sequence[PlanRun], events: Sequence[EventView]) -> None:
        """Each campaign's phase moves, replayed through its phase machine, end
        at the phase stored on it."""
        for row in runs:
            mine = [e for e in events if _plan_of(e) == row.id]
            _replay_phases(mine, row, phase_machine(self._registry.plan(row)))


def _check_roster(session: Session, roster: authority.Roster) -> None:
    """The roles stored are the roles the events lead to."""
    stored: dict[str, set[str]] = {}
    for row in session.exec(select(UserRole)).all():
        stored.setdefault(row.user_id, set()).add(row.role)
    for user in session.exec(select(User)).all():
        if stored.get(user.id, set()) != roster.roles.get(user.id, set()) or (
                user.active == (user.id in roster.inactive)):
            raise AuditVerificationFailed(
                None, f"user {user.id}'s roles or status are not what the user events lead to")


def _plan_of(event: EventView) -> str | None:
    plan = json.loads(event.detail or "{}").get("plan")
    return plan if isinstance(plan, str) else None


def _replay_phases(events: Sequence[EventView], row: PlanRun, machine: PhaseMachine) -> None:
    phase: str | None = None
    for event in events:
        if event.action == "plan.start":
            expected = machine.initial if phase is None else None
        else:
            moves_on = phase is not None and phase == event.source and phase != machine.final
            expected = machine.next_phase(phase) if moves_on and phase else None
        if expected is None or event.dest != expected:
            raise AuditVerificationFailed(
                event.seq, f"campaign {row.id}: {event.action} {event.source} → {event.dest} "
                "does not follow from the phases before it")
        phase = event.dest
    if phase != row.phase:
        raise AuditVerificationFailed(
            None, f"campaign {row.id} is stored in phase {row.phase!r} but its events lead to "
            f"{phase!r}")
