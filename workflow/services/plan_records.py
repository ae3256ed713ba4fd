"""What the plan asks to be recorded as it happens: events (meetings,
research, lectures…), heart-to-heart talks and their confirmations, and
progress on the numeric targets.  Each is one audited transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

from sqlmodel import col, select

from workflow.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from workflow.machine import policy
from workflow.services.gates import pair_key, team
from workflow.services.plan import Plan, run
from workflow.services.reads import Reads
from workflow.services.registry import Registry
from workflow.spec.definition import Role
from workflow.spec.plan import require_amount
from workflow.store import audit, seals
from workflow.store.models import EventRecord, Talk, TargetEntry, User
from workflow.store.store import Store
from workflow.store.views import EventRecordView, TalkView, TargetView


@dataclass(frozen=True)
class EventFacts:
    """What a record states beyond its date, for the rules of its kind
    (:class:`workflow.spec.plan.EventSpec`): the parties invited, who opened
    it, what it covered, and whom it names as falling short."""

    invited: tuple[str, ...] = ()
    opened_by: str | None = None
    covered: tuple[str, ...] = ()
    short: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("invited", "covered", "short"):
            values = tuple(dict.fromkeys(v.strip() for v in getattr(self, name)))
            if any(not v for v in values):
                raise InvalidInput(f"an event's {name} entries cannot be empty (--{name})")
            object.__setattr__(self, name, values)

    def as_detail(self) -> dict[str, object]:
        """The facts stated, for the audit event's detail and the stored column."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items() if v}

    def stored(self) -> str | None:
        """The column's JSON; NULL when nothing is stated, as before migration 0007."""
        detail = self.as_detail()
        return json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None


class PlanRecords:
    def __init__(self, store: Store, registry: Registry, reads: Reads, plan: Plan) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads
        self._plan = plan

    # -- records --------------------------------------------------------------------------------

    def event(
        self, actor: str | None, kind: str, held_on: date, *, days: float = 0.5,
        person: str | None = None, theme: str | None = None,
        supervisors_invited: bool = False, attendees: Iterable[str] = (), minutes: str = "",
        facts: EventFacts | None = None, plan_id: str | None = None,
    ) -> EventRecordView:
        """Record a required event.  A record breaking its rule is kept and flagged."""
        facts = facts or EventFacts()
        require_amount(days, "the days of an event (--days)")
        if days <= 0:
            raise InvalidInput("an event lasts more than 0 days (--days)")
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            row = run(session, plan_id)
            spec = self._registry.plan(row)
            if kind not in {e.kind for e in spec.events}:
                known = ", ".join(e.kind for e in spec.events)
                raise InvalidInput(f"unknown event kind {kind!r} (known: {known})")
            own = spec.event(kind).per is not None and person == who.id
            if not (who.has(Role.OFFICE) or own):
                raise PermissionDenied(who.id, f"record {kind}",
                                       "the office records events; others only their own")
            attendees = tuple(dict.fromkeys(attendees))
            for someone in (person, *attendees, facts.opened_by, *facts.short):
                if someone is not None and session.get(User, someone) is None:
                    raise NotFound("user", someone)
            record = EventRecord(
                plan_id=row.id, kind=kind, held_on=held_on, days=days, person=person,
                theme=theme, supervisors_invited=supervisors_invited,
                attendees=json.dumps(list(attendees), ensure_ascii=False), minutes=minutes,
                recorded_by=who.id, recorded_at=self._store.now(), facts=facts.stored(),
            )
            session.add(record)
            session.flush()
            audit.append(session, at=self._store.now(), actor=who.id, role=_role(who),
                         action="event.record", comment=minutes[:200] or None,
                         detail=audit.detail({"plan": row.id, "record": record.id, "kind": kind,
                                        "held_on": held_on.isoformat(), "days": days,
                                        "person": person, "theme": theme,
                                        **facts.as_detail()}),
                         seals=[seals.seal(session.connection(), "event_record", record.id)])
            record_id = record.id
        assert record_id is not None  # flushed
        return self._plan.event_record(record_id, plan_id)

    def talk(
        self, actor: str | None, first: str, second: str, held_on: date, notes: str = "",
        plan_id: str | None = None,
    ) -> TalkView:
        """Record a heart-to-heart talk; a party who records it confirms their side."""
        a, b = pair_key(first, second)
        if a == b:
            raise InvalidInput("a talk is between two different people")
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            row = run(session, plan_id)
            members = {u.id for u in team(self._reads.users())}
            for party in (a, b):
                if party not in members:
                    raise InvalidInput(f"{party} is not in the leadership team")
            if not who.has(Role.OFFICE) and who.id not in (a, b):
                raise PermissionDenied(who.id, "record a talk", "only its parties or the office")
            if session.exec(select(Talk).where(col(Talk.plan_id) == row.id, col(Talk.first) == a,
                                               col(Talk.second) == b)).first():
                raise InvalidInput(f"the talk between {a} and {b} is already recorded")
            now = self._store.now()
            talk = Talk(plan_id=row.id, first=a, second=b, held_on=held_on, notes=notes,
                        recorded_by=who.id, first_confirmed_at=now if who.id == a else None,
                        second_confirmed_at=now if who.id == b else None)
            session.add(talk)
            session.flush()
            audit.append(session, at=now, actor=who.id, role=_role(who), action="talk.record",
                         detail=audit.detail({"plan": row.id, "talk": talk.id, "between": [a, b],
                                        "held_on": held_on.isoformat()}),
                         seals=[seals.seal(session.connection(), "talk", talk.id)])
            return TalkView.model_validate(talk, from_attributes=True)

    def confirm_talk(self, actor: str | None, talk_id: int) -> TalkView:
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            talk = session.get(Talk, talk_id)
            if talk is None:
                raise NotFound("talk", talk_id)
            if who.id not in (talk.first, talk.second):
                raise PermissionDenied(who.id, "confirm a talk", "only its two parties")
            side = "first_confirmed_at" if who.id == talk.first else "second_confirmed_at"
            if getattr(talk, side) is not None:
                raise TransitionNotAllowed(f"{who.id} has already confirmed talk {talk_id}")
            setattr(talk, side, self._store.now())
            session.add(talk)
            session.flush()
            audit.append(session, at=self._store.now(), actor=who.id, role=_role(who),
                         action="talk.confirm",
                         detail=audit.detail({"plan": talk.plan_id, "talk": talk_id}),
                         seals=[seals.seal(session.connection(), "talk", talk_id)])
            return TalkView.model_validate(talk, from_attributes=True)

    def target(
        self, actor: str | None, target_id: str, amount: float, note: str,
        plan_id: str | None = None,
    ) -> TargetView:
        """Add progress to a target (a negative amount corrects an earlier entry)."""
        require_amount(amount, "a target's amount")
        if not note.strip():
            raise InvalidInput("progress needs a note saying where it comes from (--note)")
        if amount == 0:
            raise InvalidInput("an amount of 0 records nothing")
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            row = run(session, plan_id)
            spec = self._registry.plan(row)
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
            entry = TargetEntry(plan_id=row.id, target_id=target_id, amount=amount,
                                note=note.strip(), actor=who.id, at=self._store.now())
            session.add(entry)
            session.flush()
            audit.append(session, at=self._store.now(), actor=who.id, role=Role.OFFICE.value,
                         action="target.record", comment=note.strip(),
                         detail=audit.detail({"plan": row.id, "target": target_id,
                                        "amount": amount}),
                         seals=[seals.seal(session.connection(), "target_entry", entry.id)])
        return next(t for t in self._plan.targets(plan_id) if t.id == target_id)


def _role(who: policy.Actor) -> str | None:
    return min(who.roles) if who.roles else None
