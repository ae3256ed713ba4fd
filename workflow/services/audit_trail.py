"""The audit log as its readers see it: the events, the refusals, the digest,
the export, and the verification that everything stored is what the log says.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from operator import itemgetter

import sqlalchemy
from sqlalchemy import Connection
from sqlmodel import col, select

from workflow.errors import AuditVerificationFailed, InvalidInput
from workflow.machine.phases import PhaseMachine, phase_machine
from workflow.services import authority, verify_stream
from workflow.services.attachments import Attachments
from workflow.services.registry import Registry
from workflow.services.verify_stream import PhaseEvent
from workflow.store import audit, chains
from workflow.store.models import AccessRefusal, AuditEvent, PlanRun, User, UserRole
from workflow.store.store import Store
from workflow.store.views import EventView, RefusalView

#: Rows read per round trip by an export (audit events) or the roster's check.
_BATCH = 500

_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]


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
        query = (sqlalchemy.select(*(_EVENTS.c[name] for name in audit.EXPORT_FIELDS))
                 .order_by(_EVENTS.c.seq).execution_options(yield_per=_BATCH))
        with self._store.read() as session:
            yield from audit.export(session.connection().execute(query), fmt)

    def verify(self, digest: str | None = None) -> audit.VerifyReport:
        """Check the whole chain and the kept digest; every sealed row against
        the seal its event recorded (the approved text, roles, opinions,
        windows…); replay every deliverable through its machine and every
        campaign through its phases; replay authority (each event's actor held
        the role and kept the rules); and re-hash every attachment's bytes.
        In constant memory, however long the log (:mod:`.verify_stream`)."""
        with self._store.read() as session:
            verified = verify_stream.verify(session.connection(), self._registry, digest)
            _check_roster(session.connection(), verified.roster)
            runs = session.exec(select(PlanRun).order_by(col(PlanRun.started_at))).all()
        self._attachments.check_all()
        self._check_phases(runs, verified.phases)
        return verified.report

    def _check_phases(self, runs: Sequence[PlanRun], events: Sequence[PhaseEvent]) -> None:
        """Each campaign's phase moves, replayed through its phase machine, end
        at the phase stored on it."""
        for row in runs:
            mine = [e for e in events if e.plan == row.id]
            _replay_phases(mine, row, phase_machine(self._registry.plan(row)))


def _check_roster(connection: Connection, roster: authority.Roster) -> None:
    """The roles stored are the roles the events lead to (one user at a time)."""
    rows = (sqlalchemy.select(_USERS.c.id, _USERS.c.active, _ROLES.c.role)
            .select_from(_USERS.outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id))
            .order_by(_USERS.c.id).execution_options(yield_per=_BATCH))
    for user_id, held in groupby(connection.execute(rows), key=itemgetter(0)):
        rows_of_user = list(held)  # a user's roles: a few
        stored = {role for _, _, role in rows_of_user if role is not None}
        if stored != roster.roles.get(user_id, set()) or (
                rows_of_user[0].active == (user_id in roster.inactive)):
            raise AuditVerificationFailed(
                None, f"user {user_id}'s roles or status are not what the user events lead to")


def _replay_phases(events: Sequence[PhaseEvent], row: PlanRun, machine: PhaseMachine
                   ) -> None:
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
