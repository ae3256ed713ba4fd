"""``campaign do --bulk``: which ids, the progress bar, and the summary.

The moves themselves are the API's (:meth:`Moves.fire_many`): each id its own
audited move through the one move path.  Here the ids are read (a file, stdin
or ``campaign list``'s filters), a bar is drawn on a terminal, and what was
refused is printed, per the output convention of every read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workflow.cli.common import Env, emit, escape_controls, ident, plural, table

if TYPE_CHECKING:
    from workflow.campaign import Campaign
    from workflow.services.bulk import BulkResult, OnEach, Outcome

#: An id list is small (ten thousand ids are ~70 KB); anything near this is a wrong file.
MAX_ID_LIST_BYTES = 8 * 2**20


def read_ids(source: str) -> tuple[int, ...]:
    """The ids in the file ``source`` (``-``: stdin), refused whole (exit 7) at its
    first bad line."""
    from workflow.errors import InvalidInput
    from workflow.files import read_bounded
    from workflow.services.bulk import parse_ids

    if source == "-":
        data = sys.stdin.buffer.read(MAX_ID_LIST_BYTES + 1)
        if len(data) > MAX_ID_LIST_BYTES:
            raise InvalidInput(f"id list on stdin is over {MAX_ID_LIST_BYTES} bytes")
        name = "id list on stdin"
    else:
        data = read_bounded(Path(source), MAX_ID_LIST_BYTES, "id file")
        name = f"id file {source}"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{name} is not UTF-8 text (byte {error.start}); "
                           "nothing was fired") from None
    return parse_ids(text, name)


def select_ids(campaign: Campaign, type_id: str | None, state: str | None,
               owner: str | None) -> tuple[int, ...]:
    """The ids ``campaign list --type --state --owner`` shows, taken once, before
    any move: a filter naming nothing that exists is not found (exit 6), as there."""
    campaign.reads.check_filters(type_id, state, owner)
    return tuple(d.id for d in campaign.reads.deliverables(type_id=type_id, state=state,
                                                           owner=owner))


class _Bar:
    """A rich progress bar, moved every ``batch`` outcomes and at the last."""

    def __init__(self, progress: Any, total: int, trigger: str, batch: int) -> None:
        self.progress, self.total, self.trigger, self.batch = progress, total, trigger, batch
        self.task = progress.add_task(trigger, total=total)
        self.done = self.refused = 0

    def __call__(self, outcome: Outcome) -> None:
        self.done += 1
        self.refused += not outcome.moved
        if self.done % self.batch == 0 or self.done == self.total:
            self.progress.update(self.task, completed=self.done,
                                 description=f"{self.trigger} ({self.refused} refused)")


def terminal() -> bool:
    """Whether stderr is a terminal: the bar is for people watching, never for a log."""
    return sys.stderr.isatty()


@contextmanager
def progress(total: int, trigger: str, batch: int) -> Iterator[OnEach | None]:
    """A progress bar on stderr while the moves run, only when it is a terminal."""
    if not terminal() or total == 0:
        yield None
        return
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress

    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True, force_terminal=True),
                  transient=True) as bar:
        yield _Bar(bar, total, trigger, batch)


def run(ctx: click.Context, env: Env, target: str | None, trigger: str | None,
        comment: str | None, filters: tuple[str | None, ...], batch: int, fmt: str) -> None:
    """``campaign do --bulk``: the ids from FILE or the filters, one move each."""
    filtered = any(value is not None for value in filters)
    if trigger is None and target is not None and filtered:
        target, trigger = None, target  # the one argument given is the trigger
    if trigger is None:
        raise click.UsageError("--bulk needs the ids: a FILE of them before TRIGGER "
                               "(- for stdin), or --type, --state or --owner")
    if target is not None and filtered:
        raise click.UsageError("--bulk takes its ids from a FILE or from --type, --state "
                               "and --owner, not both")
    actor = env.actor
    type_id, state, owner = filters
    ids = (read_ids(target) if target is not None
           else select_ids(env.campaign, type_id, state, owner))
    with progress(len(ids), trigger, batch) as on_each:
        result = env.campaign.moves.fire_many(actor, ids, trigger, comment, batch=batch,
                                              on_each=on_each)
    emit_summary(result, fmt)
    if result.exit_code:
        click.echo(failure_line(result), err=True)
        ctx.exit(result.exit_code)


# -- the summary ------------------------------------------------------------------------

NOT_ATTEMPTED = "not attempted"


def records(result: BulkResult) -> list[dict[str, Any]]:
    """One record per id, in the order fired: JSON's objects, CSV's rows."""
    rows = [_record(o) for o in result.outcomes]
    rows += [{"id": i, "outcome": NOT_ATTEMPTED, "seq": None, "source": None, "dest": None,
              "exit_code": None, "error": None} for i in result.skipped]
    return rows


def _record(outcome: Outcome) -> dict[str, Any]:
    event, error = outcome.event, outcome.error
    return {"id": outcome.deliverable_id, "outcome": "moved" if event else "refused",
            "seq": event.seq if event else None, "source": event.source if event else None,
            "dest": event.dest if event else None,
            "exit_code": error.exit_code if error else 0,
            "error": str(error) if error else None}


def emit_summary(result: BulkResult, fmt: str) -> None:
    """The outcome of every id (JSON, CSV), or for people a line of counts and
    a table of the refused ids and why."""
    rows = records(result)

    def show() -> None:
        click.echo(counts(result))
        failed = [r for r in rows if r["outcome"] != "moved"]
        if failed:
            table("Refused", [ident("id"), ident("exit"), "why"], (
                (r["id"], r["exit_code"] or "", r["error"] or NOT_ATTEMPTED) for r in failed))

    emit(fmt, rows, show, rows=rows, header=list(_record_fields()))


def _record_fields() -> tuple[str, ...]:
    return ("id", "outcome", "seq", "source", "dest", "exit_code", "error")


def counts(result: BulkResult) -> str:
    """``approve: 8 of 10 moved, 2 refused``."""
    total = len(result.outcomes) + len(result.skipped)
    text = (f"{result.trigger}: {len(result.moved)} of {plural(total, 'deliverable')} moved, "
            f"{len(result.refused)} refused")
    return text + (f", {len(result.skipped)} {NOT_ATTEMPTED}" if result.skipped else "")


def failure_line(result: BulkResult) -> str:
    """The one stderr line of a run with refusals: how many, and the exit code's reason."""
    if result.stopped is not None:
        return f"campaign: {escape_controls(str(result.stopped))} — stopped; {counts(result)}"
    kinds = {o.error.exit_code for o in result.refused if o.error is not None}
    why = "refusals of different kinds" if len(kinds) > 1 else "every refusal's code"
    return (f"campaign: {len(result.refused)} of {plural(len(result.outcomes), 'move')} "
            f"refused (exit {result.exit_code}: {why})")
