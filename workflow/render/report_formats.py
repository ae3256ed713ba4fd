"""The report's formats by name, as the CLI's ``--format`` spells them."""

from __future__ import annotations

from collections.abc import Callable

from workflow.errors import InvalidInput
from workflow.render.report_html import render_html
from workflow.render.report_model import Report
from workflow.render.report_text import render_json, render_markdown, render_table

FORMATS: tuple[str, ...] = ("table", "json", "markdown", "html")

_RENDERERS: dict[str, Callable[[Report], str]] = {
    "table": render_table, "json": render_json, "markdown": render_markdown,
    "html": render_html,
}


def render(report: Report, fmt: str) -> str:
    """The report as ``table``, ``json``, ``markdown`` or ``html`` text."""
    if fmt not in _RENDERERS:
        raise InvalidInput(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")
    return _RENDERERS[fmt](report)
