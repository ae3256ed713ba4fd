"""Issue 9, finding 7: the README's walks run as written.

Each ``sh`` block of the README that starts with ``cd examples`` is run line
by line in a copy of ``examples/``, through the ``campaign`` group in this
process (the installed command is the same group: tests/test_packaging.py);
a line's exit code must be the one its comment announces (``→ exit N``),
else 0.  The README and the program cannot drift apart.

The walk runs on a fixed day, :data:`WALK_DAY`, not on the real one: the first
walk's ``approve`` opens a publicity window of five working days from today,
and the installed calendar (chinese-calendar) knows the holidays of a year only
once they are published, so on a real day late in its last known year the
engine refuses to count the window (as documented), and the walk would fail
for a reason that is not the README's.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import LATER, cli_clock

import cli

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
EXPECTED = re.compile(r"#\s*→\s*exit (\d+)")
#: The day the walks run on (:data:`conftest.LATER`): after every 2014 date the
#: README names (a due date already past, events recorded on earlier days, a
#: report as of an earlier day), as on any real day a reader runs them, and in a
#: year the calendar knows.
WALK_DAY = LATER


def walks() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return [block.splitlines() for block in blocks if block.startswith("cd examples")]


def test_the_readme_has_both_walks() -> None:
    assert len(walks()) == 2


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    return tmp_path


@pytest.fixture
def server(backend: str, request: pytest.FixtureRequest) -> str | None:
    """On PostgreSQL, the empty database the walk's ``export CAMPAIGN_DB=`` is pointed at
    (the walk's file name on SQLite)."""
    return None if backend == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize("walk", walks(), ids=["one deliverable", "the campaign"])
def test_finding_7_the_readme_walk_runs_as_written(
        folder: Path, server: str | None, walk: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cli_clock(monkeypatch, WALK_DAY)
    env: dict[str, str | None] = {"CAMPAIGN_DB": None, "CAMPAIGN_USER": None, "COLUMNS": "80"}
    cwd = folder
    for line in walk:
        command = line.split("#", 1)[0].strip() if not line.startswith("#") else ""
        if not command:
            continue
        words = shlex.split(command)
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = server if name == "CAMPAIGN_DB" and server else value
            continue
        assert words[0] == "campaign", line
        monkeypatch.chdir(cwd)
        result = CliRunner().invoke(cli.main, words[1:], env=env, prog_name="campaign")
        expected = EXPECTED.search(line)
        wanted = int(expected.group(1)) if expected else 0
        assert result.exit_code == wanted, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        if wanted:
            assert result.stderr.startswith("campaign: "), result.stderr


def test_finding_7_the_example_roster_is_the_demo_roster() -> None:
    from campaign_demo.roster import roster_csv

    assert (REPO / "examples" / "people.csv").read_text(encoding="utf-8") == roster_csv()


def _run(folder: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, ["--db", f"sqlite:///{folder / 'w.db'}", *args],
                                env={"COLUMNS": "80"})
    return result.exit_code, result.stdout, result.stderr


def test_finding_7_definitions_show_tells_the_headings_and_the_window(folder: Path) -> None:
    code, out, _ = _run(folder, "definitions", "show", "self_review", "--definitions",
                        str(REPO / "definitions"), "--json")
    assert code == 0
    shown = json.loads(out)
    assert {s["label"]: s["headings"] for s in shown["required_sections"]}["思想根源"] == [
        "思想根源"]
    assert shown["publicity"]["working_days"] == 5
    code, out, _ = _run(folder, "definitions", "show", "self_review", "--definitions",
                        str(REPO / "definitions"))
    assert "heading with 改进措施 / 努力方向 / 整改措施" in out and "5 working days" in out


def test_finding_7_check_names_the_headings_it_accepts(folder: Path) -> None:
    examples = folder / "examples"
    assert _run(folder, "init")[0] == 0
    assert _run(folder, "--as", "wangmin", "users", "add", "wangmin", "--name", "王敏",
                "--role", "office", "--role", "leader")[0] == 0
    assert _run(folder, "--as", "wangmin", "new", "self_review", "--title", "材料",
                "--content", str(examples / "self-review-v1.md"))[0] == 0
    code, out, err = _run(folder, "check", "1")
    assert code == 4 and "思想根源" in err
    assert "heading with 思想根源" in out
