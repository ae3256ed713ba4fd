"""Shaping engine data for people and scripts: JSON documents, diagrams, files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.campaign import Campaign
from workflow.errors import InvalidInput, NotFound
from workflow.spec.definition import ROLE_LABELS, Role, SectionSpec, WorkflowSpec
from workflow.store.views import DeliverableView

if TYPE_CHECKING:
    from workflow.render import plan_diagram


def definition_json(spec: WorkflowSpec) -> dict[str, Any]:
    """The stable JSON shape of ``campaign definitions show --json``."""
    return {
        "id": spec.id,
        "title": spec.title,
        "title_en": spec.title_en,
        "initial": spec.initial,
        "editable_states": list(spec.editable_states),
        "create_roles": list(spec.create_roles),
        "states": [
            {"name": s.name, "label": s.label, "label_en": s.label_en, "final": s.final}
            for s in spec.states
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "label": t.label,
                "label_en": t.label_en,
                "source": list(t.source),
                "dest": t.dest,
                "roles": list(t.roles),
                "owner_only": t.owner_only,
                "owner_or_responsible": t.owner_or_responsible,
                "not_owner": t.not_owner,
                "requires_comment": t.requires_comment,
            }
            for t in spec.transitions
        ],
        "required_sections": [
            {"name": s.name, "label": s.label, "headings": list(s.keywords),
             "pattern": s.pattern} for s in spec.required_sections
        ],
        "publicity": None if spec.publicity is None else {
            "working_days": spec.publicity.working_days,
            "objection_trigger": spec.publicity.objection_trigger,
            "close_trigger": spec.publicity.close_trigger,
        },
    }


def accepted(section: SectionSpec) -> str:
    """What a required section may be headed, as a leader reads it."""
    if section.keywords:
        return "heading with " + " / ".join(section.keywords)
    return f"a line matching {section.pattern}"


def role_label(role: str) -> str:
    try:
        return ROLE_LABELS[Role(role)][0]
    except ValueError:
        return role


def next_moves(queries: Campaign, view: DeliverableView) -> list[dict[str, Any]]:
    """What may happen next to a deliverable, and who may do it.

    Nothing, while it has no content: the engine refuses every move until its
    owner adds a revision (``campaign revise``), so none is offered."""
    if view.revision is None:
        return []
    spec = queries.registry.definition_for(view)
    return [
        {"trigger": t.trigger, "label": t.label, "dest": t.dest, "roles": list(t.roles),
         "owner_only": t.owner_only, "owner_or_responsible": t.owner_or_responsible,
         "not_owner": t.not_owner,
         "requires_comment": t.requires_comment}
        for t in spec.transitions_from(view.state)
    ]


def diagram_bytes(
    queries: Campaign | None,
    type_id: str | None,
    fmt: str,
    deliverable_id: int | None,
    directory: Path | None,
    look: Look | None = None,
) -> tuple[bytes, str]:
    """Render a type's diagram, or a deliverable's with its path highlighted,
    in ``look`` (layout, labels, slide; default: left to right, short labels).

    Returns the bytes and a base name for the output file.
    """
    look = look or Look()
    from workflow.render import diagram
    from workflow.spec import loader

    if queries is None:
        if deliverable_id is not None:
            raise InvalidInput("--deliverable reads the database; drop --definitions")
        if type_id is None:
            raise InvalidInput("name the deliverable TYPE to draw")
        specs = {d.spec.id: d.spec for d in loader.load_directory(directory or Path())}
        if type_id not in specs:
            raise NotFound("deliverable type", type_id)
        return diagram.render(specs[type_id], fmt, **look.options()), type_id
    if deliverable_id is None:
        if type_id is None:
            raise InvalidInput("name the deliverable TYPE or give --deliverable ID")
        return diagram.render(queries.registry.definition(type_id), fmt, **look.options()), type_id
    view = queries.reads.get(deliverable_id)
    if type_id is not None and type_id != view.type:
        raise InvalidInput(f"deliverable {deliverable_id} is a {view.type}, not a {type_id}")
    return path_diagram(queries, view, fmt, look), f"{view.type}-{deliverable_id}"


@dataclass(frozen=True)
class Look:
    """How a flow is drawn: ``layout`` lr or tb (None: tb on a slide, else lr),
    ``labels`` short (roles and rules in a legend) or full, a 16:9 ``slide``."""

    layout: str | None = None
    labels: str = "short"
    slide: bool = False

    def options(self) -> dict[str, Any]:
        return {"layout": self.layout, "labels": self.labels, "slide": self.slide}


def path_diagram(queries: Campaign, view: DeliverableView, fmt: str,
                 look: Look | None = None) -> bytes:
    """A deliverable's flow with its current state and the path it took highlighted."""
    from workflow.render import diagram

    path = [diagram.Step(*step) for step in queries.reads.path(view.id)]
    return diagram.render(queries.registry.definition_for(view), fmt, current=view.state, path=path,
                          **(look or Look()).options())


def campaign_diagram(
    queries: Campaign | None, plan_file: Path | None, calendar: bool, fmt: str
) -> tuple[bytes, str]:
    """The campaign's phase machine (current phase highlighted when running) or calendar."""
    from workflow.render import plan_diagram
    from workflow.spec import loader

    if queries is None:
        if plan_file is None:
            raise InvalidInput("name the plan FILE or run against a started campaign")
        plan, current = loader.load_plan(plan_file).spec, None
    else:
        plan, current = queries.plan.spec(), queries.plan.phase()
    titles = plan_diagram.shipped_titles() if queries is None else {
        spec.id: spec.title for spec in queries.registry.definitions()}
    if calendar:
        graph, name = plan_diagram.calendar_graph(plan, titles), f"{plan.id}-calendar"
    else:
        state = campaign_state(queries) if queries is not None else None
        graph = plan_diagram.phase_graph(plan, titles, current=current, state=state)
        name = f"{plan.id}-phases"
    return plan_diagram.render_graph(graph, fmt), name


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


def campaign_state(queries: Campaign) -> plan_diagram.CampaignState:
    """Every leaf's gate judged today, by the checklist ``phase status`` uses, and
    the phases left by force (the log's ``phase.force`` events)."""
    from workflow.render import plan_diagram
    from workflow.services.gates import checklist, forced_advances

    facts = queries.plan.facts()
    forced = forced_advances(queries.audit.events("phase"), facts.plan.id, facts.people)
    return plan_diagram.CampaignState(
        checks={phase.name: checklist(phase, facts) for _, phase in facts.plan.leaves()},
        forced={path.rpartition(".")[2]: event for path, event in forced.items()},
    )


def counts_diagram(queries: Campaign, type_id: str | None, fmt: str) -> tuple[bytes, str]:
    """A type's flow with how many deliverables sit in each state."""
    from workflow.render import plan_diagram

    if type_id is None:
        raise InvalidInput("--counts needs the deliverable TYPE")
    spec = queries.registry.definition(type_id)
    counts = {state.name: 0 for state in spec.states}
    for item in queries.reads.deliverables(type_id=type_id):
        if item.state in counts:  # items under an older definition may use other states
            counts[item.state] += 1
    graph = plan_diagram.state_counts_graph(spec, counts)
    return plan_diagram.render_graph(graph, fmt), f"{type_id}-counts"
