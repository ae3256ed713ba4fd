"""The diagrams committed under ``diagrams/``: written by ``make diagrams``,
checked for staleness by ``python -m workflow.render.committed_diagrams --check``.

Every shipped type's flow, and the shipped plan's phase and calendar pictures,
each as a ``.dot`` and an SVG stamped with the DOT's hash
(:mod:`workflow.render.graph_output`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import graphviz

from workflow.render.calendar_diagram import calendar_graph
from workflow.render.diagram_style import Style
from workflow.render.graph_output import pair_up_to_date, write_pair
from workflow.render.phase_diagram import phase_graph
from workflow.render.type_diagram import build_graph
from workflow.spec.definition import WorkflowSpec
from workflow.spec.loader import (
    LoadedPlan,
    load_directory,
    load_plan,
    shipped_definitions_dir,
    shipped_plan,
)
from workflow.spec.plan import PlanSpec

#: The committed diagrams/ are read on a page (the README, print): top to
#: bottom with the legend under the flow, taller than wide rather than a 10:1 strip.
COMMITTED_STYLE = Style(layout="tb")


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


def regenerate_plan(
    directory: Path, plan: LoadedPlan | PlanSpec, titles: Mapping[str, str]
) -> list[Path]:
    """Write ``<plan-id>-phases`` and ``<plan-id>-calendar`` as ``.dot`` and ``.svg``."""
    directory.mkdir(parents=True, exist_ok=True)
    graphs = _plan_graphs(plan, titles)
    return [path for name, graph in graphs for path in write_pair(directory, name, graph)]


def stale_plan(
    directory: Path, plan: LoadedPlan | PlanSpec, titles: Mapping[str, str]
) -> list[str]:
    """Names of the plan's pictures missing from ``directory`` or out of date."""
    graphs = _plan_graphs(plan, titles)
    return [name for name, graph in graphs if not pair_up_to_date(directory, name, graph)]


def _plan_graphs(
    plan: LoadedPlan | PlanSpec, titles: Mapping[str, str]
) -> list[tuple[str, graphviz.Digraph]]:
    spec = plan.spec if isinstance(plan, LoadedPlan) else plan
    return [
        (f"{spec.id}-phases", phase_graph(spec, titles)),
        (f"{spec.id}-calendar", calendar_graph(spec, titles)),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m workflow.render.committed_diagrams [--check] [DIR]``, for
    ``make diagrams`` and CI: every shipped type's diagram and the shipped
    plan's phase and calendar pictures."""
    parser = argparse.ArgumentParser(prog="python -m workflow.render.committed_diagrams")
    parser.add_argument("--check", action="store_true", help="only report stale diagrams")
    parser.add_argument(
        "directory", nargs="?", type=Path, default=shipped_definitions_dir().parent / "diagrams"
    )
    args = parser.parse_args(argv)
    specs = [loaded.spec for loaded in load_directory(shipped_definitions_dir())]
    titles = {spec.id: spec.title for spec in specs}
    plan = load_plan(shipped_plan()).spec
    if args.check:
        ids = stale(args.directory, specs) + stale_plan(args.directory, plan, titles)
        for spec_id in ids:
            print(f"stale diagram: {spec_id} (run `make diagrams`)")
        return 1 if ids else 0
    for path in regenerate(args.directory, specs) + regenerate_plan(args.directory, plan, titles):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
