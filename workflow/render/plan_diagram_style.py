"""What the plan's pictures (phases, calendar) share: their title, their colours,
and how a day or a phase's dates are written on them.

Like the type diagrams, they are drawn from validated specs only (never the
database) and their DOT text is deterministic, so the committed
``diagrams/<plan-id>-phases.dot`` and ``-calendar.dot`` are checked for
staleness the same way.  ``titles`` everywhere maps a deliverable type id to
its Chinese title (a plan names types by id only).
"""

from __future__ import annotations

from datetime import date

from workflow.render.diagram_style import CJK_FONT
from workflow.render.labels import CONFIGURED_MARK
from workflow.spec.plan import PhaseSpec

MUTED = "#607d8b"
DUE = "#c62828"  # deliverables' due dates, and a phase left by force
DEADLINE = "#1565c0"  # events' deadlines and the talks'
#: Marks dates from the office's working calendar, not the plan.
WORKING = " (工作安排)"
#: A left-aligned line break in a Graphviz HTML label.
LEFT = '<BR ALIGN="LEFT"/>'
TITLE = {"labelloc": "t", "fontname": CJK_FONT, "fontsize": "18", "bgcolor": "white"}


def marks_key(*, working: bool, configured: bool) -> str:
    """One line saying what the picture's marks mean (empty if it has none):
    dates from the office's calendar, and items the plan does not prescribe."""
    parts = [f"{WORKING.strip()} 日期为工作安排，非方案所定"] if working else []
    if configured:
        parts.append(f"{CONFIGURED_MARK} 灰色：方案未作规定，本单位自行配置")
    return "　".join(parts)


def month_day(day: date) -> str:
    return f"{day:%m-%d}"


def span(phase: PhaseSpec) -> str:
    """A dated phase's first and last day."""
    assert phase.start and phase.end
    return f"{month_day(phase.start)} – {month_day(phase.end)}"
