"""Graphviz diagrams of a deliverable type's flow, for training slides and the docs.

Diagrams are drawn from a validated :class:`WorkflowSpec` only, never from the
database: a diagram documents the definition, and a deliverable's history is
handed in explicitly as a ``path`` of :class:`Step` s to highlight.

How a diagram is laid out (direction, short or full edge labels, the slide
preset) is :mod:`workflow.render.diagram_style`; by default arrows carry only the
move's Chinese name and a legend under the flow (:mod:`workflow.render.diagram_legend`)
lists roles and rules.  The bytes are made by :mod:`workflow.render.graph_output`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import graphviz

from workflow.render.diagram_legend import FLOW_CLUSTER, legend_attrs
from workflow.render.diagram_style import (
    EDGE_COLOUR,
    Style,
    edge_attrs,
    graph_attrs,
    make_style,
    node_attrs,
)
from workflow.render.graph_output import check_format, render_graph
from workflow.render.type_diagram_marks import (
    Step,
    check_counts,
    check_highlight,
    count_attrs,
    move_attrs,
    state_attrs,
    step_orders,
)
from workflow.spec.definition import WorkflowSpec

#: Step is part of this module's interface: callers hand a path of them to render.
__all__ = ["Step", "build_graph", "render", "state_counts_graph"]

_PLAIN_STYLE = Style()  # lr, short labels with a legend, not a slide
_START = "__start__"
#: Flows with more states than this are drawn top to bottom when counted.
_LONG_FLOW = 6


def render(
    spec: WorkflowSpec,
    fmt: str,
    *,
    current: str | None = None,
    path: Sequence[Step] = (),
    layout: str | None = None,
    labels: str = "short",
    slide: bool = False,
) -> bytes:
    """The diagram as ``svg``, ``png`` or ``dot`` bytes.

    ``layout`` is ``lr`` or ``tb`` (default: ``tb`` for a slide, else ``lr``);
    ``labels`` ``short`` (Chinese name on the arrow, roles and rules in a legend)
    or ``full`` (all on the arrow); ``slide`` fits 16:9 with legible text.
    """
    check_format(fmt)
    style = make_style(layout, labels, slide)
    return render_graph(build_graph(spec, current=current, path=path, style=style), fmt)


def build_graph(
    spec: WorkflowSpec,
    *,
    current: str | None = None,
    path: Sequence[Step] = (),
    counts: Mapping[str, int] | None = None,
    style: Style = _PLAIN_STYLE,
) -> graphviz.Digraph:
    """The state diagram of ``spec``; ``current`` and ``path`` are highlighted.

    ``style`` (see :func:`make_style`) sets the direction, the edge labels and
    the slide preset; short labels come with a legend of roles and rules.
    With ``counts`` (state → deliverables in it) every state shows its number,
    occupied states stand out, empty ones are drawn pale, and arrows carry only
    their Chinese name with no legend (roles and rules are on the plain diagram).
    """
    check_highlight(spec, current, path)
    if counts is not None:
        check_counts(spec, counts)
        style = style._replace(labels="short")
    graph = graphviz.Digraph(
        name=spec.id,
        graph_attr=graph_attrs(f"{spec.title} / {spec.title_en}", style),
        node_attr=node_attrs(style),
        edge_attr=edge_attrs(style, EDGE_COLOUR),
    )
    if style.full or counts is not None:
        _add_states(graph, spec, current, path, counts, style)
    else:
        flow = graphviz.Digraph(name=FLOW_CLUSTER, graph_attr=legend_attrs(spec, style))
        _add_states(flow, spec, current, path, counts, style)
        graph.subgraph(flow)
    _add_moves(graph, spec, path, style)
    return graph


def state_counts_graph(spec: WorkflowSpec, counts: Mapping[str, int]) -> graphviz.Digraph:
    """``spec``'s flow with how many deliverables sit in each state."""
    graph = build_graph(spec, counts=counts)
    total = sum(counts.values())
    graph.attr(label=f"{spec.title} / {spec.title_en}\\n各状态份数（共 {total} 份）")
    if len(spec.states) > _LONG_FLOW:  # a row of seven is over 20 inches: stack it
        graph.attr(rankdir="TB", ranksep="0.4")
    return graph


def _add_states(
    graph: graphviz.Digraph,
    spec: WorkflowSpec,
    current: str | None,
    path: Sequence[Step],
    counts: Mapping[str, int] | None,
    style: Style,
) -> None:
    visited = {name for step in path for name in (step.source, step.dest)}
    # The conventional UML mark for "starts here": a dot with an arrow.
    graph.node(_START, label="", shape="point", width="0.15", style="filled", fillcolor="black")
    graph.edge(_START, spec.initial, color="black")
    for state in spec.states:
        attrs = state_attrs(state, current, visited, full=style.full)
        if counts is not None:
            attrs.update(count_attrs(state, counts.get(state.name, 0)))
        graph.node(state.name, **attrs)


def _add_moves(
    graph: graphviz.Digraph, spec: WorkflowSpec, path: Sequence[Step], style: Style
) -> None:
    orders = step_orders(path)
    for transition in spec.transitions:
        # A transition with several sources is several arrows on paper.
        for source in transition.source:
            taken = orders.get((source, transition.trigger), [])
            graph.edge(source, transition.dest, **move_attrs(transition, source, taken, style))
