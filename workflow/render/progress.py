"""The campaign report: where the campaign stands on a given day.

:func:`build_report` reads the campaign once (plan, people, deliverables,
event records, talks, targets, the phase and transition events of the log)
and shapes it into a frozen :class:`Report`; :func:`render` turns a report
into a table, JSON, Markdown or one printable HTML page (see
:mod:`workflow.render.report_render`).

JSON keys (``report.to_json()``): ``plan`` {id, title, title_en, source},
``today``, ``current_phase``, ``phases``, ``completion``, ``by_type``,
``by_unit``, ``overdue``, ``completed_late``, ``targets``, ``talks``,
``events``, ``gate``.

Responsible person, completeness, overdue and completed late are defined
once, in :mod:`workflow.services.lateness`; the gate lines are those of
:func:`workflow.services.gates.checklist` on the same facts ``phase status`` reads.
The report covers the plan's deliverables and those tied to no plan
(rectification items created by hand); completion counts only the required
ones (those the plan created), plus what forced advances left unmet (see
:class:`Completion`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from workflow.campaign import Campaign
from workflow.render.report_model import (
    Completion,
    CurrentPhase,
    EventProgress,
    FlaggedRecord,
    ForcedAdvance,
    GateCheck,
    PhaseRow,
    PlanInfo,
    Report,
    StateCount,
    TalksSummary,
    TargetRow,
    TypeProgress,
    UnitProgress,
)
from workflow.services.gates import (
    Facts,
    checklist,
    forced_advances,
    pair_key,
    required_pairs,
    team,
    waivers,
)
from workflow.services.lateness import (
    Accepts,
    LateCompletion,
    OverdueItem,
    complete_states,
    days_late,
    find_completed_late,
    find_overdue,
    is_complete,
    is_overdue,
    unit_of,
)
from workflow.spec.plan import PlanSpec
from workflow.store.views import DeliverableView, UserView

__all__ = ["FORMATS", "LateCompletion", "OverdueItem", "Report", "build_report",
           "complete_states", "days_late", "find_overdue", "is_complete", "is_overdue",
           "overdue_items", "percent", "render"]

FORMATS: tuple[str, ...] = ("table", "json", "markdown", "html")


# -- lateness ----------------------------------------------------------------------------


def overdue_items(campaign: Campaign, today: date, plan_id: str | None = None) -> list[OverdueItem]:
    """Overdue deliverables of the campaign (and those tied to no campaign):
    what ``list --overdue`` shows and the report's overdue section lists.

    With no campaign started, every deliverable counts and "complete" means
    a final state.
    """
    plan = None if plan_id is None and not campaign.plan.plan_ids() else campaign.plan.spec(plan_id)
    items = _in_scope(campaign.reads.deliverables(), plan)
    return find_overdue(items, plan, campaign.reads.users(), today,
                        campaign.reads.responsible_persons())


def accepts_for(campaign: Campaign, plan: PlanSpec) -> Accepts:
    """:func:`is_complete` for a state the item was in, not only the one it is in."""
    def accepts(item: DeliverableView, state: str) -> bool:
        gated = complete_states(plan, item.type)
        if gated:
            return state in gated
        spec = campaign.registry.definition_for(item)
        return any(s.name == state and s.final for s in spec.states)
    return accepts


# -- the report ---------------------------------------------------------------------------


def build_report(campaign: Campaign, today: date, plan_id: str | None = None) -> Report:
    facts = campaign.plan.facts(plan_id)  # the read `phase status` judges the gate on
    plan, people, required = facts.plan, facts.people, facts.deliverables
    current = campaign.plan.phase(plan.id)
    items = _in_scope(campaign.reads.deliverables(), plan)
    responsible = campaign.reads.responsible_persons()
    late = find_overdue(items, plan, people, today, responsible)
    done_late = find_completed_late(items, people, campaign.audit.events("transition"),
                                    accepts_for(campaign, plan), responsible)
    forced = _forced(campaign, facts)
    return Report(
        plan=PlanInfo(id=plan.id, title=plan.title, title_en=plan.title_en, source=plan.source),
        today=today,
        current_phase=_current(plan, current, today),
        phases=tuple(_phases(plan, current, required, forced)),
        completion=_completion(plan, required, forced, len(late), len(done_late)),
        by_type=tuple(_by_type(campaign, plan, items)),
        by_unit=tuple(_by_unit(plan, people, items, today, done_late)),
        overdue=tuple(late),
        completed_late=tuple(done_late),
        targets=tuple(
            TargetRow(id=t.id, label=t.label, done=t.done, goal=t.goal, unit=t.unit,
                      percent=t.percent, responsible=t.responsible)
            for t in campaign.plan.targets(plan.id)
        ),
        talks=_talks(facts),
        events=tuple(_events(facts)),
        gate=tuple(GateCheck(label=c.label, satisfied=c.satisfied, missing=c.missing,
                             flagged=c.flagged) for c in checklist(plan.leaf(current), facts)),
    )


def render(report: Report, fmt: str) -> str:
    """The report as ``table``, ``json``, ``markdown`` or ``html`` text."""
    from workflow.render.report_render import render as render_as

    return render_as(report, fmt)


def percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _in_scope(items: Sequence[DeliverableView], plan: PlanSpec | None) -> list[DeliverableView]:
    if plan is None:
        return list(items)
    return [d for d in items if d.plan_id in (plan.id, None)]


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


def _forced(campaign: Campaign, facts: Facts) -> dict[str, ForcedAdvance]:
    """The phases left by force, by path: who, when, why, what was missing then
    (the log), and what those gate lines lack today (the checklist)."""
    rows = {}
    for path, event in forced_advances(campaign.audit.events("phase"), facts.plan.id,
                                       facts.people).items():
        found = waivers(event, checklist(facts.plan.leaf(path), facts))
        # A deliverable the gate lacked is counted as a deliverable already.
        counted = [w for w in found if not w.check.counts_deliverables]
        rows[path] = ForcedAdvance(
            by=event.by, by_name=event.by_name, at=event.at, on=event.on,
            reason=event.reason, missing=event.missing,
            still_missing=tuple(f"{w.check.label}: {m}" for w in found for m in w.check.missing),
            waived=sum(w.waived for w in counted), made_up=sum(w.made_up for w in counted),
        )
    return rows


def _completion(
    plan: PlanSpec, required: Sequence[DeliverableView], forced: dict[str, ForcedAdvance],
    overdue: int, completed_late: int,
) -> Completion:
    done = sum(1 for d in required if is_complete(d, plan))
    waived = sum(f.waived for f in forced.values())
    made_up = sum(f.made_up for f in forced.values())
    whole, part = len(required) + waived, done + made_up
    return Completion(
        required=whole, complete=part, percent=percent(part, whole), overdue=overdue,
        materials_required=len(required), materials_complete=done,
        completed_late=completed_late, forced_phases=len(forced), waived=waived,
        made_up=made_up,
    )


def _phases(
    plan: PlanSpec, current: str, required: Sequence[DeliverableView],
    forced: dict[str, ForcedAdvance],
) -> list[PhaseRow]:
    paths = [path for path, _ in plan.leaves()]
    here = paths.index(current)
    rows = []
    for index, (path, phase) in enumerate(plan.leaves()):
        mine = [d for d in required if d.phase in (phase.name, path)]
        left = forced.get(path)
        whole = len(mine) + (left.waived if left else 0)
        done = sum(1 for d in mine if is_complete(d, plan)) + (left.made_up if left else 0)
        status = ("forced" if left else "done") if index < here else (
            "current" if index == here else "upcoming")
        if status == "current" and phase.final:
            status = "closed"
        rows.append(PhaseRow(
            path=path, label=phase.label, label_en=phase.label_en,
            parent_label=_parent_label(plan, path), status=status, start=phase.start,
            end=phase.end, dates_from_plan=phase.dates_from_plan, required=whole,
            complete=done, percent=percent(done, whole), forced=left,
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


def _by_unit(
    plan: PlanSpec, people: Sequence[UserView], items: Sequence[DeliverableView], today: date,
    done_late: Sequence[LateCompletion],
) -> list[UnitProgress]:
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

