"""The ``campaign`` command line: parse, call the workflow API, print.

No SQL, no YAML, no rules live here.  ``campaign --help`` must cost little
more than importing click, so this module builds no command: :data:`COMMANDS`
says where each one lives and what ``--help`` lists for it, and a command's
module (:mod:`workflow.cli.commands`) is imported only when that command runs
or shows its own help; the engine is imported inside each command.
Every error the engine raises becomes one line on stderr and its exit code
(a refusal naming many missing items lists them below that line), and a
reader closing the pipe early (``campaign list | head -1``) ends it quietly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

import click

from workflow.errors import EXIT_CODES

if TYPE_CHECKING:
    from workflow.errors import CampaignError


class Listed(NamedTuple):
    """Where a command lives and the line ``campaign --help`` shows for it."""

    module: str  #: under ``workflow.cli.commands``; its ``COMMANDS`` holds the command
    short_help: str  #: the command's own short help, untruncated


#: Every command, by name.  The short help is a copy of the command's, so that
#: listing the commands imports none of them; tests/test_startup.py holds each
#: copy to its command.
COMMANDS: dict[str, Listed] = {
    "init": Listed("core", "Create the schema and load definitions (safe to run again)."),
    "new": Listed("core", "Create a deliverable in its initial state."),
    "revise": Listed("core", "Add a revision of the content (owner, in an editable state)."),
    "do": Listed("core", "Fire a transition (submit, approve, return, ...)."),
    "diagram": Listed("core", "Draw a flow with Graphviz: a type, a deliverable's path, state "
                      "counts, or the campaign."),
    "demo": Listed("core", "Run the main job on a fresh embedded database and show its audit "
                   "trail."),
    "show": Listed("deliverables", "One deliverable: state, owner, latest revision and what can "
                   "happen next."),
    "history": Listed("deliverables", "Every audited event of one deliverable, and the review "
                      "opinions given."),
    "list": Listed("deliverables", "Deliverables, filtered by type, state or owner; or the "
                   "overdue ones."),
    "inbox": Listed("deliverables", "What the acting user may act on now."),
    "users": Listed("users", "Manage the people taking part (the campaign office)."),
    "definitions": Listed("definitions", "List, show and lint workflow definitions."),
    "audit": Listed("audit", "Verify, anchor and export the hash-chained audit log."),
    "db": Listed("db", "The database's schema: its revision, and the upgrade to this build's."),
    "start": Listed("plan", "Start a campaign from PLAN (a plan file, or a shipped plan's name "
                    "such as mianyang-2014): load it and the roster, create every required "
                    "deliverable."),
    "phase": Listed("plan", "The campaign's phases and their gates."),
    "events": Listed("plan", "Meetings, study sessions and field research the plan requires."),
    "talks": Listed("plan", "Heart-to-heart talks of the leadership team (谈心谈话)."),
    "targets": Listed("plan", "The plan's targets (十大惠民行动, 四有四增强) and audited "
                      "progress."),
    "report": Listed("plan", "Progress by phase, type, state and unit; overdue items; targets; "
                     "completion."),
    "object": Listed("publicity", "Object during publicity: the deliverable goes back to review "
                     "with your reason."),
    "tick": Listed("publicity", "Close the publicity windows that have ended without objection "
                   "(run daily)."),
    "rectification": Listed("rectification", "Rectification items: the five fields, progress, "
                            "and the assessment of the effect."),
    "attach": Listed("attachments", "Attach a file (docx, pdf, image, ...) to a deliverable "
                     "(owner or office only)."),
    "attachments": Listed("attachments", "List a deliverable's attachments, or write one "
                          "(checked against its sha256) to a file."),
    "diff": Listed("documents", "What changed between two revisions (text: a unified diff; "
                   "other files: size and hash)."),
    "comment": Listed("documents", "Add a review opinion on a revision, or on one line of it "
                      "(audited)."),
    "check": Listed("documents", "Which required sections the latest revision lacks, without "
                    "submitting (exit 4 if any)."),
    "notice": Listed("documents", "The publicity notice (公示) to post; refused (exit 4) if it "
                     "never entered publicity."),
    "dossier": Listed("documents", "Everything about a deliverable in one self-contained HTML "
                      "file."),
    "notify": Listed("notify", "Send e-mail notifications through CAMPAIGN_SMTP_HOST (inbox, "
                     "publicity opened or closed)."),
    "serve": Listed("serve", "Serve the campaign in a browser: sign in, inbox, review, "
                    "dashboard, notices."),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name, as click keeps them, but each module imported
    when one of its commands is first looked up.  Names, membership and the
    listing of ``--help`` (:meth:`listed`) need no import."""

    def __init__(self, table: Mapping[str, Listed]) -> None:
        self.table = dict(table)
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded and name in self.table:
            self._load(self.table[name].module)
        return self.loaded[name]

    def _load(self, module: str) -> None:
        from importlib import import_module

        for command in import_module(f"workflow.cli.commands.{module}").COMMANDS:
            # setdefault: a command added to the group by hand stays in place.
            self.loaded.setdefault(command.name, command)

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.table.pop(name, None)
        self.loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self.table or name in self.loaded

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.table, *self.loaded]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self.table, *self.loaded]))

    def listed(self, name: str) -> click.Command:
        """The command if it is loaded, else a stand-in that carries only its
        short help: click shortens either to the same line."""
        if name in self.loaded:
            return self.loaded[name]
        return click.Command(name, help=self.table[name].short_help)


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
            from workflow.cli.common import escape_controls

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
            from workflow.cli.common import escape_controls

            first = escape_controls(str(error).splitlines()[0]) if str(error) else ""
            first = mask_credentials(first)  # a driver's text may quote the --db URL
            click.echo(
                f"campaign: internal error: {type(error).__name__}: {first} "
                "(set CAMPAIGN_DEBUG=1 for details)", err=True,
            )
            sys.exit(1)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, from the static table: click's own looks every
        command up, which would import every command module."""
        if not isinstance(self.commands, LazyCommands):  # a copy given plain commands
            super().format_commands(ctx, formatter)
            return
        listed = [(name, self.commands.listed(name)) for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in listed if not command.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(limit))
                                for name, command in shown])


def say_error(error: CampaignError) -> None:
    """One ``campaign:`` line on stderr.  A refusal that names what is missing
    (a phase gate: dozens of items, kilobytes on one line) keeps that line a
    summary with the count and lists the items below it, one per indented line."""
    from workflow.cli.common import escape_controls

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


@click.group(cls=CampaignGroup, commands=LazyCommands(COMMANDS), epilog=EXIT_HELP)
@click.option("--db", envvar="CAMPAIGN_DB", metavar="URL",
              help="Database URL (env CAMPAIGN_DB; default sqlite:///campaign.db).")
@click.option("--as", "user", envvar="CAMPAIGN_USER", metavar="USER",
              help="Act as this user (env CAMPAIGN_USER).")
@click.option("--plan", "plan_id", envvar="CAMPAIGN_PLAN", metavar="ID",
              help="Which campaign, when the database runs several (env CAMPAIGN_PLAN).")
@click.version_option(package_name="campaign")
@click.pass_context
def main(ctx: click.Context, db: str | None, user: str | None, plan_id: str | None) -> None:
    """Run a campaign's paperwork as audited state machines."""
    from workflow.cli.common import Env  # here: --help ends before this runs

    ctx.obj = Env(db, user, plan_id)


if __name__ == "__main__":
    main()
