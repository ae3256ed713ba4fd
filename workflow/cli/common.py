"""What every command shares: the environment, parameter types, JSON output,
tables, and text made safe for a terminal."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from workflow.engine import Campaign
    from workflow.models import View


class Env:
    """The global options, and the engine opened on first use."""

    def __init__(self, db: str | None, user: str | None) -> None:
        self.db = db
        self.user = user
        self._campaign: Campaign | None = None

    @property
    def campaign(self) -> Campaign:
        if self._campaign is None:
            from workflow import Campaign
            from workflow.origin import detect

            # Each audit event records that it came through the CLI, and
            # the login and host that ran it: --as itself is only a claim.
            self._campaign = Campaign.open(self.db, origin=detect("cli"))
        return self._campaign


pass_env = click.make_pass_decorator(Env)
from_files = click.option(
    "--definitions", "directory", type=click.Path(path_type=Path),
    help="Read definitions from this directory instead of the database.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print only JSON to stdout.")


# -- parameter types ------------------------------------------------------------------

#: The largest id the database can hold (a signed 64-bit integer).
MAX_ID = 2**63 - 1

# click 8.2 made ParamType generic; 8.1 (still allowed) cannot subscript it.
if TYPE_CHECKING:
    _IntParam = click.ParamType[int, Any]
    _FloatParam = click.ParamType[float, Any]
else:
    _IntParam = _FloatParam = click.ParamType


class _Id(_IntParam):
    """A whole number from 1 to :data:`MAX_ID`: ids, versions, revision and line numbers.

    A bigger one would reach the database and fail there as an internal
    error; here it is a usage error (exit 2).
    """

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        text = str(value).strip()
        digits = text.removeprefix("+")
        # Checked as text first: int() refuses strings of thousands of digits.
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 30
                and 1 <= int(digits) <= MAX_ID):
            shown = text if len(text) <= 30 else f"{text[:27]}..."
            self.fail(f"{escape_controls(shown)!r} is not a whole number from 1 to {MAX_ID}",
                      param, ctx)
        return int(digits)


class _Finite(_FloatParam):
    """A finite decimal number: NaN and infinity are usage errors (JSON cannot carry them)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        number: float = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{escape_controls(str(value))[:30]!r} is not a finite number", param, ctx)
        return number


ID = _Id()
FINITE = _Finite()


# -- terminal-safe text -----------------------------------------------------------------

#: C0 controls, DEL and C1 controls (U+0080-U+009F, CSI among them): any of
#: them reaching a terminal can recolour, retitle or rewrite what it shows.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0)]
_ESCAPES = {code: f"\\x{code:02x}" for code in _CONTROLS}
_ESCAPES_KEEP_LINES = {code: e for code, e in _ESCAPES.items() if chr(code) not in "\n\t"}
#: What json.dumps leaves raw with ensure_ascii=False (it escapes only < 0x20).
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def escape_controls(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with every control character shown as a visible ``\\x1b``-style escape.

    ``keep_lines`` keeps newlines and tabs, for multi-line text printed as it
    is (a diff, a notice); everything else, table cells included, escapes them.
    """
    if keep_lines:  # a Windows line end is a line end, not a control to show
        return text.replace("\r\n", "\n").translate(_ESCAPES_KEEP_LINES)
    return text.translate(_ESCAPES)


def echo_text(text: str, *, nl: bool = True) -> None:
    """Print stored, multi-line text (a diff, a notice, a report) safely."""
    click.echo(escape_controls(text, keep_lines=True), nl=nl)


def json_safe(text: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL and the C1
    controls escaped too (json escapes only those below U+0020).  Outside its
    strings such text is ASCII, so these can only occur inside strings."""
    return text.translate(_JSON_ESCAPES)


def emit_json(data: Any) -> None:
    import json  # only JSON output pays for it: start-up time is budgeted

    click.echo(json_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str)))


def table(title: str | None, columns: list[str], rows: Iterable[Iterable[object]]) -> None:
    """A rich table; every cell is escaped, and printed as plain text (a title like
    "[bold]x" is not markup, ":smile:" not an emoji)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=None if title is None else Text(escape_controls(title)),
                 show_lines=False)
    for column in columns:
        grid.add_column(Text(column), overflow="fold")
    for row in rows:
        grid.add_row(*(Text("" if v is None else escape_controls(str(v))) for v in row))
    Console().print(grid)


def views_json(items: Iterable[View]) -> list[dict[str, Any]]:
    return [item.to_json() for item in items]


def today_option(function: Any) -> Any:
    return click.option(
        "--today", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
        help="Judge deadlines against this date instead of the clock.",
    )(function)


def as_date(value: datetime | None) -> date:
    return value.date() if value is not None else date.today()
