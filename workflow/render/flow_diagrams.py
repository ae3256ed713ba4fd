"""Which flow diagram a command asks for: a type's (from the database or a
folder of definitions), a deliverable's path through it, or how many
deliverables sit in each state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.campaign import Campaign
from workflow.errors import InvalidInput, NotFound
from workflow.render.graph_output import render_graph
from workflow.render.type_diagram import Step, render, state_counts_graph
from workflow.spec.loader import load_directory
from workflow.store.views import DeliverableView


@dataclass(frozen=True)
class Look:
    """How a flow is drawn: ``layout`` lr or tb (None: tb on a slide, else lr),
    ``labels`` short (roles and rules in a legend) or full, a 16:9 ``slide``."""

    layout: str | None = None
    labels: str = "short"
    slide: bool = False

    def options(self) -> dict[str, Any]:
        return {"layout": self.layout, "labels": self.labels, "slide": self.slide}


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
    if queries is None:
        if deliverable_id is not None:
            raise InvalidInput("--deliverable reads the database; drop --definitions")
        if type_id is None:
            raise InvalidInput("name the deliverable TYPE to draw")
        specs = {d.spec.id: d.spec for d in load_directory(directory or Path())}
        if type_id not in specs:
            raise NotFound("deliverable type", type_id)
        return render(specs[type_id], fmt, **look.options()), type_id
    if deliverable_id is None:
        if type_id is None:
            raise InvalidInput("name the deliverable TYPE or give --deliverable ID")
        return render(queries.registry.definition(type_id), fmt, **look.options()), type_id
    view = queries.reads.get(deliverable_id)
    if type_id is not None and type_id != view.type:
        raise InvalidInput(f"deliverable {deliverable_id} is a {view.type}, not a {type_id}")
    return path_diagram(queries, view, fmt, look), f"{view.type}-{deliverable_id}"


def path_diagram(queries: Campaign, view: DeliverableView, fmt: str,
                 look: Look | None = None) -> bytes:
    """A deliverable's flow with its current state and the path it took highlighted."""
    path = [Step(*step) for step in queries.reads.path(view.id)]
    return render(queries.registry.definition_for(view), fmt, current=view.state, path=path,
                  **(look or Look()).options())


def counts_diagram(queries: Campaign, type_id: str | None, fmt: str) -> tuple[bytes, str]:
    """A type's flow with how many deliverables sit in each state."""
    if type_id is None:
        raise InvalidInput("--counts needs the deliverable TYPE")
    spec = queries.registry.definition(type_id)
    # Counted by the database; items under an older definition may sit in
    # states the current one no longer has: those are not drawn.
    held = queries.reads.state_counts(type_id)
    counts = {state.name: held.get(state.name, 0) for state in spec.states}
    return render_graph(state_counts_graph(spec, counts), fmt), f"{type_id}-counts"
