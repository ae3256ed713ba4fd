"""Issue 11, bulk moves: ``campaign do --bulk`` and ``campaign.moves.fire_many``.

Every id is its own audited move through the one move path: the ids come from
a file, stdin or ``campaign list``'s filters, a bad list fires nothing, a
refusal never undoes another's move, and the summary names each refused id.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import cli_clock, driver_trace, snapshot
from drive import drive, refusal_count

import cli
from workflow import Campaign, DatabaseBusy, Interrupted, InvalidInput, PermissionDenied
from workflow.services.bulk import fire_each
from workflow.store.views import EventView

PRINCIPAL = "principal1"  # principal and leader: forwards others' material, not their own


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def run(db_url: str, *args: object, user: str | None = PRINCIPAL,
        stdin: str | None = None) -> Result:
    argv = ["--db", db_url, *(["--as", user] if user else []), *map(str, args)]
    result = CliRunner().invoke(cli.main, argv, input=stdin)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result


def stderr_line(result: Result) -> str:
    (line,) = result.stderr.splitlines()
    assert line.startswith("campaign: "), line
    return line


@pytest.fixture
def items(campaign: Campaign) -> dict[str, list[int]]:
    """Self-reviews: three of leader1's in review (principal1 may forward them),
    principal1's own in review (not_owner: refused, exit 3), and one of
    leader2's still a draft (nothing to forward: exit 4)."""
    review = [drive(campaign, "self_review", "review", owner="leader1").id for _ in range(3)]
    own = drive(campaign, "self_review", "review", owner=PRINCIPAL).id
    draft = drive(campaign, "self_review", "draft", owner="leader2").id
    campaign.store.engine.dispose()
    return {"review": review, "own": [own], "draft": [draft]}


def forwards(campaign: Campaign, deliverable_id: int) -> list[EventView]:
    return [e for e in campaign.reads.history(deliverable_id)
            if e.action == "transition" and e.trigger == "forward"]


def id_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text(text, encoding="utf-8")
    return path


# -- where the ids come from ------------------------------------------------------------


def test_ids_from_a_file_each_move_its_own_audited_event(
    campaign: Campaign, db_url: str, tmp_path: Path, items: dict[str, list[int]]
) -> None:
    first, second, third = items["review"]
    path = id_file(tmp_path, f"# the leaders' material\n{first}\n\n  {second}  # 张副主席\n"
                             f"{third}\n")
    result = run(db_url, "do", "--bulk", path, "forward", "--comment", "同意报督导组")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no bar: stderr is not a terminal
    assert result.stdout.splitlines()[0] == "forward: 3 of 3 deliverables moved, 0 refused"
    events = [forwards(campaign, i) for i in items["review"]]
    assert all(len(e) == 1 for e in events)
    assert len({e[0].seq for e in events}) == 3  # one audit event per move
    assert {(e[0].actor, e[0].dest, e[0].comment) for e in events} == {
        (PRINCIPAL, "supervisor_approval", "同意报督导组")}
    assert campaign.audit.verify().events > 0


def test_ids_from_stdin_with_json_every_id_s_outcome(
    campaign: Campaign, db_url: str, items: dict[str, list[int]]
) -> None:
    ids = items["review"][:2]
    result = run(db_url, "do", "--bulk", "-", "forward", "--json",
                 stdin="".join(f"{i}\n" for i in ids))
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [(r["id"], r["outcome"], r["source"], r["dest"], r["exit_code"], r["error"])
            for r in records] == [(i, "moved", "review", "supervisor_approval", 0, None)
                                  for i in ids]
    assert [r["seq"] for r in records] == [forwards(campaign, i)[0].seq for i in ids]


def test_ids_from_a_filter_are_those_campaign_list_shows(
    campaign: Campaign, db_url: str, items: dict[str, list[int]]
) -> None:
    result = run(db_url, "do", "--bulk", "--type", "self_review", "--state", "review",
                 "--owner", "leader1", "forward")
    assert result.exit_code == 0, result.output
    assert all(len(forwards(campaign, i)) == 1 for i in items["review"])
    assert campaign.reads.get(items["own"][0]).state == "review"  # not theirs: not selected
    assert campaign.reads.get(items["draft"][0]).state == "draft"
    # What `campaign list` refuses, a bulk move refuses: nothing exists by that name.
    for args, fragment in [(("--type", "nonesuch"), "nonesuch"),
                           (("--state", "nonesuch"), "state nonesuch"),
                           (("--owner", "nobody"), "user nobody")]:
        refused = run(db_url, "do", "--bulk", *args, "forward")
        assert refused.exit_code == 6, (args, refused.output)
        assert fragment in stderr_line(refused)


# -- mixed outcomes ------------------------------------------------------------------------


def test_mixed_outcomes_name_each_refused_id_and_exit_4(
    campaign: Campaign, db_url: str, tmp_path: Path,
    items: dict[str, list[int]]
) -> None:
    own, draft, missing = items["own"][0], items["draft"][0], 999
    ids = [items["review"][0], own, draft, missing, items["review"][1]]
    path = id_file(tmp_path, "\n".join(map(str, ids)))
    result = run(db_url, "do", "--bulk", path, "forward")
    assert result.exit_code == 4, result.output
    assert "3 of 5 moves refused (exit 4: refusals of different kinds)" in stderr_line(result)
    out = result.stdout
    assert out.splitlines()[0] == "forward: 2 of 5 deliverables moved, 3 refused"
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()[:1].isdigit()}
    assert set(rows) == {str(own), str(draft), str(missing)}
    assert "3" in rows[str(own)].split() and "principal" in rows[str(own)]
    assert "cannot fire from state 'draft'" in rows[str(draft)]
    assert "not found: deliverable 999" in rows[str(missing)]
    # The moves that went through stay made, each with its event.
    assert [len(forwards(campaign, i)) for i in ids if i != missing] == [1, 0, 0, 1]
    # The permission refusal is noted in the access log, as a single move's is.
    refusals = campaign.audit.refusals()
    assert [(r.actor, r.action, r.deliverable_id) for r in refusals] == [
        (PRINCIPAL, "forward", own)]
    assert own in [r["deliverable_id"]
                   for r in json.loads(run(db_url, "audit", "refusals", "--json").stdout)]
    campaign.audit.verify()


def test_csv_summary_has_a_row_per_id(
    db_url: str, tmp_path: Path, items: dict[str, list[int]]
) -> None:
    ids = [items["review"][0], items["draft"][0]]
    result = run(db_url, "do", "--bulk", id_file(tmp_path, f"{ids[0]}\n{ids[1]}\n"),
                 "forward", "--format", "csv")
    assert result.exit_code == 4
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(int(r["id"]), r["outcome"], r["exit_code"]) for r in rows] == [
        (ids[0], "moved", "0"), (ids[1], "refused", "4")]


def test_refusals_of_one_kind_exit_with_that_code(
    campaign: Campaign, db_url: str, items: dict[str, list[int]]
) -> None:
    # leader2 is no principal: every forward is refused for permission, exit 3.
    result = run(db_url, "do", "--bulk", "--state", "review", "forward", "--json",
                 user="leader2")
    assert result.exit_code == 3, result.output
    assert {r["exit_code"] for r in json.loads(result.stdout)} == {3}
    assert "(exit 3: every refusal's code)" in stderr_line(result)
    assert len(campaign.audit.refusals()) == 4  # each attempt noted, in its own move


def test_the_comment_goes_with_every_move_and_a_return_still_needs_one(
    campaign: Campaign, db_url: str, items: dict[str, list[int]]
) -> None:
    refused = run(db_url, "do", "--bulk", "--owner", "leader1", "return", "--json")
    assert refused.exit_code == 4
    assert all("reason" in r["error"] for r in json.loads(refused.stdout))
    result = run(db_url, "do", "--bulk", "--owner", "leader1", "return", "--comment", "补充事例")
    assert result.exit_code == 0, result.output
    for item in items["review"]:
        assert campaign.reads.history(item)[-1].comment == "补充事例"


# -- refused before anything is fired ------------------------------------------------------


@pytest.mark.parametrize(("text", "fragment"), [
    ("1\nabc\n2\n", "line 2: 'abc' is not a deliverable id"),
    ("1\n2 3\n", "line 2: '2 3'"),
    ("1\n-4\n", "line 2: '-4'"),
    ("1\n2\n1\n", "line 3: id 1 repeats line 1"),
])
def test_a_bad_id_file_writes_nothing(
    db_url: str, tmp_path: Path, items: dict[str, list[int]], text: str,
    fragment: str
) -> None:
    before, refusals = snapshot(db_url), refusal_count(db_url)
    result = run(db_url, "do", "--bulk", id_file(tmp_path, text), "forward")
    assert result.exit_code == 7, result.output
    assert result.stdout == ""
    line = stderr_line(result)
    assert fragment in line and "nothing was fired" in line
    assert snapshot(db_url) == before and refusal_count(db_url) == refusals


@pytest.mark.parametrize("args", [
    ("do", "--bulk", "{file}", "forward", "--if-version", "2"),
    ("do", "--bulk", "forward"),  # no ids at all
    ("do", "--bulk", "{file}", "forward", "--state", "review"),  # both sources
    ("do", "1", "forward", "--state", "review"),  # a filter without --bulk
    ("do", "--bulk", "{file}", "forward", "--json", "--format", "csv"),
])
def test_usage_errors_write_nothing(
    db_url: str, tmp_path: Path, items: dict[str, list[int]],
    args: tuple[str, ...]
) -> None:
    path = id_file(tmp_path, f"{items['review'][0]}\n")
    before = snapshot(db_url)
    result = run(db_url, *(str(path) if a == "{file}" else a for a in args))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    stderr_line(result)
    assert snapshot(db_url) == before


def test_if_version_refusal_names_the_reason(
    db_url: str, tmp_path: Path, items: dict[str, list[int]]
) -> None:
    result = run(db_url, "do", "--bulk", id_file(tmp_path, "1\n"), "forward",
                 "--if-version", "2")
    assert "--if-version cannot go with --bulk" in stderr_line(result)


def test_a_missing_id_file_is_not_found(db_url: str, tmp_path: Path) -> None:
    result = run(db_url, "do", "--bulk", tmp_path / "nope.txt", "forward")
    assert result.exit_code == 6
    assert "nope.txt" in stderr_line(result)


# -- the single form and the progress bar -----------------------------------------------


def test_the_single_form_is_unchanged(db_url: str, items: dict[str, list[int]]) -> None:
    item = items["review"][0]
    result = run(db_url, "do", item, "forward")
    assert result.exit_code == 0
    assert result.stdout == f"#{item} review --forward--> supervisor_approval (event " \
        f"{result.stdout.split('event ')[1]}"
    missing = run(db_url, "do", item)
    assert missing.exit_code == 2 and "Missing argument 'TRIGGER'" in missing.stderr
    assert "Invalid value for 'ID'" in run(db_url, "do", "one", "forward").stderr


def test_progress_bar_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, db_url: str, items: dict[str, list[int]]
) -> None:
    quiet = run(db_url, "do", "--bulk", "--state", "review", "--owner", "leader1", "forward")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    monkeypatch.setattr("workflow.cli.bulk.terminal", lambda: True)
    cli_clock(monkeypatch)  # approve opens a publicity window: on a day the calendar knows
    shown = run(db_url, "do", "--bulk", "--state", "supervisor_approval", "approve",
                user="sup1")
    assert shown.exit_code == 0, shown.output
    assert shown.stderr != ""  # the bar was drawn (and cleared) on stderr
    assert shown.stdout.splitlines()[0] == "approve: 3 of 3 deliverables moved, 0 refused"


# -- the Python API ------------------------------------------------------------------------


def test_fire_many_reports_each_outcome_as_it_comes(
    campaign: Campaign, items: dict[str, list[int]]
) -> None:
    heard: list[Any] = []
    ids = [*items["review"], items["own"][0]]
    result = campaign.moves.fire_many(PRINCIPAL, ids, "forward", "同意", on_each=heard.append)
    assert [o.deliverable_id for o in result.outcomes] == ids
    assert list(result.outcomes) == heard
    assert [o.moved for o in result.outcomes] == [True, True, True, False]
    assert isinstance(result.refused[0].error, PermissionDenied)
    assert result.exit_code == 3
    assert [o.event.comment for o in result.moved if o.event] == ["同意"] * 3
    with pytest.raises(InvalidInput, match="ids repeat: 1"):
        campaign.moves.fire_many(PRINCIPAL, [1, 2, 1], "forward")


def test_a_batch_of_moves_commits_once_and_a_refusal_undoes_only_its_own_move(
    campaign: Campaign, backend: str, items: dict[str, list[int]]
) -> None:
    ids = [*items["review"][:2], items["own"][0], items["review"][2], *items["draft"]]
    # The statements are counted as SQLite's driver traces them; psycopg has no
    # such trace, so on PostgreSQL only what the batches leave behind is checked.
    traced = driver_trace(campaign.store.engine) if backend == "sqlite" else nullcontext(None)
    with traced as statements:
        result = campaign.moves.fire_many(PRINCIPAL, ids, "forward", "同意", batch=3)
    if statements is not None:
        assert statements.count("BEGIN IMMEDIATE") == 2  # batches of 3 and 2
        assert statements.count("COMMIT") == 2
    assert [o.moved for o in result.outcomes] == [True, True, False, True, False]
    assert [o.deliverable_id for o in result.moved] == items["review"]
    assert [len(forwards(campaign, i)) for i in ids] == [1, 1, 0, 1, 0]
    assert [r.actor for r in campaign.audit.refusals()] == [PRINCIPAL]
    campaign.audit.verify()


def test_only_moves_run_inside_a_batch(campaign: Campaign) -> None:
    with campaign.store.batch(), pytest.raises(InvalidInput, match="only moves"):
        campaign.people.add_user("office1", "newcomer", "新人", ["member"], "机关")
    with campaign.store.batch(), pytest.raises(InvalidInput, match="cannot open another"), \
            campaign.store.batch():
        pass


def test_a_database_error_stops_the_run_and_skips_the_rest() -> None:
    def fire(deliverable_id: int) -> EventView:
        raise DatabaseBusy("campaign.db", 10)

    heard: list[Any] = []
    result = fire_each(fire, "forward", [1, 2, 3], heard.append)
    assert [o.deliverable_id for o in result.outcomes] == [1]
    assert list(result.outcomes) == heard
    assert result.skipped == (2, 3)
    assert result.exit_code == 9


def test_ctrl_c_during_a_bulk_move_keeps_the_committed_batches_and_says_so(
        campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the middle of the second batch: the first batch stays made,
    the open one is undone, the rest are not attempted, and the result says
    so with exit 130 (the CLI prints its summary from it)."""
    ids = [drive(campaign, "self_review").id for _ in range(5)]
    owner = campaign.reads.get(ids[0]).owner
    fire = campaign.moves.fire

    def interrupted_at_the_fourth(actor: str | None, item: int, *args: Any, **kw: Any) -> Any:
        if item == ids[3]:
            raise KeyboardInterrupt
        return fire(actor, item, *args, **kw)

    monkeypatch.setattr(campaign.moves, "fire", interrupted_at_the_fourth)
    result = campaign.moves.fire_many(owner, ids, "submit", batch=2)
    assert [o.deliverable_id for o in result.moved] == ids[:2]
    assert result.skipped == tuple(ids[2:])
    assert isinstance(result.stopped, Interrupted) and result.exit_code == 130
    assert [campaign.reads.get(i).state for i in ids] == ["review"] * 2 + ["draft"] * 3
    campaign.audit.verify()
