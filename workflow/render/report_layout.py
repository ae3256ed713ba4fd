"""The report laid out, format-neutral: sections of lines and tables, and how
a number, a percent, a day or a person is written in them.  Each format
(:mod:`workflow.render.report_text`, :mod:`workflow.render.report_html`, the
CLI's CSV) draws these the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    #: Per row, a percent the HTML page draws as a bar in the last column.
    bars: Sequence[float] = ()
    #: Per row, a CSS class for the HTML page ("current", "late", "bad", "ok" or "").
    marks: Sequence[str] = ()
    kind: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    title_en: str
    lines: Sequence[str] = ()
    tables: Sequence[Table] = field(default_factory=tuple)


def num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def pct(value: float) -> str:
    return f"{value:.1f}%"


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def person(name: str | None, user_id: str | None) -> str:
    return f"{name}（{user_id}）" if user_id else "—"
