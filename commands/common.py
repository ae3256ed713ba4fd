"""What every command shares: the environment, JSON output and tables."""

from __future__ import annotations

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

            self._campaign = Campaign.open(self.db)
        return self._campaign


pass_env = click.make_pass_decorator(Env)
from_files = click.option(
    "--definitions", "directory", type=click.Path(path_type=Path),
    help="Read definitions from this directory instead of the database.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print only JSON to stdout.")


def emit_json(data: Any) -> None:
    import json  # only JSON output pays for it: start-up time is budgeted

    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(title: str | None, columns: list[str], rows: Iterable[Iterable[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title, show_lines=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*("" if v is None else str(v) for v in row))
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
