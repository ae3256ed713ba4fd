"""The campaign's phases drawn as a state machine, each leaf with its exit gate.

Drawn from the plan alone, or over a running campaign's
:class:`~workflow.render.phase_gate_note.CampaignState` (gate items met today
ticked, phases left by force marked); the state is read from the database by
the caller (:mod:`workflow.render.campaign_diagrams`), never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from html import escape
from itertools import pairwise

import graphviz

from workflow.errors import InvalidInput
from workflow.render.diagram_style import (
    CJK_FONT,
    CONFIGURED_COLOUR,
    CURRENT_FILL,
    EDGE_COLOUR,
    FINAL_FILL,
    PLAIN_FILL,
    VISITED_FILL,
)
from workflow.render.labels import CONFIGURED_MARK
from workflow.render.phase_gate_note import CampaignState, gate_note, gate_tooltip
from workflow.render.plan_diagram_style import DUE, MUTED, TITLE, WORKING, marks_key, span
from workflow.spec.loader import load_directory, shipped_definitions_dir
from workflow.spec.plan import PHASE_SEPARATOR, PhaseSpec, PlanSpec


@cache
def shipped_titles() -> dict[str, str]:
    """Deliverable type id → Chinese title, from the shipped definitions."""
    return {d.spec.id: d.spec.title for d in load_directory(shipped_definitions_dir())}


@dataclass(frozen=True)
class _Drawing:
    """What every phase node is drawn against."""

    plan: PlanSpec
    titles: Mapping[str, str]
    current: str | None
    done: set[str]
    state: CampaignState | None


def phase_graph(
    plan: PlanSpec, titles: Mapping[str, str] | None = None, *, current: str | None = None,
    state: CampaignState | None = None,
) -> graphviz.Digraph:
    """The phases as a state machine, top to bottom; a nested phase's links run
    left to right in a cluster.  Each leaf's exit gate is a note beside (or
    under) it; ``current`` (dotted path or leaf name) is highlighted and the
    phases before it tinted.  ``titles`` defaults to :func:`shipped_titles`.

    With a campaign's ``state``, a gate item met today is ticked (✓, else □)
    and a phase left by force is drawn as forced (red), its note saying by
    whom, when and why.  Without it (a plan file), every item is □."""
    leaves = [phase.name for _, phase in plan.leaves()]
    if current is not None:
        if current not in leaves and current not in (path for path, _ in plan.leaves()):
            raise InvalidInput(f"{plan.id} has no phase {current!r}")
        current = current.rpartition(PHASE_SEPARATOR)[2]
    done = set(leaves[: leaves.index(current)]) if current else set()
    drawing = _Drawing(plan, shipped_titles() if titles is None else titles, current, done, state)
    graph = graphviz.Digraph(
        name=f"{plan.id}-phases",
        graph_attr={**TITLE, "label": f"{plan.title}\\n实施步骤 / Phases{_key(plan)}",
                    "compound": "true",
                    "nodesep": "0.3", "ranksep": "0.6"},
        node_attr={"fontname": CJK_FONT, "fontsize": "12", "shape": "box", "margin": "0.15,0.08"},
        edge_attr={"fontname": CJK_FONT, "fontsize": "10", "color": EDGE_COLOUR},
    )
    graph.node("__start__", label="", shape="point", width="0.15")
    graph.edge("__start__", leaves[0], color="black")
    for phase in plan.phases:
        if phase.phases:
            _composite(graph, drawing, phase)
        else:
            _phase_node(graph, drawing, phase, beside=True)
    _advances(graph, plan, leaves, state)
    return graph


def _key(plan: PlanSpec) -> str:
    """What the marks on this picture mean, under its title, if it has any."""
    phases = [p for top in plan.phases for p in (top, *top.phases)]
    key = marks_key(working=any(not p.dates_from_plan for p in phases),
                    configured=any(not p.from_plan or not all(i.from_plan for i in p.gate)
                                   for p in phases))
    return f"\\n{key}" if key else ""


def _composite(graph: graphviz.Digraph, drawing: _Drawing, phase: PhaseSpec) -> None:
    """A nested phase: a cluster whose links run left to right from its own start."""
    with graph.subgraph(name=f"cluster_{phase.name}") as cluster:
        marked = "" if phase.dates_from_plan else WORKING
        marked += "" if phase.from_plan else CONFIGURED_MARK
        label = f"<<B>{escape(phase.label)}</B>  {escape(phase.label_en)}  {span(phase)}"
        cluster.attr(label=f"{label}{marked}>", style="rounded,filled", fillcolor="#f5f7fa",
                     color=MUTED, fontsize="14", tooltip=f"{phase.label}：{phase.provenance}")
        # The composite state's own start: entering it enters its first link.
        start = f"__start_{phase.name}__"
        cluster.node(start, label="", shape="point", width="0.1")
        cluster.edge(start, phase.phases[0].name, color="black")
        for child in phase.phases:
            _phase_node(cluster, drawing, child, beside=False)
        with cluster.subgraph() as row:
            row.attr(rank="same")
            for name in (start, *(child.name for child in phase.phases)):
                row.node(name)


def _advances(
    graph: graphviz.Digraph, plan: PlanSpec, leaves: list[str], state: CampaignState | None
) -> None:
    """An arrow from each leaf to the next; one left by force is red and dashed."""
    parents = {c.name: p.name for p in plan.phases for c in p.phases}
    for here, there in pairwise(leaves):
        attrs = {"id": f"{here}__advance", "penwidth": "1.5"}
        if there in parents and parents[there] != parents.get(here):
            attrs["lhead"] = f"cluster_{parents[there]}"  # into the phase, hence its first link
        if state is not None and here in state.forced:
            attrs.update(color=DUE, style="dashed", label="强制 forced", fontcolor=DUE)
        graph.edge(here, there, **attrs)


def _phase_node(
    graph: graphviz.Digraph, drawing: _Drawing, phase: PhaseSpec, *, beside: bool
) -> None:
    state = drawing.state
    forced = state.forced.get(phase.name) if state else None
    lines = [f"<B>{escape(phase.label)}</B>", _small(escape(phase.label_en))]
    if phase.start:
        lines.append(_small(span(phase) + ("" if phase.dates_from_plan else WORKING), MUTED))
    if not phase.from_plan:
        lines.append(_small(CONFIGURED_MARK, CONFIGURED_COLOUR))
    if forced:
        lines.append(_small("<B>强制推进 forced</B>", DUE))
    attrs = {"label": "<" + "<BR/>".join(lines) + ">", "style": "rounded,filled",
             "tooltip": f"{phase.label}：{phase.provenance}"}
    if not phase.from_plan:
        attrs.update(style="rounded,filled,dashed", color=CONFIGURED_COLOUR)
    attrs["fillcolor"] = VISITED_FILL if phase.name in drawing.done else PLAIN_FILL
    if phase.final:
        attrs.update(peripheries="2", fillcolor=FINAL_FILL)
    if forced:
        attrs.update(color=DUE, penwidth="2")
    if phase.name == drawing.current:
        attrs.update(fillcolor=CURRENT_FILL, penwidth="2.5")
    graph.node(phase.name, **attrs)
    if not phase.gate:
        return
    note = f"{phase.name}__gate"
    checks = state.checks.get(phase.name) if state else None
    graph.node(note, label=f"<{gate_note(drawing.plan, phase, drawing.titles, checks, forced)}>",
               shape="note", style="filled", fillcolor="#fffde7",
               tooltip=gate_tooltip(drawing.plan, phase, drawing.titles),
               color=DUE if forced else MUTED, fontsize="11")
    # Beside its phase (same rank), or under it where the links run in a row.
    with graph.subgraph() as row:
        if beside:
            row.attr(rank="same")
        row.edge(phase.name, note, style="dashed", arrowhead="none", color=MUTED)


def _small(text: str, colour: str = "") -> str:
    tint = f' COLOR="{colour}"' if colour else ""
    return f'<FONT POINT-SIZE="10"{tint}>{text}</FONT>'
