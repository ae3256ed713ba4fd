"""Graphviz diagrams of workflow definitions, for training slides and the docs.

Diagrams are drawn from a validated :class:`WorkflowSpec` only, never from the
database: a diagram documents the definition, and a deliverable's history is
handed in explicitly as a ``path`` of :class:`Step` s to highlight.

The DOT text is deterministic (same spec, same bytes), so the committed
``diagrams/*.dot`` can be compared with what the current definitions produce.
SVGs carry the DOT's sha256 in a comment because the SVG bytes themselves
depend on the installed Graphviz version.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import graphviz

from .definition import ROLE_LABELS, Role, Rule, StateSpec, TransitionSpec, WorkflowSpec
from .errors import CampaignError, InvalidInput
from .loader import load_directory, load_plan, shipped_definitions_dir, shipped_plan

#: Installed by fonts-noto-cjk; with a Latin-only font Graphviz draws boxes (tofu).
CJK_FONT = "Noto Sans CJK SC"
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
#: Shown under an edge so a reader sees the rule without reading YAML.
_RULE_MARKS: dict[Rule, str] = {
    Rule.OWNER_ONLY: "仅本人",
    Rule.NOT_OWNER: "不得自审",
    Rule.REQUIRES_COMMENT: "须说明理由",
}
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
) -> graphviz.Digraph:
    """The state diagram of ``spec``; ``current`` and ``path`` are highlighted.

    With ``counts`` (state → deliverables in it) every state shows its number,
    occupied states stand out, empty ones are drawn pale, and arrows carry only
    their Chinese name (roles and rules are on the plain diagram).
    """
    _check_highlight(spec, current, path)
    if counts is not None:
        _check_counts(spec, counts)
    orders = _step_orders(path)
    visited = {name for step in path for name in (step.source, step.dest)}
    graph = graphviz.Digraph(
        name=spec.id,
        graph_attr={
            "rankdir": "LR",
            "label": f"{spec.title} / {spec.title_en}",
            "labelloc": "t",
            "fontname": CJK_FONT,
            "fontsize": "18",
            "bgcolor": "white",
            "nodesep": "0.5",
            "ranksep": "0.7",
        },
        node_attr={
            "fontname": CJK_FONT,
            "fontsize": "12",
            "shape": "box",
            "style": "rounded,filled",
            "margin": "0.18,0.08",
        },
        edge_attr={
            "fontname": CJK_FONT,
            "fontsize": "10",
            "color": _EDGE_COLOUR,
            "arrowsize": "0.8",
        },
    )
    # The conventional UML mark for "starts here": a dot with an arrow.
    graph.node(_START, label="", shape="point", width="0.15", style="filled", fillcolor="black")
    graph.edge(_START, spec.initial, color="black")
    for state in spec.states:
        attrs = _state_attrs(state, current, visited)
        if counts is not None:
            attrs.update(_count_attrs(state, counts.get(state.name, 0)))
        graph.node(state.name, **attrs)
    for transition in spec.transitions:
        # A transition with several sources is several arrows on paper.
        for source in transition.source:
            taken = orders.get((source, transition.trigger), [])
            attrs = _edge_attrs(transition, source, taken)
            if counts is not None:  # about where items sit: the move's name will do
                attrs["label"] = transition.label
            graph.edge(source, transition.dest, **attrs)
    return graph


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


def _edge_attrs(transition: TransitionSpec, source: str, taken: list[int]) -> dict[str, str]:
    marks = "".join(_ordinal(n) for n in taken)
    title = f"{transition.label} / {transition.label_en}"
    lines = [f"{marks} {title}" if marks else title]
    lines.append("[" + "、".join(_role_label(r) for r in transition.roles) + "]")
    rules = " · ".join(mark for rule, mark in _RULE_MARKS.items() if rule in transition.rules)
    if rules:
        lines.append(f"〔{rules}〕")
    # The id makes each arrow addressable in SVG (and in tests).
    attrs = {"label": "\\n".join(lines), "id": f"{source}__{transition.trigger}"}
    # Returns and rejections go backwards; dashing them keeps the main flow readable.
    styles = ["dashed"] if transition.requires_comment else []
    if taken:
        styles.append("bold")
        attrs.update(color=_PATH_COLOUR, fontcolor=_PATH_COLOUR, penwidth="2.5")
    if styles:
        attrs["style"] = ",".join(styles)
    return attrs


def _role_label(role: str) -> str:
    # Roles stay strings in specs so lint can report unknown ones; draw those as written.
    try:
        return ROLE_LABELS[Role(role)][0]
    except ValueError:
        return role


def _ordinal(number: int) -> str:
    """①…⑳, then (21) onwards: the circled digits stop at twenty."""
    return chr(0x2460 + number - 1) if 1 <= number <= 20 else f"({number})"


# -- rendering ---------------------------------------------------------------


def render(
    spec: WorkflowSpec, fmt: str, *, current: str | None = None, path: Sequence[Step] = ()
) -> bytes:
    """The diagram as ``svg``, ``png`` or ``dot`` bytes."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown diagram format {fmt!r} (use one of: {', '.join(FORMATS)})")
    return render_graph(build_graph(spec, current=current, path=path), fmt)


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
        graph.attr(dpi="150")
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
        written += write_pair(directory, spec.id, build_graph(spec))
    return written


def stale(directory: Path, specs: Iterable[WorkflowSpec]) -> list[str]:
    """Ids whose committed diagram is missing or no longer matches the definition."""
    return [spec.id for spec in specs if not pair_up_to_date(directory, spec.id, build_graph(spec))]


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
    """``python -m workflow.diagram [--check] [DIR]``, for ``make diagrams`` and CI.

    Covers every shipped type's diagram and the shipped plan's phase and calendar
    pictures (:mod:`workflow.plan_diagram`).
    """
    from . import plan_diagram  # it builds on this module
    parser = argparse.ArgumentParser(prog="python -m workflow.diagram")
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
