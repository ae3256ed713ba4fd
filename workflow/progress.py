"""The campaign report: where the campaign stands on a given day.

:func:`build_report` reads the campaign once (plan, people, deliverables,
event records, talks, targets) and shapes it into a frozen :class:`Report`;
:func:`render` turns a report into a table, JSON, Markdown or one printable
HTML page (see :mod:`workflow.report_render`).

JSON keys (``report.to_json()``): ``plan`` {id, title, title_en, source},
``today``, ``current_phase``, ``phases``, ``completion``, ``by_type``,
``by_unit``, ``overdue``, ``targets``, ``talks``, ``events``, ``gate``.

A deliverable is *complete* when its state is one the plan's gates accept for
its type (the union over all gates), or, for a type no gate names, a final
state of its definition.  It is *overdue* when it is not complete and its due
date is before ``today``: due today is not overdue, due yesterday is one day
late.  The report covers the plan's deliverables and those tied to no plan
(rectification items created by hand); completion counts only the required
ones (those the plan created).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache

from .engine import Campaign
from .gates import Facts, checklist, pair_key, required_pairs, team
from .models import DeliverableView, UserView, View
from .plan import PlanSpec

FORMATS: tuple[str, ...] = ("table", "json", "markdown", "html")


class PlanInfo(View):
    id: str
    title: str
    title_en: str
    source: str


class CurrentPhase(View):
    path: str
    label: str
    label_en: str
    parent_label: str | None
    start: date | None
    end: date | None
    final: bool
    #: ``end - today`` while the phase runs (0 on its last day); None once past.
    days_left: int | None
    #: Days since the phase should have ended; None while it runs.
    days_past_end: int | None


class PhaseRow(View):
    path: str
    label: str
    label_en: str
    parent_label: str | None
    status: str  # done / current / upcoming / closed (the final phase reached)
    start: date | None
    end: date | None
    dates_from_plan: bool
    required: int
    complete: int
    percent: float


class Completion(View):
    required: int
    complete: int
    percent: float
    overdue: int


class StateCount(View):
    state: str
    label: str
    count: int


class TypeProgress(View):
    type: str
    title: str
    total: int
    complete: int
    states: tuple[StateCount, ...]


class UnitProgress(View):
    unit: str
    total: int
    complete: int
    overdue: int


class OverdueItem(View):
    id: int
    title: str
    type: str
    owner: str
    owner_name: str
    unit: str
    due: date
    days_late: int
    state: str
    state_label: str
    #: A rectification item's responsible person, when not its owner.
    responsible: str | None = None
    responsible_name: str | None = None


class TargetRow(View):
    id: str
    label: str
    done: float
    goal: float
    unit: str
    percent: float
    responsible: tuple[str, ...]


class TalksSummary(View):
    label: str
    due: date | None
    team: int
    required: int
    recorded: int
    confirmed: int
    outstanding: tuple[str, ...]


class FlaggedRecord(View):
    id: int
    held_on: date
    person: str | None
    flags: tuple[str, ...]


class EventProgress(View):
    kind: str
    label: str
    label_en: str
    phase: str
    per: str | None
    required: int
    records: int
    valid: int
    #: Valid records counted towards ``required`` (distinct holders for per-role events).
    met: int
    satisfied: bool
    flagged: tuple[FlaggedRecord, ...]


class GateCheck(View):
    label: str
    satisfied: bool
    missing: tuple[str, ...]
    flagged: tuple[str, ...]


class Report(View):
    plan: PlanInfo
    today: date
    current_phase: CurrentPhase
    phases: tuple[PhaseRow, ...]
    completion: Completion
    by_type: tuple[TypeProgress, ...]
    by_unit: tuple[UnitProgress, ...]
    overdue: tuple[OverdueItem, ...]
    targets: tuple[TargetRow, ...]
    talks: TalksSummary | None
    events: tuple[EventProgress, ...]
    gate: tuple[GateCheck, ...]


# -- completion and lateness ------------------------------------------------------------


@cache
def complete_states(plan: PlanSpec, type_id: str) -> frozenset[str]:
    """The union of the states the plan's gates accept for ``type_id`` (maybe none)."""
    return frozenset(state for _, phase in plan.leaves() for item in phase.gate
                     if item.deliverable == type_id for state in item.states)


def is_complete(item: DeliverableView, plan: PlanSpec | None) -> bool:
    """In a state the plan's gates accept for its type, else in a final state."""
    accepted = complete_states(plan, item.type) if plan is not None else None
    return item.state in accepted if accepted else item.final


def days_late(item: DeliverableView, today: date) -> int:
    """Whole days past the due date (0 when not due yet, due today or undated)."""
    return max((today - item.due).days, 0) if item.due else 0


def is_overdue(item: DeliverableView, plan: PlanSpec | None, today: date) -> bool:
    return days_late(item, today) > 0 and not is_complete(item, plan)


def find_overdue(
    items: Sequence[DeliverableView], plan: PlanSpec | None, people: Sequence[UserView],
    today: date, responsible: Mapping[int, str] | None = None,
) -> list[OverdueItem]:
    """The overdue ones among ``items``, latest first.  ``responsible`` maps a
    rectification item to its responsible person, named on its row when not the owner."""
    by_id = {p.id: p for p in people}
    named = responsible or {}
    late = [_overdue_row(d, by_id, named.get(d.id), today)
            for d in items if d.due is not None and is_overdue(d, plan, today)]
    return sorted(late, key=lambda o: (-o.days_late, o.id))


def _overdue_row(
    d: DeliverableView, by_id: dict[str, UserView], responsible: str | None, today: date
) -> OverdueItem:
    assert d.due is not None
    other = responsible if responsible != d.owner else None
    return OverdueItem(
        id=d.id, title=d.title, type=d.type, owner=d.owner, unit=_unit(by_id, d.owner),
        owner_name=_name(by_id, d.owner),
        due=d.due, days_late=days_late(d, today), state=d.state, state_label=d.state_label,
        responsible=other, responsible_name=_name(by_id, other) if other else None,
    )


def overdue_items(campaign: Campaign, today: date, plan_id: str | None = None) -> list[OverdueItem]:
    """Overdue deliverables of the campaign (and those tied to no campaign).

    With no campaign started, every deliverable counts and "complete" means
    a final state.
    """
    plan = None if plan_id is None and not campaign.plan_ids() else campaign.plan(plan_id)
    items = _in_scope(campaign.deliverables(), plan)
    return find_overdue(items, plan, campaign.users(), today, campaign.responsible_persons())


# -- the report ---------------------------------------------------------------------------


def build_report(campaign: Campaign, today: date, plan_id: str | None = None) -> Report:
    plan = campaign.plan(plan_id)
    current = campaign.phase(plan.id)
    people = campaign.users()
    items = _in_scope(campaign.deliverables(), plan)
    required = [d for d in items if d.plan_id == plan.id]
    facts = Facts(plan=plan, people=people, deliverables=required,
                  events=campaign.event_records(plan.id), talks=campaign.talks(plan.id))
    late = find_overdue(items, plan, people, today, campaign.responsible_persons())
    done = sum(1 for d in required if is_complete(d, plan))
    return Report(
        plan=PlanInfo(id=plan.id, title=plan.title, title_en=plan.title_en, source=plan.source),
        today=today,
        current_phase=_current(plan, current, today),
        phases=tuple(_phases(plan, current, required)),
        completion=Completion(required=len(required), complete=done,
                              percent=percent(done, len(required)), overdue=len(late)),
        by_type=tuple(_by_type(campaign, plan, items)),
        by_unit=tuple(_by_unit(plan, people, items, today)),
        overdue=tuple(late),
        targets=tuple(
            TargetRow(id=t.id, label=t.label, done=t.done, goal=t.goal, unit=t.unit,
                      percent=t.percent, responsible=t.responsible)
            for t in campaign.targets(plan.id)
        ),
        talks=_talks(facts),
        events=tuple(_events(facts)),
        gate=tuple(GateCheck(label=c.label, satisfied=c.satisfied, missing=c.missing,
                             flagged=c.flagged) for c in checklist(plan.leaf(current), facts)),
    )


def render(report: Report, fmt: str) -> str:
    """The report as ``table``, ``json``, ``markdown`` or ``html`` text."""
    from .report_render import render as render_as

    return render_as(report, fmt)


def percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _in_scope(items: Sequence[DeliverableView], plan: PlanSpec | None) -> list[DeliverableView]:
    if plan is None:
        return list(items)
    return [d for d in items if d.plan_id in (plan.id, None)]


def _name(people: dict[str, UserView], user_id: str) -> str:
    return people[user_id].name if user_id in people else user_id


def _unit(people: dict[str, UserView], user_id: str) -> str:
    person = people.get(user_id)
    return (person.unit if person and person.unit else None) or "（未填单位）"


def _parent_label(plan: PlanSpec, path: str) -> str | None:
    parent, sep, _ = path.partition(".")
    return next((p.label for p in plan.phases if p.name == parent), None) if sep else None


def _current(plan: PlanSpec, path: str, today: date) -> CurrentPhase:
    phase = plan.leaf(path)
    left = (phase.end - today).days if phase.end else None
    return CurrentPhase(
        path=path, label=phase.label, label_en=phase.label_en,
        parent_label=_parent_label(plan, path), start=phase.start, end=phase.end,
        final=phase.final, days_left=left if left is not None and left >= 0 else None,
        days_past_end=-left if left is not None and left < 0 else None,
    )


def _phases(plan: PlanSpec, current: str, required: Sequence[DeliverableView]) -> list[PhaseRow]:
    paths = [path for path, _ in plan.leaves()]
    here = paths.index(current)
    rows = []
    for index, (path, phase) in enumerate(plan.leaves()):
        mine = [d for d in required if d.phase in (phase.name, path)]
        done = sum(1 for d in mine if is_complete(d, plan))
        status = "done" if index < here else "current" if index == here else "upcoming"
        if status == "current" and phase.final:
            status = "closed"
        rows.append(PhaseRow(
            path=path, label=phase.label, label_en=phase.label_en,
            parent_label=_parent_label(plan, path), status=status, start=phase.start,
            end=phase.end, dates_from_plan=phase.dates_from_plan, required=len(mine),
            complete=done, percent=percent(done, len(mine)),
        ))
    return rows


def _by_type(
    campaign: Campaign, plan: PlanSpec, items: Sequence[DeliverableView]
) -> list[TypeProgress]:
    order = list(dict.fromkeys([r.deliverable for r in plan.requirements]
                               + sorted({d.type for d in items})))
    rows = []
    for type_id in order:
        mine = [d for d in items if d.type == type_id]
        if not mine:
            continue
        spec = campaign.definition_for(mine[-1])
        labels = {d.state: d.state_label for d in mine}
        counts = Counter(d.state for d in mine)
        states = [s.name for s in spec.states] + sorted(set(counts) - {s.name for s in spec.states})
        rows.append(TypeProgress(
            type=type_id, title=spec.title, total=len(mine),
            complete=sum(1 for d in mine if is_complete(d, plan)),
            states=tuple(StateCount(state=s, label=labels[s], count=counts[s])
                         for s in states if counts[s]),
        ))
    return rows


def _by_unit(
    plan: PlanSpec, people: Sequence[UserView], items: Sequence[DeliverableView], today: date
) -> list[UnitProgress]:
    by_id = {p.id: p for p in people}
    units = sorted({_unit(by_id, d.owner) for d in items})
    rows = []
    for unit in units:
        mine = [d for d in items if _unit(by_id, d.owner) == unit]
        rows.append(UnitProgress(
            unit=unit, total=len(mine), complete=sum(1 for d in mine if is_complete(d, plan)),
            overdue=sum(1 for d in mine if is_overdue(d, plan, today)),
        ))
    return sorted(rows, key=lambda u: -u.overdue)


def _talks(facts: Facts) -> TalksSummary | None:
    spec = facts.plan.talks
    if spec is None:
        return None
    pairs = required_pairs(facts.people)
    held = {pair_key(t.first, t.second): t for t in facts.talks}
    outstanding = []
    for pair in pairs:
        talk = held.get(pair)
        if talk is None or not talk.confirmed:
            state = "未记录" if talk is None else "待双方确认"
            outstanding.append(f"{facts.name(pair[0])}–{facts.name(pair[1])}：{state}")
    recorded = [held[p] for p in pairs if p in held]
    return TalksSummary(
        label=spec.label, due=spec.due, team=len(team(facts.people)), required=len(pairs),
        recorded=len(recorded),
        confirmed=sum(1 for t in recorded if t.confirmed), outstanding=tuple(outstanding),
    )


def _events(facts: Facts) -> list[EventProgress]:
    rows = []
    for spec in facts.plan.events:
        records = [r for r in facts.events if r.kind == spec.kind]
        valid = [r for r in records if not r.flags]
        if spec.per:
            holders = {p.id for p in facts.holders(spec.per)}
            required, met = len(holders), len({r.person for r in valid} & holders)
        else:
            required, met = spec.min_count, min(len(valid), spec.min_count)
        rows.append(EventProgress(
            kind=spec.kind, label=spec.label, label_en=spec.label_en, phase=spec.phase,
            per=spec.per, required=required, records=len(records), valid=len(valid), met=met,
            satisfied=met >= required,
            flagged=tuple(FlaggedRecord(id=r.id, held_on=r.held_on,
                                        person=facts.name(r.person) if r.person else None,
                                        flags=r.flags) for r in records if r.flags),
        ))
    return rows

