"""The campaign's own pictures: its phases (over a running campaign, gates
ticked and forced phases marked) and its calendar, from a plan file or the
database."""

from __future__ import annotations

from pathlib import Path

from workflow.campaign import Campaign
from workflow.errors import InvalidInput
from workflow.render.calendar_diagram import calendar_graph
from workflow.render.graph_output import render_graph
from workflow.render.phase_diagram import phase_graph, shipped_titles
from workflow.render.phase_gate_note import CampaignState
from workflow.services.gates import checklist, forced_advances
from workflow.spec.loader import load_plan


def campaign_diagram(
    queries: Campaign | None, plan_file: Path | None, calendar: bool, fmt: str,
    plan_id: str | None = None,
) -> tuple[bytes, str]:
    """The campaign's phase machine (current phase highlighted when running) or calendar."""
    if queries is None:
        if plan_file is None:
            raise InvalidInput("name the plan FILE or run against a started campaign")
        plan, current = load_plan(plan_file).spec, None
    else:
        plan, current = queries.plan.spec(plan_id), queries.plan.phase(plan_id)
    titles = shipped_titles() if queries is None else {
        spec.id: spec.title for spec in queries.registry.definitions()}
    if calendar:
        graph, name = calendar_graph(plan, titles), f"{plan.id}-calendar"
    else:
        state = campaign_state(queries, plan.id) if queries is not None else None
        graph = phase_graph(plan, titles, current=current, state=state)
        name = f"{plan.id}-phases"
    return render_graph(graph, fmt), name


def write_campaign_diagrams(queries: Campaign, directory: Path, fmt: str = "svg") -> list[Path]:
    """The running campaign's phases (gates ticked, forced phases marked) and
    calendar, as ``<plan-id>-phases.<fmt>`` and ``<plan-id>-calendar.<fmt>``."""
    written = []
    for calendar in (False, True):
        data, name = campaign_diagram(queries, None, calendar, fmt)
        path = directory / f"{name}.{fmt}"
        path.write_bytes(data)
        written.append(path)
    return written


def campaign_state(queries: Campaign, plan_id: str | None = None) -> CampaignState:
    """Every leaf's gate judged today, by the checklist ``phase status`` uses, and
    the phases left by force (the log's ``phase.force`` events)."""
    facts = queries.plan.facts(plan_id)
    forced = forced_advances(queries.plan.phase_events(facts.plan.id), facts.plan.id,
                             facts.people)
    return CampaignState(
        checks={phase.name: checklist(phase, facts) for _, phase in facts.plan.leaves()},
        forced={path.rpartition(".")[2]: event for path, event in forced.items()},
    )
