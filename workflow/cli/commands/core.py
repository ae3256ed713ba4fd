"""The core commands: init, new, revise, do, diagram and demo.

They sit apart from :mod:`workflow.cli.main`, like every other command, so
that ``campaign --help`` lists them without building them.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from workflow.cli.common import (
    ID,
    Env,
    echo_text,
    emit_csv,
    emit_json,
    escape_controls,
    format_option,
    from_files,
    json_option,
    pass_env,
    table,
)


@click.command()
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


@click.command()
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


@click.command()
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


@click.command("do")
@click.argument("target", metavar="ID", required=False)
@click.argument("trigger", metavar="TRIGGER", required=False)
@click.option("--comment", help="Reason or remark (required for returns and rejections); "
              "with --bulk, given with every move.")
@click.option("--if-version", "expected_version", type=ID,
              help="Refuse with a conflict unless the deliverable is at this version "
              "(not with --bulk).")
@click.option("--bulk", is_flag=True, help="Fire TRIGGER on many deliverables, each its own "
              "audited move: ID is then a FILE of ids (one a line, - for stdin), or give "
              "--type, --state or --owner instead.")
@click.option("--type", "type_id", metavar="TYPE",
              help="With --bulk: the deliverables of this type (as campaign list).")
@click.option("--state", metavar="STATE",
              help="With --bulk: the deliverables in this state (as campaign list).")
@click.option("--owner", metavar="USER",
              help="With --bulk: this user's deliverables (as campaign list).")
@click.option("--batch", type=ID, metavar="N",
              help="With --bulk: moves per transaction (default 100), one commit each; a "
              "refused move is undone alone, and the bar moves once a batch commits.")
@format_option()
@pass_env
@click.pass_context
def do(ctx: click.Context, env: Env, target: str | None, trigger: str | None,
       comment: str | None, expected_version: int | None, bulk: bool, type_id: str | None,
       state: str | None, owner: str | None, batch: int | None, fmt: str) -> None:
    """Fire a transition (submit, approve, return, ...).

    \b
      campaign do ID TRIGGER
      campaign do --bulk FILE TRIGGER      ids one a line; - reads stdin
      campaign do --bulk --type T [--state S] [--owner U] TRIGGER

    With --bulk, the ids are taken once, then each deliverable gets its own
    move through the one move path: its own checks, transaction and audit
    event, so a refusal never undoes another's move. In FILE, blank lines and
    # comments are ignored; a bad or repeated id is refused (exit 7) before
    anything is fired. The summary names each refused id and why (--format
    json|csv: every id). Exit 0 when every move went through; else the code
    all the refusals share (3 permission, 4 not allowed now, 6 not found, ...),
    or 4 when they differ.
    """
    filters = {"--type": type_id, "--state": state, "--owner": owner, "--batch": batch}
    if not bulk:
        given = [name for name, value in filters.items() if value is not None]
        if given:
            raise click.UsageError(f"{given[0]} goes with --bulk")
        _do_one(ctx, env, target, trigger, comment, expected_version, fmt)
        return
    if expected_version is not None:
        raise click.UsageError("--if-version cannot go with --bulk: each move is checked "
                               "against the version it finds")
    from workflow.cli import bulk as bulk_moves

    bulk_moves.run(ctx, env, target, trigger, comment, (type_id, state, owner), batch or 100,
                   fmt)


def _argument(ctx: click.Context, name: str) -> click.Parameter:
    return next(p for p in ctx.command.params if p.name == name)


def _do_one(ctx: click.Context, env: Env, target: str | None, trigger: str | None,
            comment: str | None, expected_version: int | None, fmt: str) -> None:
    """``campaign do ID TRIGGER``: one move, printed as a sentence, JSON or CSV."""
    for name, value in (("target", target), ("trigger", trigger)):
        if value is None:
            raise click.MissingParameter(ctx=ctx, param=_argument(ctx, name))
    assert target is not None and trigger is not None
    deliverable_id = ID.convert(target, _argument(ctx, "target"), ctx)
    event = env.campaign.moves.fire(env.actor, deliverable_id, trigger, comment, expected_version)
    if fmt == "table":
        click.echo(f"#{deliverable_id} {event.source} --{trigger}--> {event.dest} "
                   f"(event {event.seq})")
    elif fmt == "json":
        emit_json(event.to_json())
    else:
        emit_csv([event.to_json()])


# -- diagrams and demo ---------------------------------------------------------------------


@click.command()
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
    from workflow.render import campaign_diagrams, flow_diagrams

    look = flow_diagrams.Look(layout, labels, slide)
    if plan_file is not None or calendar:
        source = None if plan_file in (None, "-") else Path(plan_file)
        data, name = campaign_diagrams.campaign_diagram(
            env.campaign if source is None else None, source, calendar, fmt, env.plan_id)
    elif counts:
        data, name = flow_diagrams.counts_diagram(env.campaign, type_id, fmt)
    else:
        data, name = flow_diagrams.diagram_bytes(env.campaign if directory is None else None,
                                                 type_id, fmt, deliverable_id, directory, look)
    if out is None and fmt == "dot":
        echo_text(data.decode("utf-8"), nl=False)
        return
    target = out or Path(f"{name}.{fmt}")
    write_atomically(target, data)
    click.echo(f"wrote {target}")


@click.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              default=Path("demo-output"), show_default=True,
              help="Where the fresh database and diagrams go.")
def demo(directory: Path) -> None:
    """Run the main job on a fresh embedded database and show its audit trail."""
    from campaign_demo.walk import run_demo

    # How this process was started, so the command it prints can be pasted.
    program = sys.argv[0] if Path(sys.argv[0]).name == "campaign" else "campaign"
    run_demo(directory, echo=click.echo, table=table, program=program)


COMMANDS = (init, new, revise, do, diagram, demo)
