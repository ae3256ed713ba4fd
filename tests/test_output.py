"""Issue 9 findings 9–12: one output convention on every read, times in the
campaign's zone, tables that fit 80 columns without breaking ids, long refusals
as a list, and the README, usage and messages saying what the program does.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner, Result
from plan_helpers import STARTER
from rich.cells import cell_len
from rich.console import Console

import cli
from workflow import Campaign
from workflow.cli.common import joined, plural
from workflow.cli.tables import Column, ident, plan_widths, print_table, words
from workflow.render.local_time import local_time

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: Ids the finding saw broken at 80 columns, and others as long.
LONG_IDS = ("supervisor_approval", "implementation_plan", "rectification_item")
LONG_TITLE = "市总工会党的群众路线教育实践活动实施意见和工作方案（征求意见稿）第二次修改"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG", "CAMPAIGN_TZ"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")


@pytest.fixture
def item(c: Campaign) -> int:
    """A leader's self-review with a long Chinese title, in supervisor_approval,
    with content, a return reason and a comment."""
    view = c.deliverables.create("leader1", "self_review", LONG_TITLE, due=date(2014, 3, 1))
    c.deliverables.revise("leader1", view.id, _complete(c, view.id))
    c.moves.fire("leader1", view.id, "submit")
    c.moves.fire("prin", view.id, "return", "主观原因和思想根源剖析不深，请结合分管工作再作修改")
    c.deliverables.revise("leader1", view.id, _complete(c, view.id, "第二稿"))
    c.moves.fire("leader1", view.id, "submit")
    c.moves.fire("prin", view.id, "forward")
    return view.id


def _complete(c: Campaign, deliverable_id: int, body: str = "初稿") -> object:
    from drive import complete_content

    return complete_content(c.registry.definition_for(c.reads.get(deliverable_id)), body=body)


def run(db: str, *args: object, user: str | None = None,
        env: dict[str, str] | None = None) -> Result:
    argv = ["--db", db, *(["--as", user] if user else []), *map(str, args)]
    result = CliRunner().invoke(cli.main, argv, env=env)
    assert "Traceback" not in result.output, result.output
    return result


def ok(db: str, *args: object, user: str | None = None,
       env: dict[str, str] | None = None) -> str:
    result = run(db, *args, user=user, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def widest(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


# -- finding 9: --format table|json|csv, --json, broken pipes ---------------------------

READS = [
    ("show", "{item}"), ("history", "{item}"), ("list",), ("list", "--overdue"),
    ("inbox",), ("definitions", "list"), ("definitions", "show", "self_review"),
    ("definitions", "lint"), ("users", "list"), ("audit", "verify"), ("audit", "digest"),
    ("audit", "refusals"), ("phase", "status"), ("events", "list"), ("talks", "list"),
    ("targets", "list"), ("report",), ("diff", "{item}"), ("attachments", "{item}"),
]


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_finding_9_every_read_command_takes_format_json_and_csv(
    db: str, item: int, command: tuple[str, ...]
) -> None:
    args = [part.format(item=item) for part in command]
    as_json = ok(db, *args, "--format", "json", user="leader1")
    assert ok(db, *args, "--json", user="leader1") == as_json  # --json is its short form
    json.loads(as_json)
    table = ok(db, *args, user="leader1")
    assert table.strip() and not table.lstrip().startswith(("{", "["))
    rows = list(csv.reader(io.StringIO(ok(db, *args, "--format", "csv", user="leader1"))))
    assert rows and rows[0] and all(rows[0]), f"no header row: {rows[:1]}"
    assert all(len(row) == len(rows[0]) for row in rows)
    clash = run(db, *args, "--json", "--format", "csv", user="leader1")
    assert clash.exit_code == 2 and "--json" in clash.stderr


def test_finding_9_csv_rows_are_the_json_records(db: str, item: int) -> None:
    records = json.loads(ok(db, "list", "--json"))
    rows = list(csv.DictReader(io.StringIO(ok(db, "list", "--format", "csv"))))
    assert [int(r["id"]) for r in rows] == [r["id"] for r in records]
    mine = next(r for r in rows if int(r["id"]) == item)
    assert (mine["title"], mine["state"], mine["revision"]) == (
        LONG_TITLE, "supervisor_approval", "2")
    history = list(csv.DictReader(io.StringIO(ok(db, "history", item, "--format", "csv"))))
    assert [r["trigger"] for r in history][-1] == "forward"


def test_finding_9_rectification_show_and_check_take_the_formats(c: Campaign, db: str,
                                                                 item: int) -> None:
    fix = c.deliverables.create(STARTER, "rectification_item", "整改事项").id
    c.rectification.set(STARTER, fix, matter="文山会海", measures="精简会议",
                        responsible="leader1", deadline=date(2014, 9, 1), effect="会议减少")
    assert json.loads(ok(db, "rectification", "show", fix, "--json"))["responsible"] == "leader1"
    (row,) = csv.DictReader(io.StringIO(ok(db, "rectification", "show", fix, "--format", "csv")))
    assert row["matter"] == "文山会海"
    checked = json.loads(ok(db, "check", item, "--json"))
    assert checked["complete"] is True
    assert ok(db, "check", item, "--format", "csv").splitlines() == ["name,label,accepted"]


def test_finding_9_report_takes_csv_besides_markdown_and_html(db: str) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(db, "report", "--format", "csv"))))
    assert rows and set(rows[0]) == {"section", "table", "row", "column", "value"}
    assert json.loads(ok(db, "report", "--json")) == json.loads(ok(db, "report", "--format",
                                                                   "json"))
    assert ok(db, "report", "--format", "markdown").startswith("# ")


def _closed_early(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with a stdout whose reader has already gone (``| head -0``)."""
    env = {**os.environ, "CAMPAIGN_DB": db, "PYTHONUNBUFFERED": "0"}
    with subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *args], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        proc.stdout.close()  # before the interpreter has even started: every write is EPIPE
        _, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)


@pytest.mark.parametrize("args", [("audit", "export", "--format", "jsonl"), ("list",),
                                  ("history", "1", "--format", "csv")], ids=" ".join)
def test_finding_9_a_closed_pipe_ends_quietly(db: str, args: tuple[str, ...]) -> None:
    done = _closed_early(db, *args)
    assert done.stderr == ""  # no "internal error", no "Exception ignored ... BrokenPipeError"
    assert done.returncode == 0


def test_finding_9_head_reads_the_first_line_and_the_rest_ends_quietly(db: str) -> None:
    script = f"{sys.executable} {ROOT / 'cli.py'} audit export --format jsonl | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "CAMPAIGN_DB": db})
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["seq"] == 1


# -- finding 10: the campaign's day and zone --------------------------------------------------


def test_finding_10_history_shows_times_in_the_campaign_zone(c: Campaign, db: str,
                                                             item: int) -> None:
    events = c.reads.history(item)
    shown = ok(db, "history", item)
    assert re.search(r"\+08:00", shown) and "Z" not in re.sub(r"[^\dTZ:.-]", " ", shown)
    for event in events:
        assert local_time(event.at).split()[0] in shown
    assert local_time("2014-06-16T01:04:33.000000Z") == "2014-06-16 09:04 +08:00"
    utc = ok(db, "history", item, env={"CAMPAIGN_TZ": "UTC"})
    assert "+00:00" in utc and "+08:00" not in utc
    # The JSON keeps the stored UTC timestamp: the contract does not change.
    assert json.loads(ok(db, "history", item, "--json"))[0]["at"] == events[0].at


def test_finding_10_the_dossier_shows_seconds_and_the_zone_not_microseconds(
    c: Campaign, db: str, item: int, tmp_path: Path
) -> None:
    out = tmp_path / "dossier.html"
    ok(db, "dossier", item, "--out", out)
    html = out.read_text(encoding="utf-8")
    assert local_time(c.reads.history(item)[-1].at, seconds=True) in html
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}Z", html)


def test_finding_10_today_follows_campaign_tz(c: Campaign, db: str) -> None:
    """26 hours apart: east of the date line the day is always later than west of it,
    whatever the host's clock says."""
    east, west = "Etc/GMT-14", "Etc/GMT+12"
    west_day = datetime.now(ZoneInfo(west)).date()
    view = c.deliverables.create("leader1", "self_review", "边界日期", due=west_day)

    def overdue(zone: str) -> list[int]:
        found = json.loads(ok(db, "list", "--overdue", "--json", env={"CAMPAIGN_TZ": zone}))
        return [i["id"] for i in found]

    assert view.id in overdue(east)
    assert view.id not in overdue(west)
    status = json.loads(ok(db, "phase", "status", "--json", env={"CAMPAIGN_TZ": east}))
    assert status["today"] == str(datetime.now(ZoneInfo(east)).date())


# -- finding 11: 80 columns, ids whole, refusals as a list ----------------------------------

TABLES = [("list",), ("show", "{item}"), ("history", "{item}"), ("inbox",),
          ("list", "--overdue", "--today", "2014-09-30"), ("definitions", "list"),
          ("definitions", "show", "rectification_item"), ("users", "list"), ("events", "list"),
          ("talks", "list"), ("targets", "list"), ("audit", "refusals"),
          ("report", "--today", "2014-09-30")]


@pytest.mark.parametrize("command", TABLES, ids=" ".join)
def test_finding_11_tables_fit_80_columns_without_breaking_ids(
    c: Campaign, db: str, item: int, command: tuple[str, ...]
) -> None:
    c.deliverables.create(STARTER, "implementation_plan", LONG_TITLE)
    c.records.target(STARTER, "employment_training", 12, "招聘会")
    args = [part.format(item=item) for part in command]
    shown = ok(db, *args, user="prin")
    assert widest(shown) <= 80, shown
    if args[0] == "report":
        return  # its text mixes ids into Chinese labels: width only (report_render's layout)
    seen = set(shown.split())
    for name in (*LONG_IDS, "employment_training", "mutual_medical_insurance",
                 "organisational_life_meeting", "content_complete", "requires_comment"):
        assert not broken(name, seen), f"{name} broken in:\n{shown}"


def broken(name: str, seen: set[str]) -> bool:
    """Whether ``name`` shows up split: a piece of it ending one line and the
    rest starting the next (``supervi`` / ``sor_approval``)."""
    return any(name[:cut] in seen and any(w != name and len(w) > 1 and name[cut:].startswith(w)
                                          for w in seen)
               for cut in range(2, len(name) - 1))


def test_finding_11_cjk_is_counted_two_cells_and_a_narrow_terminal_gets_records() -> None:
    columns = [ident("id"), ident("type"), Column("title"), words("move")]
    rows = [["12", "implementation_plan", LONG_TITLE, "review → supervisor_approval"]]
    widths = plan_widths(columns, rows, 80)
    assert widths is not None and widths[:2] == [2, 19] and widths[3] >= 19
    assert sum(widths) + 2 * 3 <= 80
    console = Console(width=80, record=True, color_system=None)
    print_table(console, "Deliverables", columns, rows)
    text = console.export_text()
    assert widest(text) <= 80 and "supervisor_approval" in text
    assert "工作方案" in text.replace("\n", "").replace(" ", "")
    narrow = Console(width=40, record=True, color_system=None)
    print_table(narrow, None, columns, rows)  # ids do not fit beside each other: records
    records = narrow.export_text()
    assert "type: implementation_plan" in records and "move: review → supervisor_approval" \
        in records
    assert plan_widths([Column("title")], [["汉" * 50]], 20) == [20]  # CJK folds: 10 per line


def test_finding_11_a_refused_advance_lists_what_is_missing(c: Campaign, db: str) -> None:
    from workflow.errors import TransitionNotAllowed

    for _ in range(8):  # on to a gate that lacks several things (forced past the others)
        try:
            c.plan.advance(STARTER)
        except TransitionNotAllowed as refused:
            if len(refused.items) > 3:
                break
            c.plan.advance(STARTER, force=True, reason="测试")
    result = run(db, "phase", "advance", user=STARTER)
    assert result.exit_code == 4 and result.stdout == ""
    first, *items = result.stderr.splitlines()
    match = re.fullmatch(r"campaign: not allowed: cannot leave .*: (\d+) missing:", first)
    assert match, first
    assert len(items) == int(match.group(1)) > 3
    assert all(line.startswith("  - ") for line in items)
    assert max(len(line.encode()) for line in result.stderr.splitlines()) < 400
    # The API's message is unchanged: one line, every item on it.
    with pytest.raises(TransitionNotAllowed) as refused:
        c.plan.advance(STARTER)
    assert refused.value.items == tuple(line[4:] for line in items)
    assert "\n" not in str(refused.value) and items[-1][4:] in str(refused.value)


# -- finding 12: README, not found, usage, help, lint, messages ---------------------------------


def test_finding_12_unknown_type_is_not_found(db: str, item: int) -> None:
    for args, fragment in [(("--type", "nonesuch"), "nonesuch"),
                           (("--type", "self_review", "--state", "in_progress"),
                            "state of self_review in_progress"),
                           (("--state", "nonesuch"), "state nonesuch"),
                           (("--owner", "nobody"), "user nobody"),
                           (("--overdue", "--type", "nonesuch"), "nonesuch")]:
        result = run(db, "list", *args)
        assert result.exit_code == 6, (args, result.output)
        assert result.stdout == "" and fragment in result.stderr
    # A state some type has is a filter, not an error; so is a known empty type.
    assert json.loads(ok(db, "list", "--state", "in_progress", "--json")) == []
    assert json.loads(ok(db, "list", "--type", "self_review", "--state", "publicity",
                         "--json")) == []


@pytest.mark.one_backend("a usage error, refused before any database work")
@pytest.mark.parametrize("command", [
    ("new", "self_review", "--title", "x"), ("do", "1", "submit"),
    ("comment", "1", "--text", "x"), ("phase", "advance"), ("inbox",), ("tick",),
    ("users", "grant", "leader1", "office"), ("targets", "record", "job_fairs", "1",
                                             "--note", "x"),
], ids=" ".join)
def test_finding_12_missing_as_is_a_usage_error(db: str, command: tuple[str, ...]) -> None:
    result = run(db, *command)
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("campaign: who is acting? give --as USER or set CAMPAIGN_USER")


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_finding_12_every_option_has_help() -> None:
    missing = [f"{path} {'/'.join(p.opts)}" for path, command in [("", cli.main),
                                                                  *_commands(cli.main)]
               for p in command.params
               if isinstance(p, click.Option) and not p.hidden and not p.help]
    assert missing == []
    usage = CliRunner().invoke(cli.main, ["diagram", "--help"]).stdout
    assert "Usage: main diagram [OPTIONS] [TYPE]" in usage or "diagram [OPTIONS] [TYPE]" in usage


def test_finding_12_lint_reports_every_problem(tmp_path: Path) -> None:
    text = (ROOT / "definitions" / "self_review.yaml").read_text(encoding="utf-8")
    bad = text.replace("dest: archived", "dest: gone").replace(
        "initial: draft", "initial: draft\ncolour: red\nshade: blue")
    path = tmp_path / "self_review.yaml"
    path.write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["definitions", "lint", str(path)])
    assert result.exit_code == 7
    assert "colour" in result.stdout and "shade" in result.stdout
    assert result.stderr == "campaign: 2 errors in definitions\n"
    path.write_text(text.replace("dest: archived", "dest: gone").replace(
        "dest: review", "dest: nowhere"), encoding="utf-8")
    found = json.loads(CliRunner().invoke(cli.main, ["definitions", "lint", str(path),
                                                      "--json"]).stdout)
    assert {f["message"].split(":")[0] for f in found} >= {"submit", "archive", "object"}
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(text.replace("- name: archived", "- name: archived\n    label: x\n"
                                    "    label_en: x\n  - name: orphan"), encoding="utf-8")
    codes = {f["code"] for f in json.loads(CliRunner().invoke(
        cli.main, ["definitions", "lint", str(renamed), "--json"]).stdout)}
    assert codes >= {"load-error", "unreachable-state"}  # the name and the graph, both


def test_finding_12_messages_read_right(c: Campaign, db: str, item: int) -> None:
    verified = ok(db, "audit", "verify")
    count = len(c.reads.deliverables())
    assert re.match(rf"ok: \d+ events and {count} deliverables verified; digest ", verified)
    assert (plural(1, "deliverable"), plural(2, "deliverable")) == (
        "1 deliverable", "2 deliverables")
    assert joined(["archive", "object"], "or") == "archive or object"
    assert joined(["a", "b", "c"]) == "a, b and c" and joined([]) == ""
    shown = ok(db, "show", item, env={"COLUMNS": "200"})
    assert "approve by supervisor; reject by supervisor" in shown
    outputs = shown + verified + ok(db, "phase", "status") + ok(db, "definitions", "lint")
    assert "(s)" not in outputs and " , " not in outputs


def test_finding_12_the_readme_names_every_type_and_where_attachments_go() -> None:
    readme = README.read_text(encoding="utf-8")
    for path in (ROOT / "definitions").glob("*.yaml"):
        assert f"| `{path.stem}` |" in readme, path.stem
    assert "`campaign.attachments/`" in readme
    from sqlalchemy.engine import make_url

    from workflow.services.attachments import store_directory

    stored = store_directory(make_url("sqlite:///campaign.db"))
    assert stored is not None and stored.name == "campaign.attachments"


def test_finding_10_times_keep_their_offset_through_summer_time(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = "2014-07-01T12:00:00.000000Z"
    assert local_time(moment) == "2014-07-01 20:00 +08:00"
    monkeypatch.setenv("CAMPAIGN_TZ", "Europe/London")
    assert local_time(moment, seconds=True) == "2014-07-01 13:00:00 +01:00"
    assert local_time(datetime(2014, 1, 1, 12)) == "2014-01-01 12:00 +00:00"  # naive is UTC
    assert local_time(None) == "" and local_time("not a time") == "not a time"
