"""The campaign itself: start it from a plan and a roster, advance its phases
through their gates, and record what the plan requires (events, talks,
target progress).  Every write is one audited transaction, like deliverables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select, update

from workflow.errors import (
    AuditVerificationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.machine import policy
from workflow.machine.phases import PhaseMachine, phase_machine
from workflow.services.gates import Check, Facts, checklist, event_flags, pair_key, team
from workflow.services.people import PeopleOps
from workflow.services.writes import detail
from workflow.spec import loader
from workflow.spec.definition import Role
from workflow.spec.plan import PlanSpec, require_amount
from workflow.spec.roster import Person
from workflow.store import audit, seals
from workflow.store.models import (
    EventRecord,
    EventRecordView,
    EventView,
    PlanRun,
    Talk,
    TalkView,
    TargetEntry,
    TargetView,
    User,
)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class PlanOps(PeopleOps):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[str, PlanSpec] = {}

    # -- reading the plan -------------------------------------------------------------

    def plan_ids(self) -> list[str]:
        with self._read() as session:
            return list(session.exec(select(PlanRun.id).order_by(col(PlanRun.started_at))).all())

    def plan(self, plan_id: str | None = None) -> PlanSpec:
        return self._plan_row(plan_id)[1]

    def phase(self, plan_id: str | None = None) -> str:
        return self._plan_row(plan_id)[0].phase

    def _plan_row(self, plan_id: str | None) -> tuple[PlanRun, PlanSpec]:
        with self._read() as session:
            row = self._run(session, plan_id)
        return row, self._plan_spec(row)

    def _plan_spec(self, row: PlanRun) -> PlanSpec:
        key = f"plan:{row.sha256}"
        if key not in self._plans:
            self._plans[key] = loader.parse_plan(row.source, f"{row.file}@{row.sha256[:12]}").spec
        return self._plans[key]

    def _run(self, session: Session, plan_id: str | None) -> PlanRun:
        if plan_id is not None:
            row = session.get(PlanRun, plan_id)
            if row is None:
                raise NotFound("campaign", plan_id)
            return row
        rows = session.exec(select(PlanRun)).all()
        if not rows:
            raise NotFound("campaign (run `campaign start PLAN --roster FILE`)", "")
        if len(rows) > 1:
            raise InvalidInput(f"several campaigns: name one of {', '.join(r.id for r in rows)}")
        return rows[0]

    def facts(self, plan_id: str | None = None) -> Facts:
        row, plan = self._plan_row(plan_id)
        people = self.users()
        return Facts(
            plan=plan,
            people=people,
            deliverables=[d for d in self.deliverables() if d.plan_id == row.id],
            events=self.event_records(row.id),
            talks=self.talks(row.id),
            specs={spec.id: spec for spec in self.definitions()},
        )

    def gate(self, plan_id: str | None = None) -> list[Check]:
        """The checklist for leaving the current phase."""
        facts = self.facts(plan_id)
        current = self.phase(plan_id)
        return checklist(facts.plan.leaf(current), facts)

    def event_records(self, plan_id: str | None = None) -> list[EventRecordView]:
        row, plan = self._plan_row(plan_id)
        people = self.users()
        with self._read() as session:
            records = session.exec(
                select(EventRecord).where(col(EventRecord.plan_id) == row.id)
                .order_by(col(EventRecord.held_on), col(EventRecord.id))
            ).all()
            views = [_event_view(r) for r in records]
        return [v.model_copy(update={"flags": tuple(event_flags(plan.event(v.kind), v, people))})
                for v in views]

    def talks(self, plan_id: str | None = None) -> list[TalkView]:
        row, _ = self._plan_row(plan_id)
        with self._read() as session:
            rows = session.exec(
                select(Talk).where(col(Talk.plan_id) == row.id).order_by(col(Talk.id))
            ).all()
            return [TalkView.model_validate(t, from_attributes=True) for t in rows]

    def targets(self, plan_id: str | None = None) -> list[TargetView]:
        row, plan = self._plan_row(plan_id)
        with self._read() as session:
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

    def verify(self, digest: str | None = None) -> audit.VerifyReport:
        """Deliverables' checks, plus each campaign's phase moves replayed
        through its phase machine to the phase stored on it."""
        report = super().verify(digest)
        events = self.events("plan") + self.events("phase")
        for plan_id in self.plan_ids():
            row, spec = self._plan_row(plan_id)
            mine = sorted((e for e in events if _plan_of(e) == plan_id), key=lambda e: e.seq)
            _replay_phases(mine, row, phase_machine(spec))
        return report

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
        with self._writing() as session:
            if session.get(PlanRun, spec.id) is not None:
                raise InvalidInput(f"campaign {spec.id!r} has already been started")
            who = self._starter(session, actor, people)
            self._add_roster(session, who, people, progress)
            initial = phase_machine(spec).initial
            now = self._now()
            session.add(PlanRun(id=spec.id, sha256=plan.sha256, file=plan.file.rsplit("/")[-1],
                                source=plan.source, phase=initial, started_at=now,
                                updated_at=now))
            session.flush()
            audit.append(session, at=now, actor=who, role=Role.OFFICE.value,
                         action="plan.start", dest=initial,
                         detail=detail({"plan": spec.id, "sha256": plan.sha256}),
                         seals=[seals.seal(session.connection(), "plan_run", spec.id)])
            return self._create_required(session, who, spec, people, progress)

    def _starter(self, session: Session, actor: str | None, people: Sequence[Person]) -> str:
        if session.exec(select(User).limit(1)).first() is not None:
            who = self._actor(session, actor)
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
                self._insert_user(session, who, Role.OFFICE.value, person.id, person.name,
                                  person.roles, person.unit)
            elif (existing.name, existing.unit, set(self._roles(session, person.id))) != (
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
            definition = self._current_definition(session, requirement.deliverable)
            workflow = self.spec(definition.sha256)
            for owner in _owners(requirement.per, requirement.owner_role, people,
                                 requirement.deliverable):
                created.append(self._insert_deliverable(
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
        with self._writing() as session:
            who = self._actor(session, actor)  # the first statement takes the write lock
            run = self._run(session, plan_id)
            # Read under the lock: nobody can change what the gate looks at
            # between this check and the move.
            checks = self.gate(run.id)
            spec = self._plan_spec(run)
            if not (who.has(Role.OFFICE) or who.has(Role.PRINCIPAL)):
                raise PermissionDenied(who.id, "advance the campaign", "needs role office or "
                                       "principal")
            dest = phase_machine(spec).next_phase(run.phase)
            missing = [f"{c.label}: {m}" for c in checks for m in c.missing]
            action = "phase.advance"
            if missing and not force:
                raise TransitionNotAllowed(
                    f"cannot leave {spec.leaf(run.phase).label}: {len(missing)} missing",
                    items=missing)
            if force:
                if not who.has(Role.OFFICE):
                    raise PermissionDenied(who.id, "force an advance", "needs role office")
                if reason is None:
                    raise TransitionNotAllowed("a forced advance needs a reason (--reason)")
                action = "phase.force"
            source = run.phase
            self._move_phase(session, run, dest)
            return audit.append(
                session, at=self._now(), actor=who.id, role=Role.OFFICE.value
                if who.has(Role.OFFICE) else Role.PRINCIPAL.value, action=action,
                trigger="advance", source=source, dest=dest, comment=reason,
                detail=detail({"plan": run.id, "missing": missing}),
            )

    def _move_phase(self, session: Session, run: PlanRun, dest: str) -> None:
        result = session.execute(
            update(PlanRun)
            .where(col(PlanRun.id) == run.id, col(PlanRun.version) == run.version)
            .values(phase=dest, version=run.version + 1, updated_at=self._now())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(0, run.version, run.version + 1)

    # -- records --------------------------------------------------------------------------------

    def record_event(
        self, actor: str | None, kind: str, held_on: date, *, days: float = 0.5,
        person: str | None = None, theme: str | None = None,
        supervisors_invited: bool = False, attendees: Iterable[str] = (), minutes: str = "",
        plan_id: str | None = None,
    ) -> EventRecordView:
        """Record a required event.  A record breaking its rule is kept and flagged."""
        require_amount(days, "the days of an event (--days)")
        if days <= 0:
            raise InvalidInput("an event lasts more than 0 days (--days)")
        with self._writing() as session:
            who = self._actor(session, actor)
            run = self._run(session, plan_id)
            spec = self._plan_spec(run)
            if kind not in {e.kind for e in spec.events}:
                known = ", ".join(e.kind for e in spec.events)
                raise InvalidInput(f"unknown event kind {kind!r} (known: {known})")
            own = spec.event(kind).per is not None and person == who.id
            if not (who.has(Role.OFFICE) or own):
                raise PermissionDenied(who.id, f"record {kind}",
                                       "the office records events; others only their own")
            attendees = tuple(dict.fromkeys(attendees))
            for someone in (person, *attendees):
                if someone is not None and session.get(User, someone) is None:
                    raise NotFound("user", someone)
            record = EventRecord(
                plan_id=run.id, kind=kind, held_on=held_on, days=days, person=person,
                theme=theme, supervisors_invited=supervisors_invited,
                attendees=json.dumps(list(attendees), ensure_ascii=False), minutes=minutes,
                recorded_by=who.id, recorded_at=self._now(),
            )
            session.add(record)
            session.flush()
            audit.append(session, at=self._now(), actor=who.id, role=_role(who),
                         action="event.record", comment=minutes[:200] or None,
                         detail=detail({"plan": run.id, "record": record.id, "kind": kind,
                                        "held_on": held_on.isoformat(), "days": days,
                                        "person": person, "theme": theme}),
                         seals=[seals.seal(session.connection(), "event_record", record.id)])
            record_id = record.id
        return next(r for r in self.event_records(plan_id) if r.id == record_id)

    def record_talk(
        self, actor: str | None, first: str, second: str, held_on: date, notes: str = "",
        plan_id: str | None = None,
    ) -> TalkView:
        """Record a heart-to-heart talk; a party who records it confirms their side."""
        a, b = pair_key(first, second)
        if a == b:
            raise InvalidInput("a talk is between two different people")
        with self._writing() as session:
            who = self._actor(session, actor)
            run = self._run(session, plan_id)
            members = {u.id for u in team(self.users())}
            for party in (a, b):
                if party not in members:
                    raise InvalidInput(f"{party} is not in the leadership team")
            if not who.has(Role.OFFICE) and who.id not in (a, b):
                raise PermissionDenied(who.id, "record a talk", "only its parties or the office")
            if session.exec(select(Talk).where(col(Talk.plan_id) == run.id, col(Talk.first) == a,
                                               col(Talk.second) == b)).first():
                raise InvalidInput(f"the talk between {a} and {b} is already recorded")
            now = self._now()
            talk = Talk(plan_id=run.id, first=a, second=b, held_on=held_on, notes=notes,
                        recorded_by=who.id, first_confirmed_at=now if who.id == a else None,
                        second_confirmed_at=now if who.id == b else None)
            session.add(talk)
            session.flush()
            audit.append(session, at=now, actor=who.id, role=_role(who), action="talk.record",
                         detail=detail({"plan": run.id, "talk": talk.id, "between": [a, b],
                                        "held_on": held_on.isoformat()}),
                         seals=[seals.seal(session.connection(), "talk", talk.id)])
            return TalkView.model_validate(talk, from_attributes=True)

    def confirm_talk(self, actor: str | None, talk_id: int) -> TalkView:
        with self._writing() as session:
            who = self._actor(session, actor)
            talk = session.get(Talk, talk_id)
            if talk is None:
                raise NotFound("talk", talk_id)
            if who.id not in (talk.first, talk.second):
                raise PermissionDenied(who.id, "confirm a talk", "only its two parties")
            side = "first_confirmed_at" if who.id == talk.first else "second_confirmed_at"
            if getattr(talk, side) is not None:
                raise TransitionNotAllowed(f"{who.id} has already confirmed talk {talk_id}")
            setattr(talk, side, self._now())
            session.add(talk)
            session.flush()
            audit.append(session, at=self._now(), actor=who.id, role=_role(who),
                         action="talk.confirm",
                         detail=detail({"plan": talk.plan_id, "talk": talk_id}),
                         seals=[seals.seal(session.connection(), "talk", talk_id)])
            return TalkView.model_validate(talk, from_attributes=True)

    def record_target(
        self, actor: str | None, target_id: str, amount: float, note: str,
        plan_id: str | None = None,
    ) -> TargetView:
        """Add progress to a target (a negative amount corrects an earlier entry)."""
        require_amount(amount, "a target's amount")
        if not note.strip():
            raise InvalidInput("progress needs a note saying where it comes from (--note)")
        if amount == 0:
            raise InvalidInput("an amount of 0 records nothing")
        with self._writing() as session:
            who = self._actor(session, actor)
            run = self._run(session, plan_id)
            spec = self._plan_spec(run)
            try:
                target = spec.target(target_id)
            except KeyError:
                known = ", ".join(t.id for t in spec.targets)
                raise InvalidInput(f"unknown target {target_id!r} (known: {known})") from None
            if not who.has(Role.OFFICE):
                raise PermissionDenied(who.id, f"record progress on {target_id}",
                                       "the campaign office records target progress")
            if target.whole and amount != int(amount):
                raise InvalidInput(f"{target.label} is counted in whole {target.unit}: "
                                   f"{amount:g} is not a whole number")
            entry = TargetEntry(plan_id=run.id, target_id=target_id, amount=amount,
                                note=note.strip(), actor=who.id, at=self._now())
            session.add(entry)
            session.flush()
            audit.append(session, at=self._now(), actor=who.id, role=Role.OFFICE.value,
                         action="target.record", comment=note.strip(),
                         detail=detail({"plan": run.id, "target": target_id,
                                        "amount": amount}),
                         seals=[seals.seal(session.connection(), "target_entry", entry.id)])
        return next(t for t in self.targets(plan_id) if t.id == target_id)


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


def _owners(
    per: str | None, owner_role: str | None, people: Sequence[Person], type_id: str
) -> list[Person]:
    if per is not None:
        return [p for p in people if per in p.roles]
    holders = [p for p in people if owner_role in p.roles]
    if not holders:
        raise InvalidInput(f"roster: nobody has role {owner_role} to own the {type_id}")
    return holders[:1]


def _role(who: policy.Actor) -> str | None:
    return min(who.roles) if who.roles else None


def _event_view(row: EventRecord) -> EventRecordView:
    return EventRecordView(
        id=row.id or 0, kind=row.kind, held_on=row.held_on, days=row.days, person=row.person,
        theme=row.theme, supervisors_invited=row.supervisors_invited,
        attendees=tuple(json.loads(row.attendees)), minutes=row.minutes,
        recorded_by=row.recorded_by,
    )

