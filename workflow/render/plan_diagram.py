"""Training pictures of a campaign plan: its phases, its calendar, a type's counts.

Like :mod:`workflow.render.diagram`, everything is drawn from validated specs only
(never the database) and the DOT text is deterministic, so the committed
``diagrams/<plan-id>-phases.dot`` and ``-calendar.dot`` are checked for
staleness the same way as the type diagrams.  ``titles`` maps a deliverable
type id to its Chinese title (a plan names types by id only).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from html import escape
from itertools import pairwise
from pathlib import Path

import graphviz

from workflow.errors import InvalidInput
from workflow.render.diagram import (
    _CURRENT_FILL,
    _EDGE_COLOUR,
    _FINAL_FILL,
    _PLAIN_FILL,
    _VISITED_FILL,
    CJK_FONT,
    build_graph,
    pair_up_to_date,
    render_graph,
    write_pair,
)
from workflow.render.diagram_style import role_label as _role_label
from workflow.services.gates import Check, Forced
from workflow.spec.definition import WorkflowSpec
from workflow.spec.loader import LoadedPlan, load_directory, shipped_definitions_dir
from workflow.spec.plan import (
    PHASE_SEPARATOR,
    EventSpec,
    GateItem,
    PhaseSpec,
    PlanSpec,
    RequirementSpec,
)

__all__ = ["CampaignState", "calendar_graph", "phase_graph", "regenerate_plan", "render_graph",
           "shipped_titles", "stale_plan", "state_counts_graph"]

_MUTED = "#607d8b"
_GRID = "#cfd8dc"
_DUE = "#c62828"  # deliverables' due dates
_DEADLINE = "#1565c0"  # events' deadlines and the talks'
_BARS = ("#81c784", "#64b5f6", "#4fc3f7", "#4db6ac", "#ffb74d", "#ba68c8")
#: Points per day on the calendar: the 233 days of 2014 come out under 10 inches.
_DAY = 3
#: Flows with more states than this are drawn top to bottom when counted.
_LONG_FLOW = 6
_LEFT = '<BR ALIGN="LEFT"/>'
_WORKING = " (工作安排)"  # dates from the office's working calendar, not the plan
_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'

#: Characters per line of a forced advance's reason in its gate note.
_REASON_WIDTH = 20

_TITLE = {"labelloc": "t", "fontname": CJK_FONT, "fontsize": "18", "bgcolor": "white"}
Mark = tuple[date, str, str]  # day, colour, text


@cache
def shipped_titles() -> dict[str, str]:
    """Deliverable type id → Chinese title, from the shipped definitions."""
    return {d.spec.id: d.spec.title for d in load_directory(shipped_definitions_dir())}


# -- the phase machine -------------------------------------------------------


@dataclass(frozen=True)
class CampaignState:
    """A running campaign's gates, to draw over its plan (read from the database
    by the caller; this module never reads it)."""

    #: Leaf phase name → its checklist today (:func:`workflow.services.gates.checklist`,
    #: one line per gate item, in the plan's order).
    checks: Mapping[str, Sequence[Check]] = field(default_factory=dict)
    #: Leaf phase name → how it was left by force.
    forced: Mapping[str, Forced] = field(default_factory=dict)


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
    titles = shipped_titles() if titles is None else titles
    graph = graphviz.Digraph(
        name=f"{plan.id}-phases",
        graph_attr={**_TITLE, "label": f"{plan.title}\\n实施步骤 / Phases", "compound": "true",
                    "nodesep": "0.3", "ranksep": "0.6"},
        node_attr={"fontname": CJK_FONT, "fontsize": "12", "shape": "box", "margin": "0.15,0.08"},
        edge_attr={"fontname": CJK_FONT, "fontsize": "10", "color": _EDGE_COLOUR},
    )
    graph.node("__start__", label="", shape="point", width="0.15")
    graph.edge("__start__", leaves[0], color="black")
    for phase in plan.phases:
        if not phase.phases:
            _phase_node(graph, plan, phase, titles, current, done, state, beside=True)
            continue
        with graph.subgraph(name=f"cluster_{phase.name}") as cluster:
            marked = "" if phase.dates_from_plan else _WORKING
            label = f"<<B>{escape(phase.label)}</B>  {escape(phase.label_en)}  {_span(phase)}"
            cluster.attr(label=f"{label}{marked}>", style="rounded,filled", fillcolor="#f5f7fa",
                         color=_MUTED, fontsize="14")
            # The composite state's own start: entering it enters its first link.
            start = f"__start_{phase.name}__"
            cluster.node(start, label="", shape="point", width="0.1")
            cluster.edge(start, phase.phases[0].name, color="black")
            for child in phase.phases:
                _phase_node(cluster, plan, child, titles, current, done, state, beside=False)
            with cluster.subgraph() as row:
                row.attr(rank="same")
                for name in (start, *(child.name for child in phase.phases)):
                    row.node(name)
    parents = {c.name: p.name for p in plan.phases for c in p.phases}
    for here, there in pairwise(leaves):
        attrs = {"id": f"{here}__advance", "penwidth": "1.5"}
        if there in parents and parents[there] != parents.get(here):
            attrs["lhead"] = f"cluster_{parents[there]}"  # into the phase, hence its first link
        if state is not None and here in state.forced:
            attrs.update(color=_DUE, style="dashed", label="强制 forced", fontcolor=_DUE)
        graph.edge(here, there, **attrs)
    return graph


def _phase_node(
    graph: graphviz.Digraph, plan: PlanSpec, phase: PhaseSpec, titles: Mapping[str, str],
    current: str | None, done: set[str], state: CampaignState | None, *, beside: bool,
) -> None:
    forced = state.forced.get(phase.name) if state else None
    lines = [f"<B>{escape(phase.label)}</B>", _small(escape(phase.label_en))]
    if phase.start:
        lines.append(_small(_span(phase) + ("" if phase.dates_from_plan else _WORKING), _MUTED))
    if forced:
        lines.append(_small("<B>强制推进 forced</B>", _DUE))
    attrs = {"label": "<" + "<BR/>".join(lines) + ">", "style": "rounded,filled"}
    attrs["fillcolor"] = _VISITED_FILL if phase.name in done else _PLAIN_FILL
    if phase.final:
        attrs.update(peripheries="2", fillcolor=_FINAL_FILL)
    if forced:
        attrs.update(color=_DUE, penwidth="2")
    if phase.name == current:
        attrs.update(fillcolor=_CURRENT_FILL, penwidth="2.5")
    graph.node(phase.name, **attrs)
    if not phase.gate:
        return
    note = f"{phase.name}__gate"
    checks = state.checks.get(phase.name) if state else None
    graph.node(note, label=f"<{_gate_note(plan, phase, titles, checks, forced)}>",
               shape="note", style="filled", fillcolor="#fffde7",
               color=_DUE if forced else _MUTED, fontsize="11")
    # Beside its phase (same rank), or under it where the links run in a row.
    with graph.subgraph() as row:
        if beside:
            row.attr(rank="same")
        row.edge(phase.name, note, style="dashed", arrowhead="none", color=_MUTED)


def _gate_note(
    plan: PlanSpec, phase: PhaseSpec, titles: Mapping[str, str],
    checks: Sequence[Check] | None, forced: Forced | None,
) -> str:
    """The gate's items, ticked where ``checks`` (one per item) says met; a
    forced phase adds who forced it, when and why."""
    if checks is not None and len(checks) != len(phase.gate):
        checks = None  # not this plan's checklist: claim nothing
    text = "<B>推进条件 Exit gate</B>"
    if forced:
        text += f' <FONT COLOR="{_DUE}"><B>强制推进 forced</B></FONT>'
    text += _LEFT
    for index, item in enumerate(phase.gate):
        mark = "✓" if checks is not None and checks[index].satisfied else "□"
        text += f"{mark} {escape(_gate_text(plan, item, titles))}{_LEFT}"
    if forced:
        who = f"{forced.by_name}（{forced.by}）{forced.on} 强制推进，理由："
        reason = textwrap.wrap(forced.reason, _REASON_WIDTH) or ["—"]
        text += "".join(f'<FONT COLOR="{_DUE}">{escape(line)}</FONT>{_LEFT}'
                        for line in [who, *reason])
    return text


def _small(text: str, colour: str = "") -> str:
    tint = f' COLOR="{colour}"' if colour else ""
    return f'<FONT POINT-SIZE="10"{tint}>{text}</FONT>'


def _gate_text(plan: PlanSpec, item: GateItem, titles: Mapping[str, str]) -> str:
    if item.deliverable is not None:
        return titles.get(item.deliverable, item.deliverable)
    if item.event is not None:
        return _event_text(plan.event(item.event))
    assert plan.talks is not None  # validated: a talks gate needs declared talks
    return plan.talks.label + (f"（{_md(plan.talks.due)} 前）" if plan.talks.due else "")


def _event_text(event: EventSpec) -> str:
    parts = [f"各{_role_label(event.per)}"] if event.per else []
    if event.min_count > 1:
        parts.append(f"≥{event.min_count} 次")
    if event.min_days:
        parts.append(f"每次 ≥{event.min_days:g} 天")
    if event.deadline:
        parts.append(f"{_md(event.deadline)} 前")
    return event.label + (f"（{'，'.join(parts)}）" if parts else "")


def _md(day: date) -> str:
    return f"{day:%m-%d}"


def _span(phase: PhaseSpec) -> str:
    assert phase.start and phase.end
    return f"{_md(phase.start)} – {_md(phase.end)}"


# -- the calendar ------------------------------------------------------------


def calendar_graph(plan: PlanSpec, titles: Mapping[str, str]) -> graphviz.Digraph:
    """A Gantt chart over the campaign's days: a bar per dated phase (widths in
    proportion to days), month lines, and under each bar its phase's due dates."""
    phases = [p for top in plan.phases for p in (top, *top.phases) if p.start and p.end]
    dated = [day for phase in phases for day, _, _ in _marks(plan, phase, titles)]
    first, last = min([plan.start, *dated]), max([plan.end, *dated])
    days = (last - first).days + 1
    months = {(d - first).days for d in (first + timedelta(n) for n in range(days)) if d.day == 1}
    rows = [_header(first, days)]
    nested = {child.name for top in plan.phases for child in top.phases}
    bars = iter(_BARS * len(phases))
    for phase in phases:
        assert phase.start and phase.end
        marks = _marks(plan, phase, titles)
        indent = "　" if phase.name in nested else ""
        english = f"{escape(phase.label_en)} · {_span(phase)}"
        english += "" if phase.dates_from_plan else _WORKING
        name = f'{indent}<B>{escape(phase.label)}</B>{_LEFT}{indent}<FONT POINT-SIZE="9" '
        name += f'COLOR="{_MUTED}">{english}</FONT>{_LEFT}'
        colour = _GRID if phase.phases else next(bars)
        spans = [(phase.start, phase.end, colour)] + [(d, d, c) for d, c, _ in marks]
        rows.append(
            f'<TR><TD ROWSPAN="{len(marks) + 1}" ALIGN="LEFT" VALIGN="TOP" SIDES="T" BORDER="1" '
            f'COLOR="{_GRID}" CELLPADDING="4">{name}</TD>'
            f"<TD>{_bar(first, days, months, spans)}</TD></TR>"
        )
        rows += [f"<TR><TD>{_milestone(first, days, mark)}</TD></TR>" for mark in marks]
    legend = (
        f'<FONT COLOR="{_DUE}">◆</FONT> 材料报送截止 Deliverable due　　'
        f'<FONT COLOR="{_DEADLINE}">●</FONT> 活动、谈话截止 Event deadline　　'
        f'<FONT COLOR="{_MUTED}">{_WORKING.strip()} 日期为工作安排，非方案所定</FONT>'
    )
    rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT" CELLPADDING="6">{legend}</TD></TR>')
    graph = graphviz.Digraph(
        name=f"{plan.id}-calendar",
        graph_attr={**_TITLE, "label": f"{plan.title}\\n活动日程 / Calendar {first} – {last}"},
        node_attr={"fontname": CJK_FONT, "fontsize": "11", "shape": "plain"},
    )
    graph.node("calendar", label=f"<{_TABLE}{''.join(rows)}</TABLE>>")
    return graph


def _marks(plan: PlanSpec, phase: PhaseSpec, titles: Mapping[str, str]) -> list[Mark]:
    """The due dates that fall to ``phase``, by day."""
    here = phase.name
    marks = [(r.due, _DUE, _requirement_text(r, titles)) for r in plan.requirements
             if r.phase == here]
    marks += [(e.deadline, _DEADLINE, e.label) for e in plan.events
              if e.phase == here and e.deadline]
    if plan.talks and plan.talks.due and plan.talks.phase == here:
        marks.append((plan.talks.due, _DEADLINE, plan.talks.label))
    return sorted(marks, key=lambda mark: mark[0])


def _requirement_text(requirement: RequirementSpec, titles: Mapping[str, str]) -> str:
    """A per-person requirement's title names no one: "{name}调研报告" → 调研报告."""
    if requirement.per is None:
        return requirement.title
    title = requirement.title.replace("{name}", "").strip()
    title = title or titles.get(requirement.deliverable, requirement.deliverable)
    return f"{title}（{_role_label(requirement.per)}各一份）"


def _header(first: date, days: int) -> str:
    """The month row: a cell per (part of a) month, as wide as its days."""
    cells, start, end = [], first, first + timedelta(days)
    while start < end:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        width = (min(following, end) - start).days * _DAY
        month = f"<B>{start.month}月</B>" if width >= 30 else ""  # room for its name?
        cells.append(f'<TD WIDTH="{width}" HEIGHT="18" FIXEDSIZE="TRUE" SIDES="L" BORDER="1" '
                     f'COLOR="{_GRID}">{month}</TD>')
        start = following
    head = '<TD ALIGN="LEFT" CELLPADDING="4"><B>阶段 / Phase</B></TD>'
    return f"<TR>{head}<TD>{_row(''.join(cells))}</TD></TR>"


def _row(cells: str) -> str:
    return f"{_TABLE}<TR>{cells}</TR></TABLE>"


def _bar(first: date, days: int, months: set[int], spans: list[tuple[date, date, str]]) -> str:
    """Fixed-width cells: a line at each month, each span's days in its colour
    (later spans paint over earlier ones)."""
    colours = [""] * days
    for start, end, colour in spans:
        for n in range((start - first).days, (end - first).days + 1):
            colours[n] = colour
    changes = {n for n in range(1, days) if colours[n] != colours[n - 1]}
    cells = []
    for a, b in pairwise(sorted({0, days} | months | changes)):
        line = f' SIDES="L" BORDER="1" COLOR="{_GRID}"' if a in months else ""
        fill = f' BGCOLOR="{colours[a]}"' if colours[a] else ""
        cells.append(f'<TD WIDTH="{(b - a) * _DAY}" HEIGHT="18" FIXEDSIZE="TRUE"{fill}{line}></TD>')
    return _row("".join(cells))


def _milestone(first: date, days: int, mark: Mark) -> str:
    """The mark's symbol at its day, its date and text on whichever side has room."""
    day, colour, text = mark
    x, total = (day - first).days * _DAY + _DAY // 2, days * _DAY
    label = f"{_md(day)} {escape(text)}"
    symbol = f'<FONT COLOR="{colour}">{"◆" if colour == _DUE else "●"}</FONT>'
    width = sum(11 if ord(ch) > 0x2E80 else 6 for ch in label) + 16  # a generous guess
    if total - x >= width:
        cut = max(x - 6, 0)  # the symbol, 10 points wide, centred on the day
        return _row(_text_cell(cut, "", "RIGHT") + _text_cell(total - cut, f" {symbol} {label}"))
    cut = min(x + 6, total)
    return _row(_text_cell(cut, f"{label} {symbol} ", "RIGHT") + _text_cell(total - cut, ""))


def _text_cell(width: int, body: str, align: str = "LEFT") -> str:
    if width <= 0:
        return ""
    body = f'<FONT POINT-SIZE="10">{body}</FONT>' if body else ""
    return f'<TD WIDTH="{width}" HEIGHT="16" FIXEDSIZE="TRUE" ALIGN="{align}">{body}</TD>'


# -- a type's flow with counts -----------------------------------------------


def state_counts_graph(spec: WorkflowSpec, counts: Mapping[str, int]) -> graphviz.Digraph:
    """``spec``'s flow with how many deliverables sit in each state."""
    graph = build_graph(spec, counts=counts)
    total = sum(counts.values())
    graph.attr(label=f"{spec.title} / {spec.title_en}\\n各状态份数（共 {total} 份）")
    if len(spec.states) > _LONG_FLOW:  # a row of seven is over 20 inches: stack it
        graph.attr(rankdir="TB", ranksep="0.4")
    return graph


# -- committed pictures ------------------------------------------------------


def _plan_graphs(
    plan: LoadedPlan | PlanSpec, titles: Mapping[str, str]
) -> list[tuple[str, graphviz.Digraph]]:
    spec = plan.spec if isinstance(plan, LoadedPlan) else plan
    return [
        (f"{spec.id}-phases", phase_graph(spec, titles)),
        (f"{spec.id}-calendar", calendar_graph(spec, titles)),
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
