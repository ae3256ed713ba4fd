"""Bad input at the command line (issue 8): one ``campaign: ...`` line on stderr,
a documented exit code (never 1, "internal error", or a traceback), and the
database exactly as it was.

Grouped by the issue's findings: ids beyond 64 bits, files that must not be
read (devices, pipes, directories), non-finite numbers, impossible dates in a
plan (finding 4); an infinite target amount through the Python API (finding
5); control characters and markup in stored text reaching the terminal
(finding 7).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from drive import all_rows
from plan_helpers import STANDARD, STARTER, write_csv

import cli
from workflow import Campaign, from_text
from workflow.cli.common import ID, MAX_ID, escape_controls
from workflow.errors import DefinitionError, InvalidInput, NotFound
from workflow.files import read_bounded
from workflow.spec.loader import load_plan, shipped_plan

REPO = Path(__file__).resolve().parent.parent
PLAN_TEXT = shipped_plan().read_text(encoding="utf-8")
#: Every one of these must be a usage error, not reach the database.
BAD_IDS = ["99999999999999999999", str(2**63), "1" * 5000, "0"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapping of long cells


def invoke(db_url: str, *args: object, user: str | None = "office1") -> Result:
    argv = ["--db", db_url, *(["--as", user] if user else []), *(str(a) for a in args)]
    result = CliRunner().invoke(cli.main, argv)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result


def refused(db_url: str, code: int, *args: object, user: str | None = "office1") -> str:
    """Run a command that must fail with ``code``, one stderr line and no write; the line."""
    before = all_rows(db_url)
    result = invoke(db_url, *args, user=user)
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("campaign: "), lines[0]
    assert "internal error" not in lines[0]
    assert all_rows(db_url) == before
    return lines[0]


def shown(db_url: str, *args: object) -> str:
    result = invoke(db_url, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "files"
    folder.mkdir()
    content = folder / "ok.md"
    content.write_text("# 材料\n\n正文\n", encoding="utf-8")
    plan = folder / "plan.yaml"
    plan.write_text(PLAN_TEXT, encoding="utf-8")
    return {"content": content, "plan": plan,
            "roster": write_csv(folder / "roster.csv", STANDARD), "folder": folder}


# -- finding 4: ids beyond 64 bits ---------------------------------------------------------

#: Every command with an integer argument or option; {} is the bad number.
ID_COMMANDS: list[str] = [
    "show {}", "history {}", "do {} submit", "do 1 submit --if-version {}", "check {}",
    "comment {} --text x", "comment 1 --text x --line {}", "comment 1 --text x --revision {}",
    "talks confirm {}", "revise {} --content {content}", "diff {}", "diff 1 --from {}",
    "diff 1 --to {}", "notice {}", "dossier {} --out {folder}/d.html",
    "attach {} {content}", "attachments {}",
    "rectification set {} --matter m --measures m --responsible leader1 "
    "--deadline 2014-08-31 --effect e",
    "rectification note {} --text x", "rectification verify {} --rating 好",
    "rectification verify 1 --rating 好 --if-version {}", "rectification show {}",
    "diagram self_review --deliverable {}", "object {} --reason x",
]


@pytest.mark.one_backend("refused by the argument parser before a database is opened")
@pytest.mark.parametrize("number", BAD_IDS, ids=["20-digits", "2**63", "5000-digits", "zero"])
@pytest.mark.parametrize("command", ID_COMMANDS)
def test_finding_4_ids_beyond_64_bits_are_usage_errors(
    db_url: str, files: dict[str, Path], command: str, number: str
) -> None:
    argv = command.format(number, content=files["content"], folder=files["folder"]).split()
    line = refused(db_url, 2, *argv)
    assert str(MAX_ID) in line
    assert len(line) < 300  # a 5000-digit number is not echoed whole


def test_finding_4_the_largest_id_is_merely_not_found(db_url: str) -> None:
    assert "not found" in refused(db_url, 6, "show", MAX_ID)
    assert "not found" in refused(db_url, 6, "history", MAX_ID)


@pytest.mark.parametrize("value", ["1", "+7", f" {MAX_ID} ", MAX_ID])
def test_finding_4_the_id_type_takes_whole_numbers_from_1_to_2_63_minus_1(
    value: object
) -> None:
    assert ID.convert(value, None, None) == int(str(value).strip())


# -- finding 4: files that must not be read ---------------------------------------------------

#: Each command naming a user-supplied file; {bad} is the file that must not be read.
FILE_COMMANDS: list[str] = [
    "new self_review --title x --content {bad}",
    "revise 1 --content {bad}",
    "events record study_session --date 2014-03-01 --minutes {bad}",
    "start {bad} --roster {roster}",
    "start {plan} --roster {bad}",
    "definitions lint {bad}",
    "diagram --campaign {bad}",
    "attach 1 {bad}",
]


@pytest.fixture
def fifo(files: dict[str, Path]) -> Iterator[Path]:
    """A named pipe no one writes to: opening it for reading would block.  A
    watchdog writes to it after a while, so that a regression fails instead of
    hanging the suite."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    path = files["folder"] / "pipe.md"
    os.mkfifo(path)
    stop = threading.Event()

    def unblock() -> None:
        if stop.wait(10):
            return
        try:  # succeeds only if someone is blocked reading it
            handle = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return
        os.write(handle, b"# x\n")
        os.close(handle)

    watchdog = threading.Thread(target=unblock, daemon=True)
    watchdog.start()
    yield path
    stop.set()
    watchdog.join()


@pytest.mark.one_backend("the file is refused before any write, whatever the database")
@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_finding_4_a_fifo_as_a_file_is_refused_without_opening_it(
    db_url: str, files: dict[str, Path], fifo: Path, command: str
) -> None:
    argv = command.format(bad=fifo, roster=files["roster"], plan=files["plan"]).split()
    line = refused(db_url, 7, *argv)
    if argv[:2] != ["definitions", "lint"]:  # lint names the file in its findings
        assert str(fifo) in line and "not a regular file" in line


@pytest.mark.one_backend("the file is refused before any write, whatever the database")
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_finding_4_dev_zero_as_content_is_refused_without_reading(
    db_url: str, files: dict[str, Path], command: str
) -> None:
    # A separate process, with a deadline: a regression would read without end.
    argv = command.format(bad="/dev/zero", roster=files["roster"], plan=files["plan"]).split()
    before = all_rows(db_url)
    done = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "--db", db_url, "--as",
         "office1", *argv], capture_output=True, text=True, timeout=60, cwd=files["folder"],
        env={**os.environ, "CAMPAIGN_DEBUG": ""})
    assert done.returncode == 7, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("campaign: "), lines
    assert all_rows(db_url) == before
    found = lines[0] if argv[:2] != ["definitions", "lint"] else done.stdout
    assert "/dev/zero" in found and "not a regular file (a character device)" in found


@pytest.mark.one_backend("the file is refused before any write, whatever the database")
def test_finding_4_a_definitions_directory_with_a_pipe_in_it_is_refused(
    db_url: str, files: dict[str, Path], fifo: Path
) -> None:
    (files["folder"] / "self_review.yaml").symlink_to(fifo)
    refused(db_url, 7, "init", "--definitions", files["folder"])


def test_a_missing_file_is_not_found(files: dict[str, Path]) -> None:
    absent = files["folder"] / "absent.md"
    with pytest.raises(NotFound, match=re.escape(f"plan file {absent}")):
        read_bounded(absent, 4, "plan")


@pytest.mark.parametrize("make", ["directory", "fifo", "too big", "nul"])
def test_finding_4_the_bounded_reader_refuses_without_reading(
    files: dict[str, Path], fifo: Path, make: str
) -> None:
    folder = files["folder"]
    path = {"directory": folder, "fifo": fifo,
            "too big": files["content"], "nul": folder / "a\x00b"}[make]
    problem = {"directory": "is a directory",
               "fifo": "not a regular file (a named pipe)", "too big": "over the 4-byte limit",
               "nul": "not a valid file name"}
    with pytest.raises(InvalidInput, match=re.escape(problem[make])) as error:
        read_bounded(path, 4, "plan")
    assert str(error.value).startswith(f"plan {path}: ")
    assert read_bounded(files["content"], 1000, "plan") == files["content"].read_bytes()


# -- finding 4: NaN and infinity ------------------------------------------------------------


@pytest.mark.one_backend("refused by the argument parser before a database is opened")
@pytest.mark.parametrize("number", ["nan", "inf", "NaN", "Infinity", "1e999"])
@pytest.mark.parametrize("command", [
    "targets record job_fairs {} --note x",
    "events record study_session --date 2014-03-01 --days {}",
])
def test_finding_4_nan_and_inf_are_refused(db_url: str, command: str, number: str) -> None:
    line = refused(db_url, 2, *command.format(number).split())
    assert "is not a finite number" in line


# -- finding 4: an impossible date in a plan --------------------------------------------------


@pytest.mark.parametrize("bad", ["2014-02-30", "2013-02-29", "2014-13-01", "'2014-02-30'"])
def test_finding_4_impossible_plan_date_is_refused(
    db_url: str, files: dict[str, Path], bad: str
) -> None:
    lines = PLAN_TEXT.splitlines(keepends=True)
    phases = next(i for i, text in enumerate(lines, 1) if text.startswith("phases:"))
    number = next(i for i, text in enumerate(lines, 1)
                  if i > phases and text.strip().startswith("start:"))
    lines[number - 1] = re.sub(r"\d{4}-\d\d-\d\d", bad, lines[number - 1])
    files["plan"].write_text("".join(lines), encoding="utf-8")
    line = refused(db_url, 7, "start", files["plan"], "--roster", files["roster"])
    assert f"{files['plan']}:{number}: phases.0.start" in line
    with pytest.raises(DefinitionError) as error:
        load_plan(files["plan"])
    assert (error.value.location.line, error.value.location.field) == (number, "phases.0.start")


@pytest.mark.parametrize("field, value", [("goal", ".inf"), ("goal", ".nan"),
                                          ("min_days", ".inf")])
def test_finding_4_non_finite_numbers_in_a_plan_are_refused(
    files: dict[str, Path], field: str, value: str
) -> None:
    text = re.sub(rf"(\n\s+{field}: )[0-9.]+", rf"\g<1>{value}", PLAN_TEXT, count=1)
    assert text != PLAN_TEXT
    files["plan"].write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError, match=field):
        load_plan(files["plan"])


# -- finding 5: an infinite target amount through the Python API --------------------------------


@pytest.mark.parametrize("amount", [math.nan, math.inf, -math.inf, 1e300])
def test_finding_5_infinite_target_amount_is_refused(c: Campaign, db: str, amount: float) -> None:
    before = all_rows(db)
    with pytest.raises(InvalidInput, match="finite number"):
        c.records.target(STARTER, "job_fairs", amount, "来源")
    assert all_rows(db) == before
    assert all(math.isfinite(t.done) for t in c.plan.targets())


@pytest.mark.parametrize("days", [math.nan, math.inf, 1e300])
def test_finding_5_infinite_event_days_are_refused(c: Campaign, db: str, days: float) -> None:
    before = all_rows(db)
    with pytest.raises(InvalidInput, match="finite number"):
        c.records.event(STARTER, "study_session", date(2014, 3, 1), days=days)
    assert all_rows(db) == before


# -- finding 7: control characters and markup in stored text ------------------------------------

EVIL = "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x9b2J \x7f end"
TITLE = "[bold]x[/bold] :smile: \x1b[2J"


@pytest.fixture
def evil_item(campaign: Campaign) -> int:
    item = campaign.deliverables.create("leader1", "self_review", TITLE,
                           content=from_text(f"# 材料\n\n{EVIL}\n")).id
    campaign.deliverables.revise("leader1", item, from_text(f"# 材料\n\n{EVIL}\n第二稿\n"))
    campaign.documents.add_opinion("principal1", item, EVIL)
    return item


def no_controls(text: str) -> None:
    raw = [f"U+{ord(ch):04X}" for ch in text
           if ch not in "\n" and (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0)]
    assert not raw, raw


def test_finding_7_control_characters_are_escaped_in_history(
    db_url: str, evil_item: int
) -> None:
    out = shown(db_url, "history", evil_item)
    no_controls(out)
    assert escape_controls(EVIL) in out.replace("\n", "")  # folded cells aside
    assert "\\x1b[31mred" in out and "\\x9b2J" in out


@pytest.mark.parametrize("command", [
    "show {}", "list", "inbox", "diff {}", "audit refusals",
])
def test_finding_7_control_characters_are_escaped_in_every_text_output(
    db_url: str, evil_item: int, command: str
) -> None:
    out = shown(db_url, *command.format(evil_item).split())
    no_controls(out)


def test_finding_7_markup_in_a_title_is_printed_literally(db_url: str, evil_item: int) -> None:
    out = shown(db_url, "show", evil_item)
    assert "[bold]x[/bold] :smile: \\x1b[2J" in out
    assert "[bold]x[/bold]" in shown(db_url, "list")


@pytest.mark.parametrize("command", ["history {} --json", "show {} --json", "list --json",
                                     "audit export"])
def test_finding_7_json_escapes_every_control_character_and_keeps_the_text(
    db_url: str, evil_item: int, command: str
) -> None:
    out = shown(db_url, *command.format(evil_item).split())
    no_controls(out)
    lines = out.splitlines() if command == "audit export" else [out]
    stored = set(strings([json.loads(line) for line in lines]))
    assert TITLE in stored
    if command != "list --json":
        assert EVIL in stored
        assert "\\u009b" in out  # C1: json.dumps(ensure_ascii=False) leaves it raw


def strings(data: object) -> Iterator[str]:
    """Every string in parsed JSON (a detail that is itself JSON text included)."""
    if isinstance(data, dict):
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            yield from strings(item)
    elif isinstance(data, str):
        yield data
        if data.startswith("{"):
            yield from strings(json.loads(data))


@pytest.mark.one_backend("refused by the argument parser before a database is opened")
def test_finding_7_errors_quoting_input_are_escaped(db_url: str) -> None:
    line = refused(db_url, 2, "show", "\x1b[31m1")
    no_controls(line)


@pytest.mark.parametrize("text, expected", [
    ("plain 中文", "plain 中文"),
    ("a\x1bb", "a\\x1bb"),
    ("\x00\x07\x7f\x80\x9f", "\\x00\\x07\\x7f\\x80\\x9f"),
    ("line\nnext\ttab", "line\\x0anext\\x09tab"),
])
def test_finding_7_the_escape_shows_every_control_character(text: str, expected: str) -> None:
    assert escape_controls(text) == expected


def test_finding_7_multi_line_text_keeps_its_lines() -> None:
    assert escape_controls("a\r\nb\tc\x1b", keep_lines=True) == "a\nb\tc\\x1b"
