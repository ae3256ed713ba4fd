"""The report as text: a terminal table (rich), JSON, or Markdown."""

from __future__ import annotations

import json
import re
from io import StringIO

from rich import box
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table as RichTable
from rich.text import Text

from workflow.render.report_model import Report
from workflow.render.report_phase_sections import window_line
from workflow.render.report_sections import sections

# An id, a user id or a date is typed back or read as one: never split it.
_TOKEN = re.compile(r"[A-Za-z0-9_.:#-]+")
# A name's id in brackets — a type id, or a user id — has a letter.  Digits
# alone in brackets are a paragraph's item number (四（二）1（1）) or a number
# in a title, which lose their brackets if moved below; an all-digit user id
# stays beside its name instead (intact, only not on a line of its own).
_LABELLED_ID = re.compile(r"（([A-Za-z0-9_.-]*[A-Za-z][A-Za-z0-9_.-]*)）")


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def render_table(report: Report, width: int = 120) -> str:
    """The report as text ``width`` cells wide (the CLI passes the terminal's)."""
    out = StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False, emoji=False)
    console.rule(Text(f"{report.plan.title}  进展情况报告"), characters="=")
    console.print(report.plan.title_en, markup=False)
    window = window_line(report)
    if window:
        console.print(window, markup=False)
    for section in sections(report):
        console.print()
        console.rule(f"{section.title}  {section.title_en}", align="left")
        for line in section.lines:
            console.print(line, markup=False)
        for table in section.tables:
            grid = RichTable(box=box.SIMPLE_HEAD, show_edge=False)
            rows = [[_id_below(cell) for cell in row] for row in table.rows]
            for index, header in enumerate(table.headers):
                grid.add_column(header, overflow="fold",
                                min_width=_longest_token([row[index] for row in rows]))
            for row in rows:
                grid.add_row(*(escape_markup(cell) for cell in row))
            console.print(grid)
    return out.getvalue()


def _id_below(cell: str) -> str:
    """``对照检查材料（self_review）`` as two lines, so the id keeps a line of its own."""
    return _LABELLED_ID.sub(lambda m: f"\n{m.group(1)}", cell)


def _longest_token(cells: list[str]) -> int:
    return min(24, max((len(t) for c in cells for t in _TOKEN.findall(c)), default=1))


def render_markdown(report: Report) -> str:
    out = [f"# {md(report.plan.title)} 进展情况报告", "", f"*{md(report.plan.title_en)}*", ""]
    window = window_line(report)
    if window:
        out += [md(window), ""]
    for section in sections(report):
        out += [f"## {section.title} {section.title_en}", ""]
        out += [f"- {md(line)}" for line in section.lines]
        if section.lines:
            out.append("")
        for table in section.tables:
            out.append("| " + " | ".join(md(h) for h in table.headers) + " |")
            out.append("|" + "---|" * len(table.headers))
            out += ["| " + " | ".join(md(c) for c in row) + " |" for row in table.rows]
            out.append("")
    if report.plan.source:
        out.append(f"依据：{md(report.plan.source)}")
    return "\n".join(out).rstrip() + "\n"


def md(text: str) -> str:
    """One Markdown table cell or line: no breaks, pipes and markup escaped."""
    text = " ".join(text.split())
    for char in "\\|*_`[]<>":
        text = text.replace(char, "\\" + char)
    return text
