"""The report's tallies: deliverables by type and by unit (from the counts
the database made, :mod:`workflow.services.tallies`), talks held, and
required events recorded (see :mod:`workflow.render.report_build`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from workflow.campaign import Campaign
from workflow.render.event_rules import event_rules
from workflow.render.report_model import (
    EventProgress,
    FlaggedRecord,
    StateCount,
    TalksSummary,
    TypeProgress,
    UnitProgress,
)
from workflow.services.gates import Facts, event_check, pair_key, required_pairs, team
from workflow.services.lateness import LateCompletion, OverdueItem
from workflow.services.tallies import StateTally, UnitTally
from workflow.spec.plan import PlanSpec


def by_type(campaign: Campaign, plan: PlanSpec, states: Sequence[StateTally]
            ) -> list[TypeProgress]:
    """The plan's types in its order, then any other type present; states in
    the definition's order, then states an older definition left behind.  A
    type is titled, and a state labelled, by the definition of its latest
    deliverable (the highest id)."""
    order = list(dict.fromkeys([r.deliverable for r in plan.requirements]
                               + sorted({t.type_id for t in states})))
    rows = []
    for type_id in order:
        mine = [t for t in states if t.type_id == type_id]
        if not mine:
            continue
        spec = campaign.registry.spec(max(mine, key=lambda t: t.last_id).definition_sha)
        counts: Counter[str] = Counter()
        latest: dict[str, StateTally] = {}
        for tally in mine:
            counts[tally.state] += tally.count
            if tally.state not in latest or tally.last_id > latest[tally.state].last_id:
                latest[tally.state] = tally
        labels = {state: campaign.registry.spec(t.definition_sha).state(state).label
                  for state, t in latest.items()}
        names = [s.name for s in spec.states]
        rows.append(TypeProgress(
            type=type_id, title=spec.title, total=sum(counts.values()),
            complete=sum(t.count for t in mine if t.complete),
            states=tuple(StateCount(state=s, label=labels[s], count=counts[s])
                         for s in names + sorted(set(counts) - set(names)) if counts[s]),
        ))
    return rows


def by_unit(units: Sequence[UnitTally], overdue: Sequence[OverdueItem],
            done_late: Sequence[LateCompletion]) -> list[UnitProgress]:
    """Each unit's items (by owner), the most overdue first: the counts the
    database made, and the overdue and completed late items the report lists."""
    late = Counter(item.unit for item in overdue)
    finished_late = Counter(item.unit for item in done_late)
    rows = [UnitProgress(unit=u.unit, total=u.total, complete=u.complete, overdue=late[u.unit],
                         completed_late=finished_late[u.unit]) for u in units]
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
            # Judged as the gate judges it: themes to cover and follow-ups count too.
            satisfied=event_check(spec, facts).satisfied,
            flagged=tuple(FlaggedRecord(
                id=r.id, held_on=r.held_on, person=facts.name(r.person) if r.person else None,
                flags=r.flags, invited=r.invited,
                opened_by=facts.name(r.opened_by) if r.opened_by else None,
                covered=r.covered, short=tuple(facts.name(u) for u in r.short),
            ) for r in records if r.flags),
            rules=tuple(event_rules(facts.plan, spec)), from_plan=spec.from_plan,
            provenance=spec.provenance,
        ))
    return rows
