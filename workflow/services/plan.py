"""The campaign itself: start it from a plan and a roster, read its phase and
the gate out of it, and advance through the gates.  What it records as it goes
(events, talks, targets) is :mod:`workflow.services.plan_records`.  Every
write is one audited transaction, like deliverables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from sqlmodel import Session, col, func, select, update

from workflow.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.machine import policy
from workflow.machine.phases import phase_machine
from workflow.services import listing, overdue, tallies
from workflow.services.gates import (
    Check,
    Facts,
    Shortfall,
    ShortItem,
    ShortOf,
    Timeline,
    checklist,
    event_flags,
    talks_done,
    timeline,
)
from workflow.services.reads import Reads, roles_of
from workflow.services.registry import Registry
from workflow.services.rows import insert_deliverable, insert_user
from workflow.spec import loader
from workflow.spec.definition import Role
from workflow.spec.plan import PlanSpec, in_group
from workflow.spec.roster import Person
from workflow.store import audit, seals
from workflow.store.models import AuditEvent, EventRecord, PlanRun, Talk, TargetEntry, User
from workflow.store.store import Store
from workflow.store.views import EventRecordView, EventView, TalkView, TargetView, UserView

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class Plan:
    """A campaign: its plan, its phase, the gate out of it, and its records."""

    def __init__(self, store: Store, registry: Registry, reads: Reads) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads

    # -- reading the plan -------------------------------------------------------------

    def plan_ids(self) -> list[str]:
        with self._store.read() as session:
            return list(session.exec(select(PlanRun.id).order_by(col(PlanRun.started_at))).all())

    def spec(self, plan_id: str | None = None) -> PlanSpec:
        """The plan a campaign was started from (the only one, when ``plan_id`` is None)."""
        return self.row(plan_id)[1]

    def phase(self, plan_id: str | None = None) -> str:
        return self.row(plan_id)[0].phase

    def row(self, plan_id: str | None) -> tuple[PlanRun, PlanSpec]:
        """A campaign's stored row and its plan."""
        with self._store.read() as session:
            row = run(session, plan_id)
        return row, self._registry.plan(row)

    def facts(self, plan_id: str | None = None) -> Facts:
        row, plan = self.row(plan_id)
        views, talks = self._record_views(row.id)
        people = self._people(row.id, plan, views)
        return Facts(
            plan=plan,
            people=people,
            events=_flagged(plan, views, talks, people),
            talks=talks,
            short_of=self._short_of(row.id),
            specs={spec.id: spec for spec in self._registry.definitions()},
        )

    def _short_of(self, plan_id: str) -> ShortOf:
        """The gates' question about the campaign's deliverables, asked of the
        database once per (type, states) a checklist names."""
        answers: dict[tuple[str, tuple[str, ...]], Shortfall] = {}

        def short_of(type_id: str, states: tuple[str, ...]) -> Shortfall:
            if (type_id, states) not in answers:
                answers[type_id, states] = self._shortfall(plan_id, type_id, states)
            return answers[type_id, states]
        return short_of

    def _shortfall(self, plan_id: str, type_id: str, states: tuple[str, ...]) -> Shortfall:
        with self._store.read() as session:
            connection = session.connection()
            if connection.execute(tallies.any_select(plan_id, type_id)).first() is None:
                return Shortfall(present=False)
            rows = connection.execute(tallies.short_of_select(plan_id, type_id, states))
            spec = self._registry.spec
            return Shortfall(present=True, items=tuple(
                ShortItem(id=r.id, title=r.title, owner_name=r.owner_name
                          if r.owner_name is not None else r.owner_id, state=r.state,
                          state_label=spec(r.definition_sha).state(r.state).label)
                for r in rows))

    def phase_tallies(self, plan_id: str | None = None) -> list[tallies.PhaseTally]:
        """The campaign's own deliverables counted by phase, type and state, each
        count complete or not (:mod:`workflow.services.lateness`): one ``GROUP BY``."""
        row, plan = self.row(plan_id)
        with self._store.read() as session:
            connection = session.connection()
            done = tallies.complete_table(overdue.complete_rows(
                plan, listing.definitions_in_use(connection), self._registry.spec))
            return tallies.phase_tallies(connection.execute(tallies.by_phase_select(row.id, done)))

    def phase_events(self, plan_id: str | None = None) -> list[EventView]:
        """The campaign's phase moves (``phase.advance``, ``phase.force``) from
        the audit log, oldest first: among the events about no deliverable,
        which an index finds."""
        row, _ = self.row(plan_id)
        action = col(AuditEvent.action)
        with self._store.read() as session:
            events = session.exec(
                select(AuditEvent).where(col(AuditEvent.deliverable_id).is_(None),
                                         (action == "phase") | action.startswith("phase."))
                .order_by(col(AuditEvent.seq))).all()
            return [audit.as_view(e) for e in events if _plan_of(e.detail) == row.id]

    def gate(self, plan_id: str | None = None) -> list[Check]:
        """The checklist for leaving the current phase."""
        facts = self.facts(plan_id)
        current = self.phase(plan_id)
        return checklist(facts.plan.leaf(current), facts)

    def event_records(self, plan_id: str | None = None) -> list[EventRecordView]:
        row, plan = self.row(plan_id)
        views, talks = self._record_views(row.id)
        return _flagged(plan, views, talks, self._people(row.id, plan, views))

    def event_record(self, record_id: int, plan_id: str | None = None) -> EventRecordView:
        """One record with its flags, judged against the first record of each
        kind and the talks, without reading the campaign's every record."""
        row, plan = self.row(plan_id)
        with self._store.read() as session:
            record = session.get(EventRecord, record_id)
            if record is None or record.plan_id != row.id:
                raise NotFound("event record", record_id)
            held = col(EventRecord.held_on)
            first = session.exec(
                select(EventRecord.kind, func.min(held))
                .where(col(EventRecord.plan_id) == row.id).group_by(col(EventRecord.kind))).all()
            talks = _talk_views(session, row.id)
        view = _event_view(record)
        people = self._people(row.id, plan, [view])
        when = Timeline(first_held=dict(first), talks_done=talks_done(talks, people))
        return view.model_copy(update={"flags": tuple(
            event_flags(plan, plan.event(view.kind), view, people, when))})

    def _record_views(self, plan_id: str) -> tuple[list[EventRecordView], list[TalkView]]:
        with self._store.read() as session:
            records = session.exec(
                select(EventRecord).where(col(EventRecord.plan_id) == plan_id)
                .order_by(col(EventRecord.held_on), col(EventRecord.id))
            ).all()
            return [_event_view(r) for r in records], _talk_views(session, plan_id)

    def _people(self, plan_id: str, plan: PlanSpec, records: Sequence[EventRecordView]
                ) -> list[UserView]:
        """The people the gates may name (:func:`tallies.named_by`), and
        whoever a record names in its facts: who opened it, who fell short."""
        people = self._reads.users(tallies.named_by(plan_id, plan))
        known = {p.id for p in people}
        named = {someone for r in records for someone in (r.opened_by, *r.short)
                 if someone is not None and someone not in known}
        if named:
            people += self._reads.users(select(User.id).where(col(User.id).in_(sorted(named))))
        return people

    def talks(self, plan_id: str | None = None) -> list[TalkView]:
        row, _ = self.row(plan_id)
        with self._store.read() as session:
            return _talk_views(session, row.id)

    def targets(self, plan_id: str | None = None) -> list[TargetView]:
        row, plan = self.row(plan_id)
        with self._store.read() as session:
            entries = session.exec(
                select(TargetEntry).where(col(TargetEntry.plan_id) == row.id)
            ).all()
        return [
            TargetView(
                id=t.id, label=t.label, unit=t.unit, goal=t.goal,
                done=sum(e.amount for e in entries if e.target_id == t.id),
                entries=sum(1 for e in entries if e.target_id == t.id),
                responsible=t.responsible,
            )
            for t in plan.targets
        ]

    # -- starting -------------------------------------------------------------------------

    def start(
        self, actor: str | None, plan: loader.LoadedPlan, people: Sequence[Person],
        progress: Progress = _quiet,
    ) -> list[int]:
        """Load the plan and its roster and create every required deliverable.

        One transaction: a bad row anywhere leaves nothing behind.  Returns
        the ids of the deliverables created.
        """
        spec = plan.spec
        with self._store.writing() as session:
            if session.get(PlanRun, spec.id) is not None:
                raise InvalidInput(f"campaign {spec.id!r} has already been started")
            who = self._starter(session, actor, people)
            self._add_roster(session, who, people, progress)
            initial = phase_machine(spec).initial
            now = self._store.now()
            session.add(PlanRun(id=spec.id, sha256=plan.sha256, file=plan.file.rsplit("/")[-1],
                                source=plan.source, phase=initial, started_at=now,
                                updated_at=now))
            session.flush()
            audit.append(session, at=now, actor=who, role=Role.OFFICE.value,
                         action="plan.start", dest=initial,
                         detail=audit.detail({"plan": spec.id, "sha256": plan.sha256}),
                         seals=[seals.seal(session.connection(), "plan_run", spec.id)])
            return self._create_required(session, who, spec, people, progress)

    def _starter(self, session: Session, actor: str | None, people: Sequence[Person]) -> str:
        if session.exec(select(User).limit(1)).first() is not None:
            who = self._store.actor(session, actor)
            policy.require_user_admin(who)
            return who.id
        # An empty database: the roster's own office member bootstraps it.
        starter = next((p for p in people if p.id == actor), None)
        if starter is None or Role.OFFICE not in starter.roles:
            raise InvalidInput("on a new database, --as must name an office user of the roster")
        return starter.id

    def _add_roster(
        self, session: Session, who: str, people: Sequence[Person], progress: Progress
    ) -> None:
        # The starter of a new database adds themselves first: every later
        # user.add then has an office user as its actor (the replay checks it).
        for person in sorted(people, key=lambda p: p.id != who):
            existing = session.get(User, person.id)
            if existing is None:
                insert_user(self._store, session, who, Role.OFFICE.value, person.id, person.name,
                                  person.roles, person.unit)
            elif (existing.name, existing.unit, set(roles_of(session, person.id))) != (
                person.name, person.unit, set(person.roles)
            ):
                raise InvalidInput(
                    f"roster: {person.id} already exists with another name, unit or roles")
            progress(f"user {person.id}")

    def _create_required(
        self, session: Session, who: str, spec: PlanSpec, people: Sequence[Person],
        progress: Progress,
    ) -> list[int]:
        office = policy.Actor(who, frozenset({Role.OFFICE.value}))
        created = []
        for requirement in spec.requirements:
            definition = self._registry.current(session, requirement.deliverable)
            workflow = self._registry.spec(definition.sha256)
            for owner in _owners(requirement.per, requirement.owner_role, people,
                                 requirement.deliverable):
                created.append(insert_deliverable(
                    self._store,
                    session, office, Role.OFFICE.value, owner.id, workflow, definition.sha256,
                    requirement.title.format(name=owner.name), due=requirement.due,
                    plan_id=spec.id, phase=requirement.phase,
                ))
                progress(f"{requirement.deliverable} for {owner.id}")
        return created

    # -- phases -------------------------------------------------------------------------------

    def advance(
        self, actor: str | None, *, force: bool = False, reason: str | None = None,
        plan_id: str | None = None,
    ) -> EventView:
        """Leave the current phase.  Refused, listing what is missing, unless
        its gate holds — or an office user forces it with a reason."""
        reason = (reason or "").strip() or None
        with self._store.writing() as session:
            who = self._store.actor(session, actor)  # the first statement takes the write lock
            current = run(session, plan_id)
            # Read under the lock: nobody can change what the gate looks at
            # between this check and the move.
            checks = self.gate(current.id)
            spec = self._registry.plan(current)
            if not (who.has(Role.OFFICE) or who.has(Role.PRINCIPAL)):
                raise PermissionDenied(who.id, "advance the campaign", "needs role office or "
                                       "principal")
            dest = phase_machine(spec).next_phase(current.phase)
            missing = [f"{c.label}: {m}" for c in checks for m in c.missing]
            action = "phase.advance"
            if missing and not force:
                raise TransitionNotAllowed(
                    f"cannot leave {spec.leaf(current.phase).label}: {len(missing)} missing",
                    items=missing)
            if force:
                if not who.has(Role.OFFICE):
                    raise PermissionDenied(who.id, "force an advance", "needs role office")
                if reason is None:
                    raise TransitionNotAllowed("a forced advance needs a reason (--reason)")
                action = "phase.force"
            source = current.phase
            self._move_phase(session, current, dest)
            return audit.append(
                session, at=self._store.now(), actor=who.id, role=Role.OFFICE.value
                if who.has(Role.OFFICE) else Role.PRINCIPAL.value, action=action,
                trigger="advance", source=source, dest=dest, comment=reason,
                detail=audit.detail({"plan": current.id, "missing": missing}),
            )

    def _move_phase(self, session: Session, current: PlanRun, dest: str) -> None:
        result = session.execute(
            update(PlanRun)
            .where(col(PlanRun.id) == current.id, col(PlanRun.version) == current.version)
            .values(phase=dest, version=current.version + 1, updated_at=self._store.now())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(0, current.version, current.version + 1)

def _owners(
    per: str | None, owner_role: str | None, people: Sequence[Person], type_id: str
) -> list[Person]:
    if per is not None:
        return [p for p in people if in_group(p.roles, per)]
    holders = [p for p in people if owner_role in p.roles]
    if not holders:
        raise InvalidInput(f"roster: nobody has role {owner_role} to own the {type_id}")
    return holders[:1]


def _plan_of(detail: str | None) -> str | None:
    plan = json.loads(detail or "{}").get("plan")
    return plan if isinstance(plan, str) else None


def _talk_views(session: Session, plan_id: str) -> list[TalkView]:
    rows = session.exec(
        select(Talk).where(col(Talk.plan_id) == plan_id).order_by(col(Talk.id))).all()
    return [TalkView.model_validate(t, from_attributes=True) for t in rows]


def _flagged(plan: PlanSpec, views: Sequence[EventRecordView], talks: Sequence[TalkView],
             people: Sequence[UserView]) -> list[EventRecordView]:
    """``views`` with the rules each breaks."""
    when = timeline(views, talks, people)
    return [v.model_copy(update={"flags": tuple(
        event_flags(plan, plan.event(v.kind), v, people, when))}) for v in views]


def _event_view(row: EventRecord) -> EventRecordView:
    facts = json.loads(row.facts or "{}")
    return EventRecordView(
        id=row.id or 0, kind=row.kind, held_on=row.held_on, days=row.days, person=row.person,
        theme=row.theme, supervisors_invited=row.supervisors_invited,
        attendees=tuple(json.loads(row.attendees)), minutes=row.minutes,
        recorded_by=row.recorded_by, invited=tuple(facts.get("invited", ())),
        opened_by=facts.get("opened_by"), covered=tuple(facts.get("covered", ())),
        short=tuple(facts.get("short", ())),
    )



def run(session: Session, plan_id: str | None) -> PlanRun:
    """A campaign's row, read in the caller's transaction; without ``plan_id``
    the only campaign there is."""
    if plan_id is not None:
        row = session.get(PlanRun, plan_id)
        if row is None:
            raise NotFound("campaign", plan_id)
        return row
    rows = session.exec(select(PlanRun)).all()
    if not rows:
        raise NotFound("campaign (run `campaign start PLAN --roster FILE`)", "")
    if len(rows) > 1:
        raise InvalidInput(f"several campaigns: name one of {', '.join(r.id for r in rows)} "
                           "(--plan ID)")
    return rows[0]
