"""The report's tallies: deliverables by type and by unit, talks held, and
required events recorded (see :mod:`workflow.render.report_build`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from workflow.campaign import Campaign
from workflow.render.report_model import (
    EventProgress,
    FlaggedRecord,
    StateCount,
    TalksSummary,
    TypeProgress,
    UnitProgress,
)
from workflow.services.gates import Facts, pair_key, required_pairs, team
from workflow.services.lateness import LateCompletion, is_complete, is_overdue, unit_of
from workflow.spec.plan import PlanSpec
from workflow.store.views import DeliverableView, UserView


def by_type(
    campaign: Campaign, plan: PlanSpec, items: Sequence[DeliverableView]
) -> list[TypeProgress]:
    """The plan's types in its order, then any other type present; states in
    the definition's order, then states an older definition left behind."""
    order = list(dict.fromkeys([r.deliverable for r in plan.requirements]
                               + sorted({d.type for d in items})))
    rows = []
    for type_id in order:
        mine = [d for d in items if d.type == type_id]
        if not mine:
            continue
        spec = campaign.registry.definition_for(mine[-1])
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


def by_unit(
    plan: PlanSpec, people: Sequence[UserView], items: Sequence[DeliverableView], today: date,
    done_late: Sequence[LateCompletion],
) -> list[UnitProgress]:
    """Each unit's items (by owner), the most overdue first."""
    by_id = {p.id: p for p in people}
    unit = {d.id: unit_of(by_id, d.owner) for d in items}
    rows = []
    for name in sorted(set(unit.values())):
        mine = [d for d in items if unit[d.id] == name]
        rows.append(UnitProgress(
            unit=name, total=len(mine), complete=sum(1 for d in mine if is_complete(d, plan)),
            overdue=sum(1 for d in mine if is_overdue(d, plan, today)),
            completed_late=sum(1 for d in done_late if unit.get(d.id) == name),
        ))
    return sorted(rows, key=lambda u: (-u.overdue, -u.completed_late))


def talks(facts: Facts) -> TalksSummary | None:
    """The heart-to-heart talks the team owes each other; None if the plan has none."""
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


def events(facts: Facts) -> list[EventProgress]:
    """Each required event: records kept, those valid (unflagged), and whether met."""
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
