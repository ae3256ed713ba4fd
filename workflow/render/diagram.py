"""Graphviz diagrams of workflow definitions, for training slides and the docs.

Diagrams are drawn from a validated :class:`WorkflowSpec` only, never from the
database: a diagram documents the definition, and a deliverable's history is
handed in explicitly as a ``path`` of :class:`Step` s to highlight.

The DOT text is deterministic (same spec, same bytes), so the committed
``diagrams/*.dot`` can be compared with what the current definitions produce.
SVGs carry the DOT's sha256 in a comment because the SVG bytes themselves
depend on the installed Graphviz version.

How a diagram is laid out (direction, short or full edge labels, the slide
preset) is :mod:`workflow.render.diagram_style`; by default arrows carry only the
move's Chinese name and a legend under the flow lists roles and rules.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import graphviz

from workflow.errors import CampaignError, InvalidInput
from workflow.render.diagram_style import (
    CJK_FONT,
    FLOW_CLUSTER,
    LABELS,
    LAYOUTS,
    Style,
    edge_attrs,
    edge_label,
    graph_attrs,
    legend_attrs,
    make_style,
    node_attrs,
    png_dpi,
)
from workflow.spec.definition import StateSpec, TransitionSpec, WorkflowSpec
from workflow.spec.loader import load_directory, load_plan, shipped_definitions_dir, shipped_plan

__all__ = ["CJK_FONT", "COMMITTED_STYLE", "FORMATS", "LABELS", "LAYOUTS", "Step", "Style",
           "build_graph", "dot_sha256", "make_style", "regenerate", "render", "render_graph",
           "stale"]

#: The committed diagrams/ are read on a page (the README, print): top to
#: bottom with the legend under the flow, taller than wide rather than a 10:1 strip.
COMMITTED_STYLE = Style(layout="tb")
_PLAIN_STYLE = Style()  # lr, short labels with a legend, not a slide
FORMATS: tuple[str, ...] = ("svg", "png", "dot")

_START = "__start__"
_EDGE_COLOUR = "#546e7a"
_PATH_COLOUR = "#c62828"
_CURRENT_FILL = "#ffd54f"
_VISITED_FILL = "#e3f2fd"
_FINAL_FILL = "#e8f5e9"
_PLAIN_FILL = "#ffffff"
_OCCUPIED_FILL = "#ffe0b2"
_PALE = "#b0bec5"
_SHA_COMMENT = "<!-- campaign-dot-sha256: {} -->"


class Step(NamedTuple):
    """One move taken by a deliverable."""

    source: str
    trigger: str
    dest: str


# -- building the graph ------------------------------------------------------


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
    _check_highlight(spec, current, path)
    if counts is not None:
        _check_counts(spec, counts)
        style = style._replace(labels="short")
    graph = graphviz.Digraph(
        name=spec.id,
        graph_attr=graph_attrs(f"{spec.title} / {spec.title_en}", style),
        node_attr=node_attrs(style),
        edge_attr=edge_attrs(style, _EDGE_COLOUR),
    )
    if style.full or counts is not None:
        _add_states(graph, spec, current, path, counts)
    else:
        flow = graphviz.Digraph(name=FLOW_CLUSTER, graph_attr=legend_attrs(spec, style))
        _add_states(flow, spec, current, path, counts)
        graph.subgraph(flow)
    _add_moves(graph, spec, path, style)
    return graph


def _add_states(
    graph: graphviz.Digraph,
    spec: WorkflowSpec,
    current: str | None,
    path: Sequence[Step],
    counts: Mapping[str, int] | None,
) -> None:
    visited = {name for step in path for name in (step.source, step.dest)}
    # The conventional UML mark for "starts here": a dot with an arrow.
    graph.node(_START, label="", shape="point", width="0.15", style="filled", fillcolor="black")
    graph.edge(_START, spec.initial, color="black")
    for state in spec.states:
        attrs = _state_attrs(state, current, visited)
        if counts is not None:
            attrs.update(_count_attrs(state, counts.get(state.name, 0)))
        graph.node(state.name, **attrs)


def _add_moves(
    graph: graphviz.Digraph, spec: WorkflowSpec, path: Sequence[Step], style: Style
) -> None:
    orders = _step_orders(path)
    for transition in spec.transitions:
        # A transition with several sources is several arrows on paper.
        for source in transition.source:
            taken = orders.get((source, transition.trigger), [])
            graph.edge(source, transition.dest, **_edge_attrs(transition, source, taken, style))


def _check_highlight(spec: WorkflowSpec, current: str | None, path: Sequence[Step]) -> None:
    """Refuse highlights that do not exist rather than silently drawing nothing."""
    if current is not None and current not in {s.name for s in spec.states}:
        raise InvalidInput(f"{spec.id} has no state {current!r}")
    for step in path:
        transition = spec.transition(step.source, step.trigger)
        if transition is None or transition.dest != step.dest:
            raise InvalidInput(f"{spec.id} has no move {step.source} -{step.trigger}-> {step.dest}")


def _check_counts(spec: WorkflowSpec, counts: Mapping[str, int]) -> None:
    names = {s.name for s in spec.states}
    for name, count in counts.items():
        if name not in names:
            raise InvalidInput(f"{spec.id} has no state {name!r}")
        if count < 0:
            raise InvalidInput(f"count for {name!r} is negative: {count}")


def _step_orders(path: Sequence[Step]) -> dict[tuple[str, str], list[int]]:
    """1-based positions in ``path`` of each (source, trigger); loops repeat an edge."""
    orders: dict[tuple[str, str], list[int]] = {}
    for number, step in enumerate(path, start=1):
        orders.setdefault((step.source, step.trigger), []).append(number)
    return orders


def _state_attrs(state: StateSpec, current: str | None, visited: set[str]) -> dict[str, str]:
    attrs = {"label": f"{state.label}\\n{state.label_en}", "fillcolor": _PLAIN_FILL}
    if state.final:
        attrs.update(peripheries="2", fillcolor=_FINAL_FILL)
    if state.name in visited:
        attrs["fillcolor"] = _VISITED_FILL
    if state.name == current:
        attrs.update(fillcolor=_CURRENT_FILL, penwidth="2.5")
    return attrs


def _count_attrs(state: StateSpec, count: int) -> dict[str, str]:
    label = f"{state.label}\\n{state.label_en}\\n{count} 份"
    if count:
        return {"label": label, "fillcolor": _OCCUPIED_FILL, "penwidth": "2", "fontsize": "14"}
    return {"label": label, "fillcolor": _PLAIN_FILL, "color": _PALE, "fontcolor": _PALE}


def _edge_attrs(
    transition: TransitionSpec, source: str, taken: list[int], style: Style
) -> dict[str, str]:
    marks = "".join(_ordinal(n) for n in taken)
    # The id makes each arrow addressable in SVG (and in tests).
    attrs = {"label": edge_label(transition, marks, style), "id": f"{source}__{transition.trigger}"}
    # Returns and rejections go backwards; dashing them keeps the main flow readable.
    styles = ["dashed"] if transition.requires_comment else []
    if taken:
        styles.append("bold")
        attrs.update(color=_PATH_COLOUR, fontcolor=_PATH_COLOUR, penwidth="2.5")
    if styles:
        attrs["style"] = ",".join(styles)
    return attrs


def _ordinal(number: int) -> str:
    """①…⑳, then (21) onwards: the circled digits stop at twenty."""
    return chr(0x2460 + number - 1) if 1 <= number <= 20 else f"({number})"


# -- rendering ---------------------------------------------------------------


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
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown diagram format {fmt!r} (use one of: {', '.join(FORMATS)})")
    style = make_style(layout, labels, slide)
    return render_graph(build_graph(spec, current=current, path=path, style=style), fmt)


def render_graph(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Any diagram as ``svg`` (stamped with its DOT's hash), ``png`` or ``dot`` bytes."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown diagram format {fmt!r} (use one of: {', '.join(FORMATS)})")
    source: str = graph.source
    if fmt == "dot":
        return source.encode("utf-8")
    if fmt == "png":
        # Slides want a crisp bitmap; dpi only affects this copy, not the stamped DOT.
        graph = graph.copy()
        graph.attr(dpi=png_dpi(graph.graph_attr))
    output = _pipe(graph, fmt)
    return _stamp_svg(output, source) if fmt == "svg" else output


def _pipe(graph: graphviz.Digraph, fmt: str) -> bytes:
    try:
        output: bytes = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise CampaignError(
            "Graphviz 'dot' executable not found; run `make setup` to install it"
        ) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise CampaignError(
            f"Graphviz failed to render {graph.name}: {detail[0] if detail else exc}"
        ) from None
    return output


def dot_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _stamp_svg(svg: bytes, source: str) -> bytes:
    """Put the DOT's hash right after the XML prolog (or first, if there is none)."""
    comment = (_SHA_COMMENT.format(dot_sha256(source)) + "\n").encode("ascii")
    end = svg.find(b"?>") if svg.startswith(b"<?xml") else -1
    if end == -1:
        return comment + svg
    cut = end + 2
    if svg[cut : cut + 1] == b"\n":
        cut += 1
    return svg[:cut] + comment + svg[cut:]


# -- committed diagrams ------------------------------------------------------


def regenerate(directory: Path, specs: Iterable[WorkflowSpec]) -> list[Path]:
    """Write ``<id>.dot`` and ``<id>.svg`` for every spec; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in specs:
        written += write_pair(directory, spec.id, build_graph(spec, style=COMMITTED_STYLE))
    return written


def stale(directory: Path, specs: Iterable[WorkflowSpec]) -> list[str]:
    """Ids whose committed diagram is missing or no longer matches the definition."""
    return [
        spec.id
        for spec in specs
        if not pair_up_to_date(directory, spec.id, build_graph(spec, style=COMMITTED_STYLE))
    ]


def write_pair(directory: Path, name: str, graph: graphviz.Digraph) -> list[Path]:
    """Write ``<name>.dot`` and its stamped ``<name>.svg``; return both paths."""
    svg = render_graph(graph, "svg")  # before writing, so a failure leaves no half pair
    dot_file, svg_file = directory / f"{name}.dot", directory / f"{name}.svg"
    dot_file.write_bytes(render_graph(graph, "dot"))
    svg_file.write_bytes(svg)
    return [dot_file, svg_file]


def pair_up_to_date(directory: Path, name: str, graph: graphviz.Digraph) -> bool:
    """Whether ``<name>.dot`` is ``graph``'s DOT and ``<name>.svg`` carries its hash."""
    source: str = graph.source
    try:
        dot = (directory / f"{name}.dot").read_bytes()
        svg = (directory / f"{name}.svg").read_bytes()
    except FileNotFoundError:
        return False
    stamp = _SHA_COMMENT.format(dot_sha256(source)).encode("ascii")
    return dot == source.encode("utf-8") and stamp in svg


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workflow.render.diagram [--check] [DIR]``, for ``make diagrams`` and CI.

    Covers every shipped type's diagram and the shipped plan's phase and calendar
    pictures (:mod:`workflow.render.plan_diagram`).
    """
    from workflow.render import plan_diagram  # it builds on this module
    parser = argparse.ArgumentParser(prog="python -m workflow.render.diagram")
    parser.add_argument("--check", action="store_true", help="only report stale diagrams")
    parser.add_argument(
        "directory", nargs="?", type=Path, default=shipped_definitions_dir().parent / "diagrams"
    )
    args = parser.parse_args(argv)
    specs = [loaded.spec for loaded in load_directory(shipped_definitions_dir())]
    titles = {spec.id: spec.title for spec in specs}
    plan = load_plan(shipped_plan()).spec
    if args.check:
        ids = stale(args.directory, specs) + plan_diagram.stale_plan(args.directory, plan, titles)
        for spec_id in ids:
            print(f"stale diagram: {spec_id} (run `make diagrams`)")
        return 1 if ids else 0
    written = regenerate(args.directory, specs)
    for path in written + plan_diagram.regenerate_plan(args.directory, plan, titles):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
