"""The campaign's calendar: a Gantt chart of its dated phases and their due dates.

One Graphviz node holding an HTML table: a row per phase, its bar as wide as
its days (:data:`_DAY` points a day), month lines, and under each bar the
phase's due dates, each on its day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from html import escape
from itertools import pairwise

import graphviz

from workflow.render.diagram_style import CJK_FONT, CONFIGURED_COLOUR
from workflow.render.labels import CONFIGURED_MARK, role_label, source_short
from workflow.render.plan_diagram_style import (
    DEADLINE,
    DUE,
    LEFT,
    MUTED,
    TITLE,
    WORKING,
    marks_key,
    month_day,
    span,
)
from workflow.spec.definition import Provenance
from workflow.spec.plan import PhaseSpec, PlanSpec, RequirementSpec, WindowSpec

_GRID = "#cfd8dc"
#: The campaign's own span (PlanSpec.window), drawn above its phases.
_WINDOW = "#ef9a9a"
_BARS = ("#81c784", "#64b5f6", "#4fc3f7", "#4db6ac", "#ffb74d", "#ba68c8")
#: Points per day on the calendar: the 233 days of 2014 come out under 10 inches.
_DAY = 3
_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
Mark = tuple[date, str, str]  # day, colour, text


def calendar_graph(plan: PlanSpec, titles: Mapping[str, str]) -> graphviz.Digraph:
    """A Gantt chart over the campaign's days: the campaign's own window (which
    may begin before its first dated phase), a bar per dated phase (widths in
    proportion to days), month lines, and under each bar its phase's due dates."""
    phases = [p for top in plan.phases for p in (top, *top.phases) if p.start and p.end]
    dated = [day for phase in phases for day, _, _ in _marks(plan, phase, titles)]
    window = [plan.window.start, plan.window.end] if plan.window else []
    first, last = min([plan.start, *dated, *window]), max([plan.end, *dated, *window])
    days = (last - first).days + 1
    months = {(d - first).days for d in (first + timedelta(n) for n in range(days)) if d.day == 1}
    rows = [_header(first, days)]
    if plan.window:
        rows.append(_window_row(plan.window, first, days, months))
    nested = {child.name for top in plan.phases for child in top.phases}
    bars = iter(_BARS * len(phases))
    for phase in phases:
        assert phase.start and phase.end
        marks = _marks(plan, phase, titles)
        colour = _GRID if phase.phases else next(bars)
        spans = [(phase.start, phase.end, colour)] + [(d, d, c) for d, c, _ in marks]
        rows.append(
            f'<TR><TD ROWSPAN="{len(marks) + 1}" ALIGN="LEFT" VALIGN="TOP" SIDES="T" BORDER="1" '
            f'COLOR="{_GRID}" CELLPADDING="4">{_phase_name(phase, phase.name in nested)}</TD>'
            f"<TD>{_bar(first, days, months, spans)}</TD></TR>"
        )
        rows += [f"<TR><TD>{_milestone(first, days, mark)}</TD></TR>" for mark in marks]
    rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT" CELLPADDING="6">{_legend(plan)}</TD></TR>')
    graph = graphviz.Digraph(
        name=f"{plan.id}-calendar",
        graph_attr={**TITLE, "label": f"{plan.title}\\n活动日程 / Calendar {first} – {last}"},
        node_attr={"fontname": CJK_FONT, "fontsize": "11", "shape": "plain"},
    )
    graph.node("calendar", label=f"<{_TABLE}{''.join(rows)}</TABLE>>")
    return graph


def _phase_name(phase: PhaseSpec, nested: bool) -> str:
    """The row's heading: Chinese name, then English name and dates; a link indented."""
    indent = "　" if nested else ""
    english = f"{escape(phase.label_en)} · {span(phase)}"
    english += "" if phase.dates_from_plan else WORKING
    name = f'{indent}<B>{escape(phase.label)}</B>{LEFT}{indent}<FONT POINT-SIZE="9" '
    return name + f'COLOR="{MUTED}">{english}</FONT>{LEFT}'


def _window_row(window: WindowSpec, first: date, days: int, months: set[int]) -> str:
    """The campaign's window as the top bar, its dates and source beside it."""
    source = CONFIGURED_MARK if not window.from_plan else source_short(window)
    colour = CONFIGURED_COLOUR if not window.from_plan else MUTED
    name = (f"<B>活动起止</B>{LEFT}"
            f'<FONT POINT-SIZE="9" COLOR="{MUTED}">Campaign window · {month_day(window.start)}'
            f" – {month_day(window.end)}</FONT>{LEFT}"
            f'<FONT POINT-SIZE="9" COLOR="{colour}">{escape(source)}</FONT>{LEFT}')
    return (f'<TR><TD ALIGN="LEFT" VALIGN="TOP" CELLPADDING="4">{name}</TD>'
            f"<TD>{_bar(first, days, months, [(window.start, window.end, _WINDOW)])}</TD></TR>")


def _legend(plan: PlanSpec) -> str:
    """The symbols, then what the marks mean: the working calendar's dates
    (always, as before), and the office's own items when there are any."""
    items: list[Provenance] = [*plan.requirements, *plan.events]
    items += [plan.talks] if plan.talks else []
    configured = any(not i.from_plan for i in items) or bool(
        plan.window and not plan.window.from_plan)
    window = f'<FONT COLOR="{_WINDOW}">■</FONT> 活动起止 Campaign window　　' if plan.window else ""
    key = marks_key(working=True, configured=configured)
    return (
        window
        + f'<FONT COLOR="{DUE}">◆</FONT> 材料报送截止 Deliverable due　　'
        f'<FONT COLOR="{DEADLINE}">●</FONT> 活动、谈话截止 Event deadline　　'
        f'<FONT COLOR="{MUTED}">{escape(key)}</FONT>'
    )


def _marks(plan: PlanSpec, phase: PhaseSpec, titles: Mapping[str, str]) -> list[Mark]:
    """The due dates that fall to ``phase``, by day."""
    here = phase.name
    marks = [(r.due, DUE, _requirement_text(r, titles) + _configured(r)) for r in plan.requirements
             if r.phase == here]
    marks += [(e.deadline, DEADLINE, e.label + _configured(e)) for e in plan.events
              if e.phase == here and e.deadline]
    if plan.talks and plan.talks.due and plan.talks.phase == here:
        marks.append((plan.talks.due, DEADLINE, plan.talks.label + _configured(plan.talks)))
    return sorted(marks, key=lambda mark: mark[0])


def _configured(item: Provenance) -> str:
    """The mark a due date the plan does not set carries (the office's own)."""
    return "" if item.from_plan else CONFIGURED_MARK


def _requirement_text(requirement: RequirementSpec, titles: Mapping[str, str]) -> str:
    """A per-person requirement's title names no one: "{name}调研报告" → 调研报告."""
    if requirement.per is None:
        return requirement.title
    title = requirement.title.replace("{name}", "").strip()
    title = title or titles.get(requirement.deliverable, requirement.deliverable)
    return f"{title}（{role_label(requirement.per)}各一份）"


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
    label = f"{month_day(day)} {escape(text)}"
    symbol = f'<FONT COLOR="{colour}">{"◆" if colour == DUE else "●"}</FONT>'
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
