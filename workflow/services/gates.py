"""What a phase needs before it may be left, and which records break their rules.

Pure functions over plain data: the plan, the people, the campaign's event
records and talks, and — for a gate line on deliverables — what the service
answers when asked which of the campaign's deliverables of a type are not
yet in the wanted states (:data:`ShortOf`: one query per gate line, never the
campaign's every deliverable).  Nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from itertools import combinations

from workflow.services.lateness import campaign_day
from workflow.spec.definition import Role, WorkflowSpec
from workflow.spec.plan import EventSpec, GateItem, PhaseSpec, PlanSpec, group_label, in_group
from workflow.store.views import EventRecordView, EventView, TalkView, UserView


@dataclass(frozen=True)
class ShortItem:
    """A deliverable of the campaign that is not (yet) in a state its gate line wants."""

    id: int
    title: str
    #: The owner's name (their id when they are no user).
    owner_name: str
    state: str
    state_label: str


@dataclass(frozen=True)
class Shortfall:
    """The campaign's deliverables of one type against a gate line's states."""

    #: Whether the campaign has any deliverable of the type at all.
    present: bool
    #: Those not in the wanted states, by id.
    items: tuple[ShortItem, ...] = ()


#: (type id, wanted states) → the campaign's deliverables of that type short of them.
ShortOf = Callable[[str, tuple[str, ...]], Shortfall]


@dataclass(frozen=True)
class Facts:
    """Everything a gate may look at."""

    plan: PlanSpec
    people: Sequence[UserView]
    events: Sequence[EventRecordView]
    talks: Sequence[TalkView]
    #: Asked once per gate line on deliverables (the service remembers its answers).
    short_of: ShortOf
    #: The definitions of the deliverable types, for Chinese labels.
    specs: Mapping[str, WorkflowSpec] = field(default_factory=dict)

    def holders(self, per: str) -> list[UserView]:
        """The holders of a role, or the team's members (``per: team``)."""
        return [p for p in self.people if in_group(p.roles, per)]

    def name(self, user_id: str | None) -> str:
        return self._names.get(user_id or "", user_id or "?")

    @cached_property
    def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for person in self.people:
            names.setdefault(person.id, person.name)
        return names


@dataclass(frozen=True)
class Check:
    """One line of a phase's checklist."""

    label: str
    missing: tuple[str, ...] = ()
    flagged: tuple[str, ...] = field(default=())
    #: What the line checks: ``deliverable:<type>``, ``event:<kind>`` or ``talks``.
    key: str = ""
    #: The plan's gate item it judges, with where it comes from (its paragraph).
    item: GateItem | None = None

    @property
    def satisfied(self) -> bool:
        return not self.missing

    @property
    def counts_deliverables(self) -> bool:
        """Its missing entries are deliverables, which a report counts as such."""
        return self.key.startswith("deliverable:")

    def owns(self, line: str) -> bool:
        """Whether ``line``, one entry of a refused or forced advance (``label: missing``),
        is this check's.  The label may have changed since (a renamed type, a new
        team member changes the talks' count), so the id the label ends with also
        identifies it."""
        kind, _, name = self.key.partition(":")
        marker = {"deliverable": f"({name}: ", "event": f"({name}): ",
                  "talks": "(talks): "}.get(kind)
        return line.startswith(f"{self.label}: ") or (marker is not None and marker in line)


# -- event rules ------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """What a record's order rules compare it with."""

    #: Event kind → the day its first record was held.
    first_held: Mapping[str, date]
    #: The day the last required talk was held; None while one is unrecorded.
    talks_done: date | None


def timeline(records: Iterable[EventRecordView], talks: Iterable[TalkView],
             people: Sequence[UserView]) -> Timeline:
    first: dict[str, date] = {}
    for record in records:
        if record.kind not in first or record.held_on < first[record.kind]:
            first[record.kind] = record.held_on
    return Timeline(first_held=first, talks_done=talks_done(talks, people))


def talks_done(talks: Iterable[TalkView], people: Sequence[UserView]) -> date | None:
    """The day the last required talk was held; None while one is unrecorded."""
    held = {pair_key(t.first, t.second): t.held_on for t in talks}
    pairs = required_pairs(people)
    if not pairs or any(p not in held for p in pairs):
        return None
    return max(held[p] for p in pairs)


def event_flags(plan: PlanSpec, spec: EventSpec, record: EventRecordView,
                people: Sequence[UserView], when: Timeline) -> list[str]:
    """Rules the record breaks; it is kept, but it does not count for the gate."""
    flags = _kept_rules(spec, record, people)
    flags += _order_rules(plan, spec, record, when)
    return flags


def _order_rules(plan: PlanSpec, spec: EventSpec, record: EventRecordView,
                 when: Timeline) -> list[str]:
    flags = []
    for kind in spec.after:
        first = when.first_held.get(kind)
        if first is None or record.held_on < first:
            since = f"（首次 {first}）" if first else "（尚无记录）"
            flags.append(f"须在{plan.event(kind).label}之后举行{since}")
    if spec.after_talks and (when.talks_done is None or when.talks_done > record.held_on):
        done = f"谈心谈话至 {when.talks_done} 才完成" if when.talks_done else "谈心谈话尚未全部完成"
        flags.append(f"须在谈心谈话全部完成之后举行：{done}")
    return flags


def _kept_rules(spec: EventSpec, record: EventRecordView,
                people: Sequence[UserView]) -> list[str]:
    flags = []
    if spec.deadline and record.held_on > spec.deadline:
        flags.append(f"{record.held_on} 召开，晚于规定时限 {spec.deadline}")
    if spec.min_days and record.days < spec.min_days:
        flags.append(f"时长 {record.days:g} 天，少于规定的 {spec.min_days:g} 天")
    if spec.supervisors_invited and not record.supervisors_invited:
        flags.append("未邀请市委督导组")
    if spec.themes and not record.theme:
        flags.append(f"未注明主题（--theme），须为方案规定的 {len(spec.themes)} 个主题之一")
    elif spec.themes and record.theme not in spec.themes:
        flags.append(f"主题「{record.theme}」不在方案规定的 {len(spec.themes)} 个主题之内")
    if spec.per:
        holder = next((p for p in people if p.id == record.person), None)
        if holder is None or not in_group(holder.roles, spec.per):
            flags.append(f"须注明所属的{group_label(spec.per)}（--person）")
    absent = [party for party in spec.invited if party not in record.invited]
    if absent:
        flags.append(f"未邀请{'、'.join(absent)}（--invited）")
    if spec.opened_by:
        opener = next((p for p in people if p.id == record.opened_by), None)
        if opener is None or spec.opened_by not in opener.roles:
            flags.append(f"须由{group_label(spec.opened_by)}带头（--opened-by）")
    unstated = [item for item in spec.must_note if item not in record.covered]
    if unstated:
        flags.append(f"未记录{'、'.join(unstated)}（--covered）")
    return flags


# -- talks --------------------------------------------------------------------------


def team(people: Sequence[UserView]) -> list[UserView]:
    """The leadership team: the principal(s) and every leader, each once."""
    return [p for p in people if Role.PRINCIPAL in p.roles or Role.LEADER in p.roles]


def required_pairs(people: Sequence[UserView]) -> list[tuple[str, str]]:
    """Every pair of team members talks once: n members → n(n-1)/2 talks."""
    return [pair_key(a.id, b.id) for a, b in combinations(team(people), 2)]


def pair_key(first: str, second: str) -> tuple[str, str]:
    a, b = sorted((first, second))
    return a, b


# -- gates ----------------------------------------------------------------------------


def checklist(phase: PhaseSpec, facts: Facts) -> list[Check]:
    return [replace(_check(item, facts), item=item) for item in phase.gate]


def _check(item: GateItem, facts: Facts) -> Check:
    if item.deliverable is not None:
        return _deliverable_check(item.deliverable, item.states, facts)
    if item.event is not None:
        return event_check(facts.plan.event(item.event), facts)
    return _talks_check(facts)


def _deliverable_check(type_id: str, states: Iterable[str], facts: Facts) -> Check:
    wanted = tuple(states)
    found = facts.short_of(type_id, wanted)
    spec = facts.specs.get(type_id)
    title = spec.title if spec else type_id
    names = " / ".join(spec.state(s).label for s in wanted) if spec else " / ".join(wanted)
    label = f"{title}：全部达到「{names}」({type_id}: {' / '.join(wanted)})"
    key = f"deliverable:{type_id}"
    if not found.present:
        return Check(label, (f"尚未建立任何{title} ({type_id})",), key=key)
    return Check(label, tuple(
        f"#{d.id} {d.title}（{d.owner_name}）当前为「{d.state_label}」({d.state})"
        for d in found.items
    ), key=key)


def event_check(spec: EventSpec, facts: Facts) -> Check:
    """The gate line on ``spec``: its valid records against every rule of the
    plan (count or one per person, every theme, every follow-up)."""
    records = [r for r in facts.events if r.kind == spec.kind]
    valid = [r for r in records if not r.flags]
    flagged = tuple(f"record #{r.id} ({r.held_on}): {'; '.join(r.flags)}"
                    for r in records if r.flags)
    key = f"event:{spec.kind}"
    follow_ups = tuple(_follow_ups_missing(spec, valid, facts))
    if spec.per:
        label = f"{spec.label}：每名{group_label(spec.per)}各 1 次 ({spec.kind})"
        done = {r.person for r in valid}
        missing = tuple(f"{p.name}（{p.id}）尚无有效记录" for p in facts.holders(spec.per)
                        if p.id not in done)
        return Check(label, missing + follow_ups, flagged, key=key)
    label = f"{spec.label}：至少 {spec.min_count} 次 ({spec.kind})"
    if spec.cover_themes:
        label = (f"{spec.label}：{len(spec.themes)} 项主题全覆盖，"
                 f"至少 {spec.min_count} 次 ({spec.kind})")
    short = spec.min_count - len(valid)
    missing = (f"有效记录 {len(valid)} 次，规定 {spec.min_count} 次",) if short > 0 else ()
    if spec.cover_themes:
        held = {r.theme for r in valid}
        missing += tuple(f"主题「{t}」尚无有效记录" for t in spec.themes if t not in held)
    return Check(label, missing + follow_ups, flagged, key=key)


def _follow_ups_missing(spec: EventSpec, valid: Sequence[EventRecordView],
                        facts: Facts) -> Iterable[str]:
    """Each person a valid record names as falling short, without a valid
    follow-up record of their own held on or after it."""
    if spec.follow_up is None:
        return
    then = facts.plan.event(spec.follow_up)
    follow = [r for r in facts.events if r.kind == then.kind and not r.flags]
    for record in valid:
        for person in record.short:
            if not any(f.person == person and f.held_on >= record.held_on for f in follow):
                yield (f"{facts.name(person)}（{person}）：#{record.id} 未达标，"
                       f"尚无{then.label}记录")


def _talks_check(facts: Facts) -> Check:
    held = {pair_key(t.first, t.second): t for t in facts.talks}
    pairs = required_pairs(facts.people)
    missing = []
    for pair in pairs:
        talk = held.get(pair)
        names = f"{facts.name(pair[0])}–{facts.name(pair[1])}"
        if talk is None:
            missing.append(f"{names}：未记录")
        elif not talk.confirmed:
            waiting = [facts.name(u) for u, at in ((talk.first, talk.first_confirmed_at),
                                                   (talk.second, talk.second_confirmed_at))
                       if at is None]
            missing.append(f"{names}：待{'、'.join(waiting)}确认")
    label = f"谈心谈话：领导班子两两谈心 {len(pairs)} 次，双方确认 (talks)"
    return Check(label, tuple(missing), key="talks")


# -- forced advances ----------------------------------------------------------------


@dataclass(frozen=True)
class Forced:
    """A phase left by force: the ``phase.force`` event, as the log holds it."""

    phase: str  # the dotted path of the leaf phase that was left
    by: str
    by_name: str
    at: str  # the event's time stamp (UTC)
    on: date  # its day where the campaign runs (CAMPAIGN_TZ)
    reason: str
    #: What its gate lacked then, one ``label: entry`` line each (the event's detail).
    missing: tuple[str, ...]


def forced_advances(
    events: Iterable[EventView], plan_id: str, people: Sequence[UserView]
) -> dict[str, Forced]:
    """The phases of ``plan_id`` left by force, by dotted path, from its phase events.
    A phase is left once (the phases only move forward), so once at most."""
    names = {p.id: p.name for p in people}
    forced = {}
    for event in events:
        detail = json.loads(event.detail or "{}")
        if event.action != "phase.force" or detail.get("plan") != plan_id or not event.source:
            continue
        forced[event.source] = Forced(
            phase=event.source, by=event.actor, by_name=names.get(event.actor, event.actor),
            at=event.at, on=campaign_day(event.at), reason=event.comment or "",
            missing=tuple(str(line) for line in detail.get("missing", [])),
        )
    return forced


@dataclass(frozen=True)
class Waiver:
    """One gate line a forced advance left unmet, judged again today."""

    check: Check  # the line as it stands today
    #: Entries it lacked when the phase was forced.
    waived: int

    @property
    def outstanding(self) -> int:
        """Of the waived entries, those still missing (never more than were waived)."""
        return min(self.waived, len(self.check.missing))

    @property
    def made_up(self) -> int:
        return self.waived - self.outstanding


def waivers(forced: Forced, checks: Sequence[Check]) -> list[Waiver]:
    """The lines of a forced phase's checklist (``checks``, judged today) that
    were unmet when it was forced, with how many entries each lacked then.

    Entries are counted as the checklist lists them: a per-person event or a
    talk lacks one entry per person or pair, an event with a minimum count
    one entry however short it is."""
    found = [Waiver(c, sum(1 for line in forced.missing if c.owns(line))) for c in checks]
    return [w for w in found if w.waived]
