"""The ``campaign`` command line contract, driven through click's CliRunner.

What a script calling ``campaign`` may rely on: global ``--db``/``--as`` (or
``CAMPAIGN_DB``/``CAMPAIGN_USER``), ``--json`` printing only JSON to stdout,
one documented exit code per kind of failure, and every error as exactly one
``campaign: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shlex
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from conftest import SHIPPED_TYPES
from drive import SPECS, complete_text, working_days_after
from plan_helpers import drop_append_only, execute, query
from sqlalchemy.exc import DBAPIError
from test_audit_chain import heads_digest

import cli
from workflow import Campaign
from workflow.render.diagram_style import CURRENT_FILL, PATH_COLOUR
from workflow.store.store import Store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
README = Path(__file__).resolve().parent.parent / "README.md"
CONSOLE_SCRIPT = Path(sys.executable).parent / "campaign"
EVENT_FIELDS = {"seq", "actor", "role", "action", "trigger", "source", "dest", "comment",
                "revision", "at", "prev_hash", "hash"}

# Both drafts have every section a self-review needs (submit checks them); the
# second goes deeper.
V1 = complete_text(SPECS["self_review"], "对照检查材料（初稿）", "深入基层调研不够。")
V2 = complete_text(SPECS["self_review"], "对照检查材料（修改稿）",
                   "深入基层调研不够，理论学习不够系统。")
RETURN_REASON = "“四个剖析”不深入：思想根源挖得不深"
#: The walk's calendar: approved (publicity opens) on a Monday; 5 working days.
APPROVED_ON = date(2014, 6, 16)
LAST_DAY = working_days_after(APPROVED_ON, 5)


# -- helpers -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own CAMPAIGN_* settings must not leak into the tests."""
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapping of long cells


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    # CliRunner swallows exceptions into result.exception: only a clean exit is allowed.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception)
    )


def invoke(argv: list[str], env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli.main, argv, env=env)
    assert_no_traceback(result)
    return result


def error_line(result: Result) -> str:
    """The single stderr line of a failed command."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    assert lines[0].startswith("campaign: "), lines[0]
    return lines[0]


class Cli:
    """``campaign --db URL [--as USER] ...`` against one database."""

    def __init__(self, db: str | None) -> None:
        self.db = db

    def run(self, *args: object, user: str | None = None,
            env: dict[str, str] | None = None) -> Result:
        argv = ["--db", self.db] if self.db else []
        if user:
            argv += ["--as", user]
        return invoke(argv + [str(a) for a in args], env)

    def ok(self, *args: object, user: str | None = None) -> Result:
        result = self.run(*args, user=user)
        assert result.exit_code == 0, result.output
        assert result.stderr == "", result.stderr
        return result

    def json(self, *args: object, user: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", user=user).stdout)

    def fails(self, code: int, *args: object, user: str | None = None) -> str:
        result = self.run(*args, user=user)
        assert result.exit_code == code, result.output
        assert result.stdout == "", result.stdout
        return error_line(result)


@pytest.fixture
def run(db_url: str) -> Cli:
    return Cli(db_url)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "files"
    folder.mkdir()
    paths = {
        "v1": folder / "v1.md",
        "v2": folder / "v2.md",
        "empty": folder / "empty.md",
        "gbk": folder / "gbk.txt",
        "missing": folder / "missing.md",
        "bad_dir": folder / "bad-definitions",
        "nodir": folder / "no-such-dir" / "out.svg",
    }
    paths["v1"].write_text(V1, encoding="utf-8")
    paths["v2"].write_text(V2, encoding="utf-8")
    paths["empty"].write_bytes(b"")
    paths["gbk"].write_bytes("对照检查材料".encode("gb18030"))
    paths["bad_dir"].mkdir()
    (paths["bad_dir"] / "broken.yaml").write_text("id: broken\ntitle: [\n", encoding="utf-8")
    return paths


class Calendar:
    """The campaign's calendar day, as every command run in this process sees it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, day: date) -> None:
        self.day = day
        monkeypatch.setattr(Store, "today", lambda _self: self.day)


def digest_of(run: Cli) -> str:
    digest: str = run.json("audit", "digest")["digest"]
    return digest


def event_count(db: Path | str) -> int:
    return int(query(db, "SELECT count(*) FROM audit_event")[0][0])


# -- the main job, end to end ----------------------------------------------------------


def test_full_walk_submit_return_revise_submit_forward_approve_archive(
    run: Cli, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calendar = Calendar(monkeypatch, APPROVED_ON)
    created = run.json("new", "self_review", "--title", "张副主席对照检查材料",
                       "--content", files["v1"], "--due", "2014-06-30", user="leader1")
    item = created["id"]
    assert isinstance(item, int)
    assert created["type"] == "self_review"
    assert created["owner"] == "leader1"
    assert (created["state"], created["version"], created["final"]) == ("draft", 1, False)
    assert created["due"] == "2014-06-30"
    v1_sha = hashlib.sha256(V1.encode("utf-8")).hexdigest()
    assert created["revision"]["number"] == 1
    assert created["revision"]["sha256"] == v1_sha

    submitted = run.json("do", item, "submit", user="leader1")
    assert (submitted["source"], submitted["trigger"], submitted["dest"]) == (
        "draft", "submit", "review")
    returned = run.json("do", item, "return", "--comment", RETURN_REASON, user="principal1")
    assert (returned["source"], returned["dest"], returned["comment"]) == (
        "review", "draft", RETURN_REASON)
    assert returned["actor"] == "principal1" and returned["role"] == "principal"

    revised = run.json("revise", item, "--content", files["v2"], user="leader1")
    v2_sha = hashlib.sha256(V2.encode("utf-8")).hexdigest()
    assert (revised["number"], revised["sha256"]) == (2, v2_sha)

    assert run.json("do", item, "submit", user="leader1")["dest"] == "review"
    version = run.json("show", item)["version"]
    forwarded = run.json("do", item, "forward", "--if-version", version, user="principal1")
    assert forwarded["dest"] == "supervisor_approval"
    approved = run.json("do", item, "approve", "--comment", "剖析深刻，同意公示", user="sup1")
    assert approved["dest"] == "publicity"
    # Publicity runs 5 working days, its last day included: archiving waits.
    calendar.day = LAST_DAY
    digest = digest_of(run)
    line = run.fails(4, "do", item, "archive", user="office1")
    assert str(LAST_DAY) in line
    assert digest_of(run) == digest and run.json("show", item)["state"] == "publicity"
    calendar.day = LAST_DAY + timedelta(days=1)
    archived = run.json("do", item, "archive", user="office1")
    assert (archived["source"], archived["dest"]) == ("publicity", "archived")

    shown = run.json("show", item)
    assert (shown["state"], shown["final"], shown["version"]) == ("archived", True, 8)
    assert shown["revision"]["sha256"] == v2_sha
    assert shown["next"] == []

    events = run.json("history", item)
    assert [(e["action"], e["trigger"]) for e in events] == [
        ("create", None), ("transition", "submit"), ("transition", "return"),
        ("revise", None), ("transition", "submit"), ("transition", "forward"),
        ("transition", "approve"), ("transition", "archive"),
    ]
    assert [e["actor"] for e in events] == [
        "leader1", "leader1", "principal1", "leader1", "leader1", "principal1", "sup1",
        "office1"]
    assert [e["revision"] for e in events] == [v1_sha] * 3 + [v2_sha] * 5
    assert events[2]["comment"] == RETURN_REASON
    for before, after in itertools.pairwise(events):
        assert after["prev_hash"] == before["hash"]  # nothing else happened in between

    assert [d["id"] for d in run.json("list", "--state", "archived")] == [item]
    assert all(i["deliverable"]["id"] != item for i in run.json("inbox", user="office1"))
    report = run.json("audit", "verify")
    assert report["ok"] is True and report["deliverables"] == 1
    # The digest: the last event's seq, and a hash over every chain's head.
    assert report["digest"] == digest_of(run)
    assert report["digest"].startswith(f"{events[-1]['seq']}:")


def test_text_output_of_the_walk_is_readable(run: Cli, files: dict[str, Path]) -> None:
    out = run.ok("new", "self_review", "--title", "材料", "--content", files["v1"],
                 user="leader1").stdout
    assert "created self_review #1" in out and "draft" in out
    assert "draft --submit--> review" in run.ok("do", 1, "submit", user="leader1").stdout
    out = run.ok("do", 1, "return", "--comment", RETURN_REASON, user="principal1").stdout
    assert "review --return--> draft" in out
    assert "revision 2" in run.ok("revise", 1, "--content", files["v2"], user="leader1").stdout
    history = run.ok("history", 1).stdout
    assert RETURN_REASON in history and "principal1" in history
    shown = run.ok("show", 1).stdout
    assert "draft" in shown and "submit" in shown


# -- global options and environment ----------------------------------------------------------


def test_env_vars_campaign_db_and_campaign_user_are_honoured(
    db_url: str, files: dict[str, Path]
) -> None:
    env = {"CAMPAIGN_DB": db_url, "CAMPAIGN_USER": "leader1"}
    result = invoke(["new", "self_review", "--title", "材料", "--content", str(files["v1"]),
                     "--json"], env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["owner"] == "leader1"
    assert [d["owner"] for d in Cli(db_url).json("list")] == ["leader1"]

    # --as beats CAMPAIGN_USER
    result = invoke(["--as", "leader2", "new", "self_review", "--title", "材料", "--json"], env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["owner"] == "leader2"


def test_db_option_beats_campaign_db(db_url: str, tmp_path: Path) -> None:
    never = tmp_path / "never.db"
    env = {"CAMPAIGN_DB": f"sqlite:///{never}"}
    assert invoke(["users", "list", "--json"], env).exit_code == 6
    result = invoke(["--db", db_url, "users", "list", "--json"], env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 12
    assert not never.exists()


def test_default_database_is_campaign_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "campaign.db").is_file()
    result = invoke(["users", "add", "office1", "--name", "王敏", "--role", "office"])
    assert result.exit_code == 0, result.output
    users = Campaign.open(f"sqlite:///{tmp_path / 'campaign.db'}").reads.users()
    assert [u.id for u in users] == ["office1"]


def test_acting_user_is_required_for_writes(run: Cli) -> None:
    # A usage error (issue 9 finding 12): the engine's own refusal (7) is for API callers.
    result = run.run("new", "self_review", "--title", "x")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--as" in error_line(result)


# -- init, definitions, users -----------------------------------------------------------------


def test_init_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    run = Cli(f"sqlite:///{path}")
    first = run.ok("init").stdout
    for type_id in SHIPPED_TYPES:
        assert type_id in first
    digest, events = digest_of(run), event_count(path)
    assert events == len(SHIPPED_TYPES)

    second = run.ok("init").stdout
    assert "none changed" in second
    assert digest_of(run) == digest
    assert event_count(path) == events


def test_init_on_the_fixture_database_changes_nothing(run: Cli, db_url: str) -> None:
    before = event_count(db_url)
    assert "none changed" in run.ok("init").stdout
    assert event_count(db_url) == before


def test_definitions_list_json(run: Cli) -> None:
    listed = run.json("definitions", "list")
    assert tuple(d["id"] for d in listed) == SHIPPED_TYPES
    assert all(d["title"] for d in listed)


def test_definitions_show_json_shape(run: Cli) -> None:
    shown = run.json("definitions", "show", "self_review")
    assert {"id", "title", "initial", "states", "transitions"} <= shown.keys()
    assert (shown["id"], shown["title"], shown["initial"]) == ("self_review", "对照检查材料",
                                                               "draft")
    names = [s["name"] for s in shown["states"]]
    assert names[0] == "draft" and "archived" in names
    for state in shown["states"]:
        assert {"name", "label", "final"} <= state.keys()
        assert isinstance(state["label"], str) and isinstance(state["final"], bool)
    assert [s["name"] for s in shown["states"] if s["final"]] == ["archived"]
    transitions = {t["trigger"]: t for t in shown["transitions"]}
    for transition in transitions.values():
        assert {"trigger", "source", "dest", "roles", "owner_only", "not_owner",
                "requires_comment"} <= transition.keys()
        assert isinstance(transition["source"], list) and isinstance(transition["roles"], list)
        assert set(transition["source"]) <= set(names) and transition["dest"] in names
        for flag in ("owner_only", "not_owner", "requires_comment"):
            assert isinstance(transition[flag], bool)
    assert transitions["submit"]["source"] == ["draft"]
    assert transitions["submit"]["owner_only"] is True
    assert transitions["return"]["roles"] == ["principal"]
    assert transitions["return"]["not_owner"] is True
    assert transitions["return"]["requires_comment"] is True
    assert transitions["forward"]["requires_comment"] is False


def test_definitions_show_and_list_from_files_need_no_database(tmp_path: Path) -> None:
    run = Cli(f"sqlite:///{tmp_path / 'never.db'}")
    definitions = str(Path(__file__).resolve().parent.parent / "definitions")
    assert run.json("definitions", "show", "self_review", "--definitions",
                    definitions)["id"] == "self_review"
    assert len(run.json("definitions", "list", "--definitions", definitions)) == len(
        SHIPPED_TYPES)
    assert not (tmp_path / "never.db").exists()


def test_definitions_lint(run: Cli, files: dict[str, Path]) -> None:
    assert run.ok("definitions", "lint").stdout.startswith("ok")
    assert all(f["severity"] != "error" for f in run.json("definitions", "lint"))
    result = run.run("definitions", "lint", files["bad_dir"])
    assert result.exit_code == 7
    assert "broken.yaml" in result.stdout
    error_line(result)


def test_users_add_and_list(run: Cli) -> None:
    added = run.json("users", "add", "member3", "--name", "孙三", "--role", "member",
                     "--role", "branch", "--unit", "机关第三支部", user="office1")
    assert added == {"id": "member3", "name": "孙三", "unit": "机关第三支部",
                     "roles": ["branch", "member"], "active": True}
    assert "added member4" in run.ok("users", "add", "member4", "--name", "李四", "--role",
                                     "member", user="office1").stdout
    listed = {u["id"]: u for u in run.json("users", "list")}
    assert len(listed) == 14
    assert listed["member3"] == added
    assert listed["principal1"]["roles"] == ["leader", "principal"]
    assert "孙三" in run.ok("users", "list").stdout


def test_first_user_bootstraps_a_fresh_database(tmp_path: Path) -> None:
    run = Cli(f"sqlite:///{tmp_path / 'fresh.db'}")
    run.ok("init")
    run.ok("users", "add", "office1", "--name", "王敏", "--role", "office")
    # from now on somebody must act, and only the office manages users
    assert "--as" in run.fails(7, "users", "add", "x", "--name", "X", "--role", "office")
    run.ok("users", "add", "x", "--name", "X", "--role", "leader", user="office1")
    assert "needs role office" in run.fails(3, "users", "add", "y", "--name", "Y", "--role",
                                            "leader", user="x")


# -- reading: list, inbox, history ------------------------------------------------------------


@pytest.fixture
def in_review(run: Cli, files: dict[str, Path]) -> Cli:
    """#1: leader1's self-review, submitted (review, version 2);
    #2: leader2's self-review without content (draft, version 1)."""
    run.ok("new", "self_review", "--title", "张副主席对照检查材料", "--content", files["v1"],
           user="leader1")
    run.ok("do", 1, "submit", user="leader1")
    run.ok("new", "self_review", "--title", "刘副主席对照检查材料", user="leader2")
    return run


def test_list_filters(in_review: Cli) -> None:
    run = in_review
    assert [d["id"] for d in run.json("list")] == [1, 2]
    assert [d["id"] for d in run.json("list", "--state", "review")] == [1]
    assert [d["id"] for d in run.json("list", "--owner", "leader2")] == [2]
    assert [d["id"] for d in run.json("list", "--type", "self_review")] == [1, 2]
    assert run.json("list", "--type", "meeting_plan") == []
    text = run.ok("list").stdout
    assert "张副主席对照检查材料" in text and "刘副主席对照检查材料" in text


def test_inbox(in_review: Cli) -> None:
    run = in_review
    principal = run.json("inbox", user="principal1")
    assert [(i["deliverable"]["id"], sorted(i["triggers"])) for i in principal] == [
        (1, ["forward", "return"])]
    assert [i["deliverable"]["id"] for i in run.json("inbox", user="leader2")] == [2]
    assert run.json("inbox", user="sup1") == []
    assert "forward" in run.ok("inbox", user="principal1").stdout


def test_history_json_fields(in_review: Cli) -> None:
    events = in_review.json("history", 1)
    assert len(events) == 2
    for event in events:
        assert event.keys() >= EVENT_FIELDS
        assert isinstance(event["seq"], int)
        assert re.fullmatch(r"[0-9a-f]{64}", event["hash"])
        assert re.fullmatch(r"[0-9a-f]{64}", event["revision"])
        datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
    assert events[0]["seq"] < events[1]["seq"]
    assert [(e["source"], e["dest"]) for e in events] == [(None, "draft"), ("draft", "review")]
    assert events[1]["actor"] == "leader1" and events[1]["comment"] is None


READ_COMMANDS = [
    ("definitions", "list"),
    ("definitions", "show", "self_review"),
    ("definitions", "lint"),
    ("users", "list"),
    ("show", "1"),
    ("history", "1"),
    ("list",),
    ("list", "--type", "self_review"),
    ("list", "--state", "review"),
    ("list", "--owner", "leader1"),
    ("inbox",),
    ("audit", "verify"),
    ("audit", "digest"),
    ("audit", "refusals"),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_commands_print_only_json(in_review: Cli, args: tuple[str, ...]) -> None:
    result = in_review.run(*args, "--json", user="principal1")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    json.loads(result.stdout)  # the whole of stdout is one JSON document


def test_audit_export_jsonl_and_csv(in_review: Cli, tmp_path: Path) -> None:
    run = in_review
    lines = run.ok("audit", "export", "--format", "jsonl").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert digest_of(run) == heads_digest(rows)  # the export alone recomputes it
    csv_text = run.ok("audit", "export", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("seq,at,actor")
    assert len(csv_text.splitlines()) == len(rows) + 1
    out = tmp_path / "audit.jsonl"
    run.ok("audit", "export", "--out", out)
    assert out.read_text(encoding="utf-8").splitlines() == lines


def test_refusals_listed_after_a_denied_attempt(in_review: Cli) -> None:
    run = in_review
    assert run.json("audit", "refusals") == []
    digest = digest_of(run)
    line = run.fails(3, "do", 1, "forward", user="leader1")
    assert "permission denied" in line and "leader1" in line
    refusals = run.json("audit", "refusals")
    assert len(refusals) == 1
    refusal = refusals[0]
    assert (refusal["actor"], refusal["action"], refusal["deliverable_id"]) == (
        "leader1", "forward", 1)
    assert "principal" in refusal["reason"]
    assert refusal["at"]
    assert digest_of(run) == digest  # a refusal never touches the audit chain
    assert "leader1" in run.ok("audit", "refusals").stdout


# -- exit codes ----------------------------------------------------------------------------

# (argv after ``--db {db}`` unless it names --db itself, expected exit code, stderr fragment)
EXIT_CODE_TABLE: list[tuple[str, int, str]] = [
    ("--as principal1 show 1", 0, ""),
    ("--as principal1 do 1 forward", 0, ""),
    # 2 usage
    ("nosuch", 2, "No such command"),
    ("--nosuch-option list", 2, "No such option"),
    ("--as leader1 new self_review", 2, "--title"),
    ("--as leader1 new self_review --title x --due 2014-13-01", 2, "--due"),
    ("--as principal1 do one forward", 2, "ID"),
    ("audit export --format xml", 2, "--format"),
    ("users add x --name X", 2, "--role"),
    ("do 1 forward", 2, "--as"),
    # 3 permission denied
    ("--as leader1 do 1 forward", 3, "needs role principal"),
    ("--as leader2 revise 1 --content {v2}", 3, "only the owner"),
    ("--as member1 users add x --name X --role member", 3, "needs role office"),
    ("--as member1 new self_review --title x", 3, "permission denied"),
    ("--as leader1 new self_review --title x --owner leader2", 3, "office"),
    # 4 not allowed now
    ("--as principal1 do 1 return", 4, "needs a reason"),
    ("--as sup1 do 1 approve", 4, "cannot fire from state 'review'"),
    ("--as leader1 revise 1 --content {v2}", 4, "cannot change in state 'review'"),
    ("--as leader2 do 2 submit", 4, "no content"),
    # 5 conflict
    ("--as principal1 do 1 forward --if-version 1", 5, "version 2, expected 1"),
    # 6 not found
    ("show 99", 6, "deliverable 99"),
    ("history 99", 6, "deliverable 99"),
    ("--as nobody do 1 forward", 6, "user nobody"),
    ("--as leader1 new no_such_type --title x", 6, "no_such_type"),
    ("definitions show no_such_type", 6, "no_such_type"),
    ("diagram no_such_type --format dot", 6, "no_such_type"),
    ("--db sqlite:///{never} list", 6, "campaign init"),
    # 7 invalid input or definition
    ("--as principal1 do 1 bogus", 7, "no trigger 'bogus'"),
    ("--as leader1 new self_review --title x --content {empty}", 7, "empty"),
    ("--as leader1 new self_review --title x --content {gbk}", 7, "GB18030"),
    ("--as leader1 new self_review --title x --content {missing}", 6, "not found: content file"),
    ("--as leader1 new self_review --title ' '", 7, "title"),
    ("--as office1 users add x --name X --role emperor", 7, "unknown role"),
    ("--as office1 users add leader1 --name X --role leader", 7, "already exists"),
    ("definitions lint {bad_dir}", 7, "error"),
    ("init --definitions {bad_dir}", 7, "broken.yaml"),
    ("audit verify --digest garbage", 7, "SEQ:SHA256"),
    ("diagram self_review --format dot --out {nodir}", 7, "does not exist"),
    ("--as principal1 diagram meeting_plan --deliverable 1 --format dot", 7, "not a"),
    ("--db garbage list", 7, "garbage"),
    # 8 audit verification failed
    ("audit verify --digest 1:" + "0" * 64, 8, "kept digest"),
]


def table_id(row: tuple[str, int, str]) -> str:
    return f"{row[1]}:{row[0][:60]}"


@pytest.mark.parametrize(("command", "code", "fragment"),
                         [pytest.param(*row, id=table_id(row)) for row in EXIT_CODE_TABLE])
def test_exit_codes(in_review: Cli, files: dict[str, Path], tmp_path: Path, command: str,
                    code: int, fragment: str) -> None:
    places = {name: shlex.quote(str(path)) for name, path in files.items()}
    places["never"] = str(tmp_path / "never.db")
    argv = shlex.split(command.format(**places))
    if "--db" not in argv:
        argv = ["--db", str(in_review.db), *argv]
    result = invoke(argv)
    assert result.exit_code == code, result.output
    if code == 0:
        assert result.stderr == ""
        return
    if code == 2:
        # click's own usage message; see test_usage_error_is_one_stderr_line below
        assert result.stdout == ""
        assert fragment in result.stderr
        return
    if "lint" not in argv:  # lint lists its findings on stdout
        assert result.stdout == "", result.stdout
    line = error_line(result)
    assert fragment in line
    assert not (tmp_path / "never.db").exists()


def test_the_exit_code_table_covers_every_documented_code() -> None:
    assert {code for _, code, _ in EXIT_CODE_TABLE} == {0, 2, 3, 4, 5, 6, 7, 8}
    help_text = " ".join(cli.EXIT_HELP.split())
    for documented in ("0 ok", "2 usage", "3 permission denied", "4 not allowed now",
                       "5 conflict", "6 not found", "7 invalid input",
                       "8 audit verification failed"):
        assert documented in help_text


@pytest.mark.one_backend("a usage error, refused by the argument parser")
@pytest.mark.parametrize("command", ["nosuch", "--as leader1 new self_review",
                                     "audit export --format xml"])
def test_usage_error_is_one_stderr_line(
    run: Cli, command: str
) -> None:
    result = invoke(["--db", str(run.db), *shlex.split(command)])
    assert result.exit_code == 2
    error_line(result)


@pytest.mark.parametrize("command", [
    "show 99 --json",
    "history 99 --json",
    "audit verify --digest 1:" + "0" * 64 + " --json",
    "definitions lint {bad_dir} --json",
])
def test_errors_under_json_keep_stdout_clean_and_say_one_line(
    run: Cli, files: dict[str, Path], command: str
) -> None:
    argv = shlex.split(command.format(bad_dir=shlex.quote(str(files["bad_dir"]))))
    result = invoke(["--db", str(run.db), *argv])
    assert result.exit_code in (6, 7, 8)
    if "lint" in argv:
        json.loads(result.stdout)  # the findings, as JSON
    else:
        assert result.stdout == ""
    error_line(result)


@pytest.mark.one_backend("a usage error, refused by the argument parser")
def test_unknown_command_exits_2(run: Cli) -> None:
    result = run.run("frobnicate")
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.stderr


@pytest.mark.parametrize("command", [
    "list", "show 1", "history 1", "inbox", "users list", "definitions list",
    "definitions show self_review", "audit verify", "audit digest", "audit refusals",
    "audit export", "diagram self_review --format dot", "do 1 submit",
    "new self_review --title x", "users add x --name X --role office", "revise 1 --content {v1}",
])
def test_never_initialised_database_is_not_found_and_not_created(
    tmp_path: Path, files: dict[str, Path], command: str
) -> None:
    never = tmp_path / "never.db"
    argv = shlex.split(command.format(v1=shlex.quote(str(files["v1"]))))
    result = invoke(["--db", f"sqlite:///{never}", "--as", "office1", *argv])
    assert result.exit_code == 6, result.output
    assert "campaign init" in error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]


def test_real_console_script_reports_one_line_without_traceback(tmp_path: Path) -> None:
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"{CONSOLE_SCRIPT} is not installed")
    never = tmp_path / "never.db"
    done = subprocess.run([str(CONSOLE_SCRIPT), "--db", f"sqlite:///{never}", "list"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 6
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("campaign: not found")
    assert not never.exists()
    helped = subprocess.run([str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert helped.returncode == 0 and "Exit codes" in helped.stdout


# -- audit verification -----------------------------------------------------------------------


def test_audit_verify_ok_then_exit_8_after_tampering(in_review: Cli, db_url: str) -> None:
    run = in_review
    kept = digest_of(run)
    assert run.ok("audit", "verify").stdout.startswith("ok:")
    assert run.json("audit", "verify", "--digest", kept)["ok"] is True

    ((seq,),) = query(db_url, "SELECT max(seq) FROM audit_event WHERE trigger = 'submit'")
    edit = "UPDATE audit_event SET comment = 'edited' WHERE seq = :seq"
    with pytest.raises(DBAPIError, match="append-only"):
        execute(db_url, edit, seq=seq)
    drop_append_only(db_url)
    execute(db_url, edit, seq=seq)

    line = run.fails(8, "audit", "verify")
    assert f"event {seq}" in line and "edited" in line
    assert run.run("audit", "verify", "--json").stdout == ""
    assert run.run("audit", "verify", "--json").exit_code == 8


def test_audit_verify_exit_8_when_events_are_deleted(in_review: Cli, db_url: str) -> None:
    run = in_review
    kept = digest_of(run)
    drop_append_only(db_url)
    execute(db_url, "DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)")
    assert "audit verification failed" in run.fails(8, "audit", "verify", "--digest", kept)


# -- diagrams -----------------------------------------------------------------------------------


def test_diagram_dot_to_stdout_and_file(run: Cli, tmp_path: Path) -> None:
    dot = run.ok("diagram", "self_review", "--format", "dot").stdout
    assert dot.lstrip().startswith("digraph") and "草稿" in dot
    out = tmp_path / "flow.dot"
    assert str(out) in run.ok("diagram", "self_review", "--format", "dot", "--out", out).stdout
    assert out.read_text(encoding="utf-8") == dot


def test_diagram_svg_has_chinese_labels(run: Cli, needs_dot: None, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run.ok("diagram", "self_review")  # svg is the default, TYPE.svg the default name
    svg = (tmp_path / "self_review.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    for label in ("草稿", "主要负责同志审阅", "市委督导组审核", "公示", "归档"):
        assert label in svg


def test_diagram_png(run: Cli, needs_dot: None, tmp_path: Path) -> None:
    out = tmp_path / "flow.png"
    run.ok("diagram", "rectification_item", "--format", "png", "--out", out)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_diagram_from_definition_files(tmp_path: Path) -> None:
    definitions = Path(__file__).resolve().parent.parent / "definitions"
    run = Cli(f"sqlite:///{tmp_path / 'never.db'}")
    dot = run.ok("diagram", "meeting_plan", "--format", "dot", "--definitions",
                 definitions).stdout
    assert dot.lstrip().startswith("digraph")
    assert not (tmp_path / "never.db").exists()


def test_diagram_deliverable_highlights_current_state_and_path(
    in_review: Cli, needs_dot: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = in_review
    run.ok("do", 1, "return", "--comment", RETURN_REASON, user="principal1")
    plain = run.ok("diagram", "self_review", "--format", "dot").stdout
    marked = run.ok("diagram", "--deliverable", 1, "--format", "dot").stdout
    assert run.ok("diagram", "self_review", "--deliverable", 1, "--format", "dot"
                  ).stdout == marked
    assert PATH_COLOUR not in plain and CURRENT_FILL not in plain
    assert PATH_COLOUR in marked and CURRENT_FILL in marked
    current = next(line for line in marked.splitlines() if line.strip().startswith("draft ["))
    assert CURRENT_FILL in current  # returned: back in draft
    taken = [line for line in marked.splitlines() if PATH_COLOUR in line and "->" in line]
    assert {line.split("->")[0].strip() for line in taken} == {"draft", "review"}

    monkeypatch.chdir(tmp_path)
    assert "self_review-1.svg" in run.ok("diagram", "--deliverable", 1).stdout
    svg = (tmp_path / "self_review-1.svg").read_text(encoding="utf-8")
    assert PATH_COLOUR in svg.lower()


# -- drift guard: README's command list against the CLI -------------------------------------

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\*\*)?`([^`]+)`")
_CELL_SPAN = re.compile(r"^(?:\*\*)?`([^`]+)`")
_GLOBAL_WITH_VALUE = {"--db", "--as"}


def command_line_section(markdown: str) -> str | None:
    """The text under ``## Command line`` up to the next heading of level 1 or 2."""
    lines = markdown.splitlines()
    for start, line in enumerate(lines):
        if re.fullmatch(r"##\s+Command line\s*", line.strip()):
            body = []
            for following in lines[start + 1:]:
                if re.match(r"#{1,2}\s", following):
                    break
                body.append(following)
            return "\n".join(body)
    return None


def _commands_in_span(span: str, groups: set[str]) -> set[str]:
    """``campaign [--db URL] [--as USER] CMD [SUB] ...`` → {"CMD"} or {"CMD SUB"}.

    Alternatives are allowed: ``campaign show|history ID`` and
    ``campaign audit verify|digest|export|refusals``.  A group named alone
    (``campaign audit``) documents nothing by itself.
    """
    words = span.split()
    if not words or words[0] != "campaign":
        return set()
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in _GLOBAL_WITH_VALUE else rest[1:]
    if not rest:
        return set()
    found = set()
    previous: list[str] = []
    for name in rest[0].split("|"):
        if name not in groups:
            found.add(name)
            continue
        # "list|show ID|lint [PATH]": a piece after a piece with an option is the
        # option's alternative values ("export --format jsonl|csv"), not a subcommand.
        for number, piece in enumerate(" ".join(rest[1:]).split("|")):
            words = piece.split()
            if number and any(w.lstrip("[").startswith("-") for w in previous):
                break
            if words and not words[0].startswith(("-", "[")):
                found.add(f"{name} {words[0]}")
            previous = words
    return found


def documented_commands(markdown: str, groups: set[str]) -> set[str]:
    """Every ``campaign <command>`` in a code span that opens a list item or a table cell
    of the README's ``## Command line`` section."""
    section = command_line_section(markdown)
    if section is None:
        raise AssertionError("README.md has no '## Command line' section")
    spans: list[str] = []
    for line in section.splitlines():
        if match := _ITEM.match(line):
            spans.append(match.group(1))
        elif line.strip().startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            spans += [m.group(1) for cell in cells
                      if (m := _CELL_SPAN.match(cell.strip().replace("\\|", "|")))]
    found: set[str] = set()
    for span in spans:
        found |= _commands_in_span(span.replace("\\|", "|"), groups)
    return found


def cli_groups() -> set[str]:
    return {name for name, cmd in cli.main.commands.items() if isinstance(cmd, click.Group)}


def cli_commands() -> set[str]:
    """Top-level commands and ``group sub`` pairs, from click's own introspection."""
    found = set()
    for name, command in cli.main.commands.items():
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            found |= {f"{name} {sub}" for sub, c in command.commands.items() if not c.hidden}
        else:
            found.add(name)
    return found


SAMPLE_README = """\
# campaign

## Command line

Global options: `--db URL`, `--as USER`.

- `campaign init [--definitions DIR]` — create the schema
- **`campaign definitions list|show ID|lint [PATH]`** — definitions
1. `campaign --as office1 users add ID --name N --role R` — add a user
* `campaign audit` — the audit log:
  - `campaign audit verify [--digest D]`
  - `campaign audit export --format jsonl\\|csv`
  - `campaign audit digest|refusals`

| command | what |
|---|---|
| `campaign do ID TRIGGER [--comment C]` | fire a transition |
| `campaign show\\|history ID` | one deliverable |
| plain text `campaign list` | not a command cell |

A sentence mentioning `campaign inbox` is not a list item.

## Development

- `campaign demo` is under another heading
"""


def test_readme_parser_reads_list_items_and_table_cells() -> None:
    assert documented_commands(SAMPLE_README, cli_groups()) == {
        "init", "definitions list", "definitions show", "definitions lint", "users add",
        "audit verify", "audit export", "audit digest", "audit refusals", "do", "show",
        "history",
    }
    with pytest.raises(AssertionError, match="Command line"):
        documented_commands("# campaign\n", cli_groups())


def test_cli_introspection_matches_campaign_help() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    listed = set(re.findall(r"^  (\S+)\s{2,}", result.stdout.split("Commands:")[1], re.M))
    assert listed == set(cli.main.commands)
    for group in cli_groups():
        sub_help = invoke([group, "--help"]).stdout.split("Commands:")[1]
        assert {f"{group} {s}" for s in re.findall(r"^  (\S+)\s{2,}", sub_help, re.M)} == {
            c for c in cli_commands() if c.startswith(f"{group} ")}


def test_readme_command_list_matches_the_cli() -> None:
    if not README.exists():
        pytest.skip("README.md not written yet")
    documented = documented_commands(README.read_text(encoding="utf-8"), cli_groups())
    actual = cli_commands()
    assert documented == actual, (
        f"README documents commands the CLI lacks: {sorted(documented - actual)}; "
        f"CLI commands missing from README's '## Command line': {sorted(actual - documented)}"
    )

