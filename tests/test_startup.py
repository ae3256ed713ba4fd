"""Issue 10, start-up: ``campaign --help`` lists every command from a static
table, importing none of them and none of the engine.

The table (:data:`workflow.cli.main.COMMANDS`) copies each command's short
help, so these tests hold every copy to its command: the table cannot drift.
Speed itself is measured by ``make bench``, never asserted here.
"""

from __future__ import annotations

import copy
import pkgutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import workflow.cli.commands
from workflow.cli.main import COMMANDS, LazyCommands, main

#: What ``--help`` of any command must not import: the engine and its libraries.
ENGINE = ("workflow.services", "workflow.store", "workflow.spec", "workflow.machine",
          "workflow.render", "workflow.campaign", "sqlalchemy", "sqlmodel", "pydantic",
          "rich", "transitions", "yaml", "graphviz", "docx", "markdown_it", "jinja2",
          "chinese_calendar")
#: What ``campaign --help`` must not import either: any command, or what they share.
COMMAND_MODULES = ("workflow.cli.commands", "workflow.cli.common", "workflow.cli.tables")
GROUPS = ("users", "definitions", "audit", "phase", "events", "talks", "targets",
          "rectification")


def real_commands() -> dict[str, tuple[str, click.Command]]:
    """Every command of every module under workflow.cli.commands, with its module."""
    found: dict[str, tuple[str, click.Command]] = {}
    for module in pkgutil.iter_modules(workflow.cli.commands.__path__):
        loaded = __import__(f"workflow.cli.commands.{module.name}", fromlist=["COMMANDS"])
        for command in loaded.COMMANDS:
            assert command.name not in found, f"{command.name} defined twice"
            found[command.name] = (module.name, command)
    return found


def test_the_table_names_every_command_and_where_it_lives() -> None:
    assert {name: (module, command.name) for name, (module, command) in real_commands().items()
            } == {name: (listed.module, name) for name, listed in COMMANDS.items()}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_tables_short_help_is_the_commands_own(name: str) -> None:
    command = LazyCommands(COMMANDS)[name]
    assert command.name == name and not command.hidden
    assert COMMANDS[name].short_help == command.get_short_help_str(limit=10_000)


def fresh_main(commands: dict[str, click.Command] | None = None) -> click.Group:
    """``campaign`` with nothing loaded yet, or with ``commands`` given outright."""
    group = copy.copy(main)
    assert isinstance(group, click.Group)
    group.commands = LazyCommands(COMMANDS) if commands is None else commands
    return group


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_help_lists_the_commands_as_click_itself_would(width: int) -> None:
    lazy = fresh_main()
    shown = CliRunner().invoke(lazy, ["--help"], terminal_width=width)
    assert isinstance(lazy.commands, LazyCommands) and lazy.commands.loaded == {}
    eager = fresh_main({name: command for name, (_, command) in real_commands().items()})
    assert shown.exit_code == 0
    assert shown.stdout == CliRunner().invoke(eager, ["--help"], terminal_width=width).stdout


def test_the_commands_load_on_first_look_up() -> None:
    commands = LazyCommands(COMMANDS)
    assert "users" in commands and "nonesuch" not in commands and commands.loaded == {}
    assert sorted(commands) == sorted(COMMANDS) and len(commands) == len(COMMANDS)
    assert isinstance(commands["users"], click.Group)
    assert set(commands.loaded) == {"users"}
    with pytest.raises(KeyError):
        commands["nonesuch"]
    del commands["users"]
    assert "users" not in commands and len(commands) == len(COMMANDS) - 1


def imported_by(*args: str) -> list[str]:
    """The modules ``campaign ARGS`` imports, from a fresh interpreter."""
    script = (
        "import sys\n"
        "from workflow.cli.main import main\n"
        "try:\n"
        f"    main({list(args)!r}, prog_name='campaign')\n"
        "except SystemExit as end:\n"
        "    assert end.code == 0, end.code\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "Usage: campaign" in done.stdout
    return done.stderr.split()


def test_campaign_help_imports_no_command_and_none_of_the_engine() -> None:
    modules = imported_by("--help")
    assert [m for m in modules if m.startswith(ENGINE + COMMAND_MODULES)] == []


@pytest.mark.parametrize("group", GROUPS)
def test_a_groups_help_imports_none_of_the_engine(group: str) -> None:
    modules = imported_by(group, "--help")
    assert [m for m in modules if m.startswith(ENGINE)] == []
