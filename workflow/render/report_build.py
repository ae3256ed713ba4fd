"""The campaign report: where the campaign stands on a given day.

:func:`build_report` reads the campaign once (plan, people, deliverables,
event records, talks, targets, the phase and transition events of the log)
and shapes it into a frozen :class:`~workflow.render.report_model.Report`;
:func:`workflow.render.report_formats.render` turns a report into a table,
JSON, Markdown or one printable HTML page.

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
:class:`~workflow.render.report_model.Completion`).

The database counts (:mod:`workflow.services.tallies`): by type and state, by
unit, by phase, each a ``GROUP BY``; it lists the overdue and the completed
late items, one statement each.  No deliverable is loaded to be counted.
"""

from __future__ import annotations

from datetime import date

from workflow.campaign import Campaign
from workflow.render import report_tallies
from workflow.render.report_model import (
    Completion,
    CurrentPhase,
    ForcedAdvance,
    GateCheck,
    PhaseRow,
    PlanInfo,
    Report,
    TargetRow,
    WindowInfo,
)
from workflow.services.gates import Facts, checklist, forced_advances, waivers
from workflow.services.tallies import PhaseTally
from workflow.spec.plan import PlanSpec


def build_report(campaign: Campaign, today: date, plan_id: str | None = None) -> Report:
    facts = campaign.plan.facts(plan_id)  # the read `phase status` judges the gate on
    plan = facts.plan
    current = campaign.plan.phase(plan.id)
    required = campaign.plan.phase_tallies(plan.id)
    states, units = campaign.reads.tallies(plan)
    late = campaign.reads.overdue(today, plan)
    done_late = campaign.reads.completed_late(plan)
    forced = _forced(campaign, facts)
    return Report(
        plan=PlanInfo(id=plan.id, title=plan.title, title_en=plan.title_en, source=plan.source,
                      window=_window(plan)),
        today=today,
        current_phase=_current(plan, current, today),
        phases=tuple(_phases(plan, current, required, forced)),
        completion=_completion(required, forced, len(late), len(done_late)),
        by_type=tuple(report_tallies.by_type(campaign, plan, states)),
        by_unit=tuple(report_tallies.by_unit(units, late, done_late)),
        overdue=tuple(late),
        completed_late=tuple(done_late),
        targets=tuple(
            TargetRow(id=t.id, label=t.label, done=t.done, goal=t.goal, unit=t.unit,
                      percent=t.percent, responsible=t.responsible)
            for t in campaign.plan.targets(plan.id)
        ),
        talks=report_tallies.talks(facts),
        events=tuple(report_tallies.events(facts)),
        gate=tuple(_gate(plan, current, facts)),
    )


def _window(plan: PlanSpec) -> WindowInfo | None:
    window = plan.window
    if window is None:
        return None
    return WindowInfo(start=window.start, end=window.end, paragraph=window.paragraph,
                      from_plan=window.from_plan, provenance=window.provenance)


def _gate(plan: PlanSpec, current: str, facts: Facts) -> list[GateCheck]:
    """The current phase's checklist, each line with its gate item's paragraph."""
    rows = []
    for check in checklist(plan.leaf(current), facts):
        item = check.item
        assert item is not None  # a checklist's lines carry their gate items
        rows.append(GateCheck(label=check.label, satisfied=check.satisfied,
                              missing=check.missing, flagged=check.flagged,
                              paragraph=item.paragraph, from_plan=item.from_plan,
                              provenance=item.provenance))
    return rows


def percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


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
    for path, event in forced_advances(campaign.plan.phase_events(facts.plan.id),
                                       facts.plan.id, facts.people).items():
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
    required: list[PhaseTally], forced: dict[str, ForcedAdvance], overdue: int,
    completed_late: int,
) -> Completion:
    count = sum(t.count for t in required)
    done = sum(t.count for t in required if t.complete)
    waived = sum(f.waived for f in forced.values())
    made_up = sum(f.made_up for f in forced.values())
    whole, part = count + waived, done + made_up
    return Completion(
        required=whole, complete=part, percent=percent(part, whole), overdue=overdue,
        materials_required=count, materials_complete=done,
        completed_late=completed_late, forced_phases=len(forced), waived=waived,
        made_up=made_up,
    )


def _phases(
    plan: PlanSpec, current: str, required: list[PhaseTally], forced: dict[str, ForcedAdvance],
) -> list[PhaseRow]:
    paths = [path for path, _ in plan.leaves()]
    here = paths.index(current)
    rows = []
    for index, (path, phase) in enumerate(plan.leaves()):
        mine = [t for t in required if t.phase in (phase.name, path)]
        left = forced.get(path)
        whole = sum(t.count for t in mine) + (left.waived if left else 0)
        done = sum(t.count for t in mine if t.complete) + (left.made_up if left else 0)
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
