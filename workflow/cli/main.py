"""The ``campaign`` command line: parse, call the workflow API, print.

No SQL, no YAML, no rules live here.  The engine is imported inside each
command so that ``campaign --help`` costs little more than importing click.
Every error the engine raises becomes one line on stderr and its exit code
(a refusal naming many missing items lists them below that line), and a
reader closing the pipe early (``campaign list | head -1``) ends it quietly.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from workflow.cli.commands.attachments import COMMANDS as ATTACHMENT_COMMANDS
from workflow.cli.commands.audit import COMMANDS as AUDIT_COMMANDS
from workflow.cli.commands.definitions import COMMANDS as DEFINITION_COMMANDS
from workflow.cli.commands.deliverables import COMMANDS as DELIVERABLE_COMMANDS
from workflow.cli.commands.documents import COMMANDS as DOCUMENT_COMMANDS
from workflow.cli.commands.plan import COMMANDS as PLAN_COMMANDS
from workflow.cli.commands.publicity import COMMANDS as PUBLICITY_COMMANDS
from workflow.cli.commands.rectification import COMMANDS as RECTIFICATION_COMMANDS
from workflow.cli.commands.users import COMMANDS as USER_COMMANDS
from workflow.cli.common import (
    ID,
    Env,
    echo_text,
    emit_json,
    escape_controls,
    from_files,
    json_option,
    pass_env,
    table,
)
from workflow.errors import EXIT_CODES

if TYPE_CHECKING:
    from workflow.errors import CampaignError


def _exit_help() -> str:
    # \b keeps click from rewrapping the table into one paragraph.
    rows = "".join(f"  {row.code:>2} {row.meaning}\n" for row in EXIT_CODES)
    return f"\b\nExit codes:\n{rows}"


#: The epilog of ``campaign --help``: the table in :mod:`workflow.errors`.
EXIT_HELP = _exit_help()


class CampaignGroup(click.Group):
    """Turns engine and usage errors into one line on stderr and a documented exit code."""

    def main(  # type: ignore[override]
        self, args: list[str] | None = None, prog_name: str | None = None,
        standalone_mode: bool = True, **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
            # Flushed here, where a closed pipe can still be handled: at
            # interpreter exit it is "Exception ignored ... BrokenPipeError".
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
        except click.ClickException as error:
            hint = " (see --help)" if isinstance(error, click.UsageError) else ""
            click.echo(f"campaign: {escape_controls(error.format_message())}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("campaign: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        from workflow.errors import CampaignError, mask_credentials

        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # Ended here: reaching click's main, it would be click's EPIPE case, exit 1.
            _reader_gone()
        except CampaignError as error:
            say_error(error)
            sys.exit(error.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:
            if os.environ.get("CAMPAIGN_DEBUG"):
                raise
            first = escape_controls(str(error).splitlines()[0]) if str(error) else ""
            first = mask_credentials(first)  # a driver's text may quote the --db URL
            click.echo(
                f"campaign: internal error: {type(error).__name__}: {first} "
                "(set CAMPAIGN_DEBUG=1 for details)", err=True,
            )
            sys.exit(1)


def say_error(error: CampaignError) -> None:
    """One ``campaign:`` line on stderr.  A refusal that names what is missing
    (a phase gate: dozens of items, kilobytes on one line) keeps that line a
    summary with the count and lists the items below it, one per indented line."""
    items: tuple[str, ...] = getattr(error, "items", ())
    summary: str | None = getattr(error, "summary", None)
    if not items or summary is None:
        click.echo(f"campaign: {escape_controls(str(error))}", err=True)
        return
    click.echo(f"campaign: {escape_controls(summary)}:", err=True)
    for item in items:
        click.echo(f"  - {escape_controls(item)}", err=True)


def _reader_gone() -> NoReturn:
    # Like git: the reader (``| head -1``) has what it wanted, so no message and exit 0.
    _discard_stdout()
    sys.exit(0)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, as the Python docs advise after EPIPE, so
    that nothing (click, the interpreter's final flush) writes to the pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test runner)
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives to exit


@click.group(cls=CampaignGroup, epilog=EXIT_HELP)
@click.option("--db", envvar="CAMPAIGN_DB", metavar="URL",
              help="Database URL (env CAMPAIGN_DB; default sqlite:///campaign.db).")
@click.option("--as", "user", envvar="CAMPAIGN_USER", metavar="USER",
              help="Act as this user (env CAMPAIGN_USER).")
@click.version_option(package_name="campaign")
@click.pass_context
def main(ctx: click.Context, db: str | None, user: str | None) -> None:
    """Run a campaign's paperwork as audited state machines."""
    ctx.obj = Env(db, user)


@main.command()
@click.option("--definitions", "definitions_dir", type=click.Path(path_type=Path),
              help="Directory of definition YAML files (default: the shipped ones).")
@pass_env
def init(env: Env, definitions_dir: Path | None) -> None:
    """Create the schema and load definitions (safe to run again)."""
    changed = env.campaign.deliverables.init(definitions_dir, actor=env.user or "system")
    loaded = ", ".join(changed) if changed else "none changed"
    click.echo(f"initialised; definitions loaded: {escape_controls(loaded)}")


# -- deliverables -----------------------------------------------------------------------


content_file = click.Path(path_type=Path, dir_okay=False)


def _content(path: Path | None) -> Any:
    if path is None:
        return None
    from workflow import read_content

    return read_content(path)


@main.command()
@click.argument("type_id", metavar="TYPE")
@click.option("--title", required=True, help="What the deliverable is called, as reports show it.")
@click.option("--owner", metavar="USER", help="Owner (default: the acting user).")
@click.option("--content", "content_path", type=content_file,
              help="Text, markdown or Word (.docx) file.")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), help="Due date, YYYY-MM-DD.")
@json_option
@pass_env
def new(env: Env, type_id: str, title: str, owner: str | None, content_path: Path | None,
        due: Any, as_json: bool) -> None:
    """Create a deliverable in its initial state."""
    due_date: date | None = due.date() if due else None
    view = env.campaign.deliverables.create(env.actor, type_id, title, owner=owner,
                               content=_content(content_path), due=due_date)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(f"created {view.type} #{view.id} “{escape_controls(view.title)}” "
                   f"in {view.state}")


@main.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--content", "content_path", type=content_file, required=True,
              help="The new revision: a text, markdown or Word (.docx) file.")
@json_option
@pass_env
def revise(env: Env, deliverable_id: int, content_path: Path, as_json: bool) -> None:
    """Add a revision of the content (owner, in an editable state)."""
    view = env.campaign.deliverables.revise(env.actor, deliverable_id, _content(content_path))
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(f"#{deliverable_id} revision {view.number} sha256 {view.sha256}")


@main.command("do")
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.argument("trigger", metavar="TRIGGER")
@click.option("--comment", help="Reason or remark (required for returns and rejections).")
@click.option("--if-version", "expected_version", type=ID,
              help="Refuse with a conflict unless the deliverable is at this version.")
@json_option
@pass_env
def do(env: Env, deliverable_id: int, trigger: str, comment: str | None,
       expected_version: int | None, as_json: bool) -> None:
    """Fire a transition (submit, approve, return, ...)."""
    event = env.campaign.moves.fire(env.actor, deliverable_id, trigger, comment, expected_version)
    if as_json:
        emit_json(event.to_json())
    else:
        click.echo(f"#{deliverable_id} {event.source} --{trigger}--> {event.dest} "
                   f"(event {event.seq})")


# -- diagrams and demo ---------------------------------------------------------------------


@main.command()
@click.argument("type_id", metavar="[TYPE]", required=False)
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "dot"]), default="svg",
              show_default=True, help="svg or png (Graphviz), or dot source.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Output file (default: NAME.FORMAT, or stdout for dot).")
@click.option("--deliverable", "deliverable_id", type=ID,
              help="Highlight this deliverable's current state and the path it took.")
@click.option("--counts", is_flag=True,
              help="With TYPE: how many deliverables sit in each state.")
@click.option("--campaign", "plan_file", is_flag=False, flag_value="-", default=None,
              metavar="[FILE]", help="The campaign's phases and gates (the running one, with "
              "its current phase, or the plan FILE).")
@click.option("--calendar", is_flag=True,
              help="The campaign's calendar: phases and due dates (with --campaign FILE, "
              "that plan's).")
@click.option("--layout", type=click.Choice(["lr", "tb"]), default=None,
              help="Left to right (default) or top to bottom (portrait, for a page).")
@click.option("--labels", type=click.Choice(["short", "full"]), default="short",
              show_default=True,
              help="short: each arrow's name, roles and rules in a legend; full: all on it.")
@click.option("--slide", is_flag=True,
              help="A 16:9 slide whose labels stay legible (top to bottom unless --layout).")
@from_files
@pass_env
def diagram(env: Env, type_id: str | None, fmt: str, out: Path | None,
            deliverable_id: int | None, counts: bool, plan_file: str | None, calendar: bool,
            layout: str | None, labels: str, slide: bool, directory: Path | None) -> None:
    """Draw a flow with Graphviz: a type, a deliverable's path, state counts, or the campaign."""
    from workflow.files import write_atomically
    from workflow.render import reports

    look = reports.Look(layout, labels, slide)
    if plan_file is not None or calendar:
        source = None if plan_file in (None, "-") else Path(plan_file)
        data, name = reports.campaign_diagram(
            env.campaign if source is None else None, source, calendar, fmt)
    elif counts:
        data, name = reports.counts_diagram(env.campaign, type_id, fmt)
    else:
        data, name = reports.diagram_bytes(env.campaign if directory is None else None,
                                           type_id, fmt, deliverable_id, directory, look)
    if out is None and fmt == "dot":
        echo_text(data.decode("utf-8"), nl=False)
        return
    target = out or Path(f"{name}.{fmt}")
    write_atomically(target, data)
    click.echo(f"wrote {target}")


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              default=Path("demo-output"), show_default=True,
              help="Where the fresh database and diagrams go.")
def demo(directory: Path) -> None:
    """Run the main job on a fresh embedded database and show its audit trail."""
    from campaign_demo.walk import run_demo

    run_demo(directory, echo=click.echo, table=table)


for command in (*DELIVERABLE_COMMANDS, *USER_COMMANDS, *DEFINITION_COMMANDS, *AUDIT_COMMANDS,
                *PLAN_COMMANDS, *PUBLICITY_COMMANDS, *RECTIFICATION_COMMANDS,
                *ATTACHMENT_COMMANDS, *DOCUMENT_COMMANDS):
    main.add_command(command)


if __name__ == "__main__":
    main()
