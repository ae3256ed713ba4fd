"""The engine on a real PostgreSQL server (issue 11): the Python API, the
command line through a whole campaign, tamper detection, refusals, and
racing writers.  The cluster is a throw-away one (``tests/pg_cluster.py``);
these tests are skipped, saying why, only where no server can start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drive import complete_content
from plan_helpers import PLAN
from test_python_api import api_example

from workflow import AuditVerificationFailed, Campaign, PermissionDenied
from workflow.spec.roster import read_roster

REPO = Path(__file__).resolve().parent.parent
PEOPLE = (("office1", "王敏", ["office"], "群教办"), ("leader1", "张副主席", ["leader"], "党组"),
          ("principal1", "李书记", ["principal"], "党组"))


def cli(url: str, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, user: str = "wangmin") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CAMPAIGN_DB": url, "CAMPAIGN_USER": user, "COLUMNS": "120"}
        return subprocess.run([sys.executable, "-m", "workflow.cli.main", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120,
                              check=False)
    return run


@pytest.fixture
def pg(pg_url: str) -> Campaign:
    campaign = Campaign.open(pg_url)
    campaign.deliverables.init(actor="office1")
    for user_id, name, roles, unit in PEOPLE:
        campaign.people.add_user("office1", user_id, name, roles, unit)
    return campaign


def submitted(campaign: Campaign) -> int:
    spec = campaign.registry.definition("self_review")
    item = campaign.deliverables.create("leader1", "self_review", "材料",
                                        content=complete_content(spec))
    campaign.moves.fire("leader1", item.id, "submit")
    return item.id


def sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else []


def test_the_readme_python_api_example_runs_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    code = api_example().replace('"sqlite:///api-example.db"', repr(pg_url))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "draft"


@pytest.mark.slow  # a campaign's commands, each a process of its own
def test_a_campaign_runs_on_postgresql_from_the_command_line(
    pg_url: str, tmp_path: Path
) -> None:
    run = cli(pg_url, tmp_path)
    assert run("init").returncode == 0
    people = REPO / "examples" / "people.csv"
    started = run("start", "mianyang-2014", "--roster", str(people))
    assert started.returncode == 0, started.stderr
    listed = json.loads(run("list", "--json").stdout)
    assert len(listed) == PLAN.spec.required_count([p.roles for p in read_roster(people)])
    assert run("inbox").returncode == 0
    for command in (("report",), ("phase", "status"), ("diagram", "--counts", "self_review",
                                                        "--format", "dot")):
        done = run(*command)
        assert done.returncode == 0, (command, done.stderr)
    verified = run("audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("ok"), verified.stderr
    assert len(run("audit", "export", "--format", "jsonl").stdout.splitlines()) > 24


def test_a_refusal_on_postgresql_is_noted_and_changes_nothing(pg: Campaign, pg_url: str) -> None:
    item = submitted(pg)
    before = sql(pg_url, "SELECT id, state, version FROM deliverable ORDER BY id")
    events = sql(pg_url, "SELECT count(*) FROM audit_event")
    with pytest.raises(PermissionDenied):
        pg.moves.fire("leader1", item, "forward")
    assert sql(pg_url, "SELECT id, state, version FROM deliverable ORDER BY id") == before
    assert sql(pg_url, "SELECT count(*) FROM audit_event") == events
    assert [(r.actor, r.action) for r in pg.audit.refusals()] == [("leader1", "forward")]
    pg.audit.verify()


@pytest.mark.parametrize("edit, named", [
    ("UPDATE deliverable SET state = 'archived'", "deliverable"),
    ("UPDATE revision SET content = convert_to('篡改', 'UTF8')", "revision"),
    ("UPDATE user_role SET role = 'office' WHERE user_id = 'leader1'", "role"),
    ("ALTER TABLE audit_event DISABLE TRIGGER USER; "
     "UPDATE audit_event SET comment = 'x' WHERE seq = 2", "event 2"),
])
def test_an_edit_outside_the_engine_is_caught_on_postgresql(
    pg: Campaign, pg_url: str, edit: str, named: str
) -> None:
    submitted(pg)
    pg.audit.verify()
    sql(pg_url, edit)
    with pytest.raises(AuditVerificationFailed, match=named):
        pg.audit.verify()


@pytest.mark.parametrize("edit", [
    "UPDATE audit_event SET comment = 'x' WHERE seq = 2",
    "DELETE FROM audit_event WHERE seq = 2",
    "TRUNCATE audit_event",
])
def test_the_audit_log_is_append_only_on_postgresql(pg: Campaign, pg_url: str, edit: str) -> None:
    submitted(pg)
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        sql(pg_url, edit)
    pg.audit.verify()


RACER = r"""
import json, random, sys, time
from workflow import Campaign, CampaignError
url, seconds, ids = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
campaign = Campaign.open(url)
moves = {"draft": ("leader1", "submit", None), "review": ("principal1", "return", "请补充")}
outcomes = {}
end = time.monotonic() + seconds
while time.monotonic() < end:
    item = campaign.reads.get(random.choice(ids))
    actor, trigger, comment = moves[item.state]
    try:
        campaign.moves.fire(actor, item.id, trigger, comment, item.version)
        key = "ok"
    except CampaignError as error:
        key = str(error.exit_code)
    outcomes[key] = outcomes.get(key, 0) + 1
print(json.dumps(outcomes))
"""


@pytest.mark.slow
def test_eight_writers_on_postgresql_lose_no_update_and_leave_a_chain_that_verifies(
    pg: Campaign, pg_url: str, tmp_path: Path
) -> None:
    """Eight processes for 30 s on six shared deliverables: every move that
    went through is one event and one version, and the losers were told why."""
    spec = pg.registry.definition("self_review")
    ids = [pg.deliverables.create("leader1", "self_review", f"材料{n}",
                                  content=complete_content(spec)).id for n in range(6)]
    racers = [subprocess.Popen([sys.executable, "-c", RACER, pg_url, "30", json.dumps(ids)],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
              for _ in range(8)]
    totals: dict[str, int] = {}
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0 and "Traceback" not in err, err
        for key, count in json.loads(out).items():
            totals[key] = totals.get(key, 0) + count
    assert set(totals) <= {"ok", "4", "5"}
    moved = sql(pg_url, "SELECT count(*) FROM audit_event WHERE action = 'transition'")[0][0]
    assert totals["ok"] == moved > 0
    for item in ids:
        transitions = len(pg.reads.path(item))
        assert pg.reads.get(item).version == 1 + transitions
    assert pg.audit.verify().events == len(pg.audit.events())


# -- chains: writers of different units do not queue behind one head ------------------


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    return thread, done


def test_a_batch_holds_every_unit_it_names_from_its_start(pg: Campaign, pg_url: str) -> None:
    """Two bulk runs over the same units in opposite orders used to deadlock
    (each holding one unit's chain and waiting for the other's).  A batch now
    holds all its units before its first move, in one shared order: a move in
    a unit the batch names but has not reached yet waits for the batch."""
    pg.people.add_user("office1", "leader3", "赵部长", ["leader"], "保障部")
    spec = pg.registry.definition("self_review")
    mine = pg.deliverables.create("leader1", "self_review", "党组的材料",
                                  content=complete_content(spec)).id
    theirs, later = (pg.deliverables.create("leader3", "self_review", f"保障部的材料{n}",
                                            content=complete_content(spec)).id for n in (1, 2))
    elsewhere = Campaign.open(pg_url)
    with pg.store.batch([mine, theirs]):
        pg.moves.fire("leader1", mine, "submit")  # 保障部 not touched yet
        waiting, done = _in_thread(lambda: elsewhere.moves.fire("leader3", later, "submit"))
        waiting.join(timeout=1.5)
        assert not done, "a move in a unit the open batch names went ahead of it"
        pg.moves.fire("leader3", theirs, "submit")
    waiting.join(timeout=30)
    assert done
    pg.audit.verify()
    elsewhere.store.engine.dispose()


def test_a_move_in_another_unit_does_not_wait_for_an_open_one(pg: Campaign, pg_url: str) -> None:
    """A batch holding a move of 党组 open: a move of 保障部 goes through at
    once, a second move of 党组 and a role change wait for the batch to commit
    — and afterwards the log's order is the order they happened in."""
    pg.people.add_user("office1", "leader3", "赵部长", ["leader"], "保障部")
    pg.people.add_user("office1", "member1", "赵一", ["member"], "保障部")
    spec = pg.registry.definition("self_review")
    first, second = (pg.deliverables.create("leader1", "self_review", f"材料{n}",
                                            content=complete_content(spec)).id for n in (1, 2))
    other = pg.deliverables.create("leader3", "self_review", "保障部的材料",
                                   content=complete_content(spec)).id
    elsewhere = Campaign.open(pg_url)
    with pg.store.batch():
        pg.moves.fire("leader1", first, "submit")
        quick, quick_done = _in_thread(lambda: elsewhere.moves.fire("leader3", other, "submit"))
        quick.join(timeout=30)
        assert quick_done, "a move in another unit waited for the open one"
        same, same_done = _in_thread(lambda: elsewhere.moves.fire("leader1", second, "submit"))
        grant, grant_done = _in_thread(
            lambda: elsewhere.people.grant_role("office1", "member1", "leader"))
        same.join(timeout=1.5)
        grant.join(timeout=0.5)
        assert not same_done and not grant_done  # both queue behind the open batch
    same.join(timeout=30)
    grant.join(timeout=30)
    assert same_done and grant_done
    chains = dict(sql(pg_url, "SELECT chain, count(*) FROM audit_event GROUP BY chain"))
    assert chains["unit:保障部"] == 2 and chains["unit:党组"] == 4  # creations and submits
    seq = {(e.action, e.deliverable_id): e.seq for e in pg.audit.events()}
    assert seq[("role.grant", None)] > seq[("transition", first)]
    pg.audit.verify()
    elsewhere.store.engine.dispose()
