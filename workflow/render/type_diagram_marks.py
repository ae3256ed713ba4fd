"""How a type's diagram marks a state or a move: current, visited, final,
taken (with its order on the path), and how many deliverables sit in a state;
and the checks that every highlight asked for exists in the definition.

Kept apart from :mod:`workflow.render.type_diagram`, which lays the graph out,
so what each highlight means is read in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from workflow.errors import InvalidInput
from workflow.render.diagram_legend import edge_label
from workflow.render.diagram_style import (
    CONFIGURED_COLOUR,
    CURRENT_FILL,
    FINAL_FILL,
    PATH_COLOUR,
    PLAIN_FILL,
    VISITED_FILL,
    Style,
)
from workflow.render.labels import CONFIGURED_MARK
from workflow.spec.definition import StateSpec, TransitionSpec, WorkflowSpec

_OCCUPIED_FILL = "#ffe0b2"
_PALE = "#b0bec5"


class Step(NamedTuple):
    """One move taken by a deliverable."""

    source: str
    trigger: str
    dest: str


def state_attrs(
    state: StateSpec, current: str | None, visited: set[str], *, full: bool = False
) -> dict[str, str]:
    """A state's box; its tooltip says where it comes from.  One the plan does
    not prescribe is framed grey and dashed (and marked in full labels)."""
    label = f"{state.label}\\n{state.label_en}"
    attrs = {"label": label, "fillcolor": PLAIN_FILL,
             "tooltip": f"{state.label}：{state.provenance}"}
    if not state.from_plan:
        attrs.update(style="rounded,filled,dashed", color=CONFIGURED_COLOUR)
        if full:
            attrs["label"] = f"{label}\\n{CONFIGURED_MARK}"
    if state.final:
        attrs.update(peripheries="2", fillcolor=FINAL_FILL)
    if state.name in visited:
        attrs["fillcolor"] = VISITED_FILL
    if state.name == current:
        attrs.update(fillcolor=CURRENT_FILL, penwidth="2.5")
    return attrs


def count_attrs(state: StateSpec, count: int) -> dict[str, str]:
    """Occupied states stand out; empty ones are drawn pale."""
    label = f"{state.label}\\n{state.label_en}\\n{count} 份"
    if count:
        return {"label": label, "fillcolor": _OCCUPIED_FILL, "penwidth": "2", "fontsize": "14"}
    return {"label": label, "fillcolor": PLAIN_FILL, "color": _PALE, "fontcolor": _PALE}


def move_attrs(
    transition: TransitionSpec, source: str, taken: list[int], style: Style
) -> dict[str, str]:
    """One arrow; ``taken`` are the 1-based places on the path where it was followed."""
    marks = "".join(_ordinal(n) for n in taken)
    # The id makes each arrow addressable in SVG (and in tests).
    attrs = {"label": edge_label(transition, marks, style), "id": f"{source}__{transition.trigger}",
             "tooltip": f"{transition.label}：{transition.provenance}"}
    # Returns and rejections go backwards; dashing them keeps the main flow
    # readable.  A move the plan does not prescribe is dashed too, and grey.
    styles = ["dashed"] if transition.requires_comment or not transition.from_plan else []
    if not transition.from_plan:
        attrs.update(color=CONFIGURED_COLOUR, fontcolor=CONFIGURED_COLOUR)
    if taken:
        styles.append("bold")
        attrs.update(color=PATH_COLOUR, fontcolor=PATH_COLOUR, penwidth="2.5")
    if styles:
        attrs["style"] = ",".join(styles)
    return attrs


def _ordinal(number: int) -> str:
    """①…⑳, then (21) onwards: the circled digits stop at twenty."""
    return chr(0x2460 + number - 1) if 1 <= number <= 20 else f"({number})"


def check_highlight(spec: WorkflowSpec, current: str | None, path: Sequence[Step]) -> None:
    """Refuse highlights that do not exist rather than silently drawing nothing."""
    if current is not None and current not in {s.name for s in spec.states}:
        raise InvalidInput(f"{spec.id} has no state {current!r}")
    for step in path:
        transition = spec.transition(step.source, step.trigger)
        if transition is None or transition.dest != step.dest:
            raise InvalidInput(f"{spec.id} has no move {step.source} -{step.trigger}-> {step.dest}")


def check_counts(spec: WorkflowSpec, counts: Mapping[str, int]) -> None:
    names = {s.name for s in spec.states}
    for name, count in counts.items():
        if name not in names:
            raise InvalidInput(f"{spec.id} has no state {name!r}")
        if count < 0:
            raise InvalidInput(f"count for {name!r} is negative: {count}")


def step_orders(path: Sequence[Step]) -> dict[tuple[str, str], list[int]]:
    """1-based positions in ``path`` of each (source, trigger); loops repeat an edge."""
    orders: dict[tuple[str, str], list[int]] = {}
    for number, step in enumerate(path, start=1):
        orders.setdefault((step.source, step.trigger), []).append(number)
    return orders
