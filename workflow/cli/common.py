"""What every command shares: the environment, parameter types, the output
convention of every read (``--format table|json|csv``, ``--json``), tables, and
text made safe for a terminal."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workflow.cli.tables import Column, ident, words

if TYPE_CHECKING:
    from workflow.campaign import Campaign

__all__ = ["Column", "ident", "words"]  # re-exported: commands declare columns from here


class Env:
    """The global options, and the engine opened on first use."""

    def __init__(self, db: str | None, user: str | None, plan_id: str | None = None) -> None:
        self.db = db
        self.user = user
        #: The campaign the plan commands address; None: the only one.
        self.plan_id = plan_id
        self._campaign: Campaign | None = None

    @property
    def campaign(self) -> Campaign:
        if self._campaign is None:
            from workflow import Campaign
            from workflow.store.origin import detect

            # Each audit event records that it came through the CLI, and
            # the login and host that ran it: --as itself is only a claim.
            self._campaign = Campaign.open(self.db, origin=detect("cli"))
        return self._campaign

    @property
    def actor(self) -> str:
        """The acting user, for a command that writes.  Without one it is a usage
        error (exit 2) here; the engine's own refusal (exit 7) is for API callers."""
        if not self.user:
            raise click.UsageError("who is acting? give --as USER or set CAMPAIGN_USER")
        return self.user


pass_env = click.make_pass_decorator(Env)
from_files = click.option(
    "--definitions", "directory", type=click.Path(path_type=Path),
    help="Read definitions from this directory instead of the database.",
)
#: ``--json`` of a command that writes: print the result as JSON instead of a sentence.
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


# -- the output convention of every read ----------------------------------------------

#: What every read prints: a table for people, JSON or CSV for programs.
FORMATS = ("table", "json", "csv")


def format_option(*extra: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format table|json|csv`` (and ``extra`` formats), with ``--json`` short
    for ``--format json``.  The command receives the choice as ``fmt``."""
    choices = [*FORMATS, *extra]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, fmt: str | None, as_json: bool, **kwargs: Any) -> Any:
            if as_json and fmt not in (None, "json"):
                raise click.UsageError(f"--json means --format json; it cannot go with "
                                       f"--format {fmt}")
            return function(*args, fmt="json" if as_json else fmt or "table", **kwargs)

        run = click.option("--json", "as_json", is_flag=True,
                           help="Short for --format json.")(run)
        documents = f"; or {' or '.join(extra)}" if extra else ""
        return click.option("--format", "fmt", type=click.Choice(choices),
                            help="table (the default) for people; json or csv for programs, "
                            f"only data on stdout{documents}.")(run)

    return decorate


def emit(fmt: str, data: Any, show: Callable[[], None], *,
         rows: Iterable[Mapping[str, Any]] | None = None, header: Sequence[str] = ()) -> None:
    """Print one read's result in the format asked for.

    ``data`` is the JSON document (views become their JSON); ``show`` draws the
    table.  CSV has a header row and one row per record of ``rows`` — by
    default the records of ``data`` (a list), or ``data`` itself as one row;
    ``header`` names the columns when there is no row to take them from.
    """
    if fmt == "json":
        emit_json(plain(data))
    elif fmt == "csv":
        if rows is None:
            document = plain(data)
            rows = document if isinstance(document, list) else [document]
        emit_csv(rows, header)
    else:
        show()


def plain(data: Any) -> Any:
    """``data`` with every view (anything with ``to_json``) as its JSON object."""
    if hasattr(data, "to_json"):
        return data.to_json()
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    return data


def emit_csv(rows: Iterable[Mapping[str, Any]], header: Sequence[str] = ()) -> None:
    emit_text(csv_text(rows, header))


def csv_text(rows: Iterable[Mapping[str, Any]], header: Sequence[str] = ()) -> str:
    """RFC 4180 CSV through the csv module, with a header row.  A list of plain
    values is one cell joined by ``;`` (as a roster's roles are); anything else
    nested is compact JSON."""
    import csv
    import io

    records = [{key: _csv_cell(value) for key, value in plain(row).items()} for row in rows]
    names = list(dict.fromkeys(key for record in records for key in record)) or list(header)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n", restval="")
    if names:
        writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def emit_text(data: str) -> None:
    """Data (CSV) to stdout: stored text kept as it is, except when shown on a
    terminal, where controls are escaped (the same rule as ``audit export``)."""
    click.echo(escape_controls(data, keep_lines=True) if sys.stdout.isatty() else data, nl=False)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | tuple) and all(not isinstance(v, dict | list) for v in value):
        return ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict | list | tuple):
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return value


def views_json(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [item.to_json() for item in items]


def fields(model: Any, *extra: str) -> list[str]:
    """The JSON field names of a view class: a CSV header when there is no row."""
    return [*model.model_fields, *extra]


# -- tables -------------------------------------------------------------------------------


def table(title: str | None, columns: Sequence[str | Column],
          rows: Iterable[Iterable[object]]) -> None:
    """A table that fits the terminal (see :mod:`workflow.cli.tables`).  A plain
    string is a free-text column; every cell is escaped and printed as plain text
    (a title like "[bold]x" is not markup, ":smile:" not an emoji)."""
    from workflow.cli.tables import console, print_table

    spec = [c if isinstance(c, Column) else Column(c) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    print_table(console(), None if title is None else escape_controls(title), spec, cells)


def terminal_width() -> int:
    """The width tables are laid out for: ``COLUMNS`` if set, else the terminal's,
    else 80 (rich's rule)."""
    from workflow.cli.tables import console

    return console().width


def _cell(value: object) -> str:
    return "" if value is None else escape_controls(str(value))


def when(at: str | None) -> str:
    """An audit timestamp as people read it: ``2014-06-16 09:04 +08:00``, the
    campaign's zone (``CAMPAIGN_TZ``) with its offset."""
    from workflow.render.local_time import local_time

    return local_time(at)


# -- words ----------------------------------------------------------------------------------


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 deliverable``, ``2 deliverables`` (``nouns`` for an irregular plural)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def joined(items: Iterable[str], last: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``: a list as a sentence says it."""
    names = [str(item) for item in items]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


# -- dates ----------------------------------------------------------------------------------


def today_option(function: Any) -> Any:
    return click.option(
        "--today", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
        help="Judge deadlines against this date instead of the campaign's day "
        "(CAMPAIGN_TZ).",
    )(function)


def as_date(value: datetime | None, env: Env) -> date:
    """``--today``, else the campaign's day: the engine's clock in ``CAMPAIGN_TZ``,
    not the host's (a server in UTC is a day behind Mianyang until 08:00)."""
    return value.date() if value is not None else env.campaign.store.today()

