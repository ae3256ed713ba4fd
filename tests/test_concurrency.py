"""Racing writers: separate processes fire at the same moment.

Each racer is a fresh ``python -c`` process that imports only the engine, opens
the database, warms up, says it is ready, and waits for a start file; the test
creates the start file once every racer is ready, so they all fire together.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import driver_trace, snapshot
from drive import COMMENT, actor_for, drive, shortest_path, window_rule, working_days_after

from workflow import Campaign

RACERS = 6
DAY = date(2014, 6, 16)  # the day the racers' deliverables enter publicity

RACER = r"""
import json, os, sys, time
from datetime import date, datetime, time as noon_time
from workflow import Campaign
from workflow.store.clock import campaign_zone
from workflow.errors import CampaignError

args = json.loads(sys.argv[1])
campaign = Campaign.open(args["db_url"])
for move in args["moves"]:
    campaign.registry.definition_for(campaign.reads.get(move["id"]))  # warm up: connection, spec
open(args["ready"], "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(args["go"]):
    if time.monotonic() > deadline:
        sys.exit("never started")
    time.sleep(0.0005)
results = []
for move in args["moves"]:
    try:
        if move.get("today"):  # writes take their day from the engine's clock
            day = date.fromisoformat(move["today"])
            campaign.store.clock = lambda day=day: datetime.combine(day, noon_time(12),
                                                              tzinfo=campaign_zone())
        event = campaign.moves.fire(move["actor"], move["id"], move["trigger"], args["comment"],
                              expected_version=move.get("expected_version"))
        results.append({"code": 0, "seq": event.seq, "dest": event.dest})
    except CampaignError as error:
        results.append({"code": error.exit_code, "error": type(error).__name__,
                        "message": str(error)})
    except Exception as error:  # "database is locked" and the like: never acceptable
        results.append({"code": -1, "error": type(error).__name__, "message": str(error)})
campaign.store.engine.dispose()
print(json.dumps(results))
"""


Plan = list[dict[str, Any]]


def race(db_url: str, tmp_path: Path, plans: list[Plan]) -> list[list[dict[str, Any]]]:
    """Start one process per plan, release them together, return each one's results."""
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(len(plans))]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RACER,
             json.dumps({"db_url": db_url, "moves": moves, "ready": str(ready[i]),
                         "go": str(go), "comment": COMMENT})],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        )
        for i, moves in enumerate(plans)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in ready):
            assert time.monotonic() < deadline, "racers never got ready"
            assert all(p.poll() is None for p in processes), "a racer died while warming up"
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=60) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, err
    return [json.loads(out) for out, _ in outputs]


def chain(db_path: Path) -> list[tuple[int, str | None, int | None]]:
    with sqlite3.connect(db_path) as raw:
        return raw.execute(
            "SELECT seq, trigger, deliverable_id FROM audit_event ORDER BY seq").fetchall()


@pytest.mark.parametrize(("expect_version", "loser_code"), [(False, 4), (True, 5)],
                         ids=["no-expected-version", "expected-version"])
def test_only_one_of_many_racers_moves_the_deliverable(
    campaign: Campaign, db_url: str, db_path: Path, tmp_path: Path,
    expect_version: bool, loser_code: int,
) -> None:
    """Six supervisors approve the same deliverable at once: one wins; the rest find it
    already moved (TransitionNotAllowed) or, if they named the version they saw, a
    Conflict.  Never 'database is locked', never two approvals."""
    item = drive(campaign, "self_review", "supervisor_approval")
    before = snapshot(db_path)
    # approve opens a publicity window: dated, so as not to count working days on
    # the real day (which may be in a year the calendar does not know yet)
    move = {"id": item.id, "trigger": "approve", "today": DAY.isoformat()}
    if expect_version:
        move["expected_version"] = item.version
    plans = [[{**move, "actor": ("sup1", "sup2")[i % 2]}] for i in range(RACERS)]

    results = [r[0] for r in race(db_url, tmp_path, plans)]

    codes = sorted(r["code"] for r in results)
    assert codes == [0] + [loser_code] * (RACERS - 1), results
    winner = next(r for r in results if r["code"] == 0)
    after = campaign.reads.get(item.id)
    assert (after.state, after.version) == ("publicity", item.version + 1)
    events = chain(db_path)
    assert len(events) == len(before.events) + 1
    assert events[-1] == (winner["seq"], "approve", item.id)
    campaign.audit.verify()


def test_racers_on_different_deliverables_all_succeed(
    campaign: Campaign, db_url: str, db_path: Path, tmp_path: Path
) -> None:
    """Each racer walks its own deliverable from draft to archived while the others do
    the same: every write waits its turn (BEGIN IMMEDIATE + busy timeout) and lands.
    Every move is dated: publicity opens on DAY, archiving is dated after its window."""
    spec = campaign.registry.definition("self_review")
    assert spec.publicity is not None
    path = shortest_path(spec, "archived")
    items = [drive(campaign, "self_review") for _ in range(RACERS)]
    before = snapshot(db_path)
    after_window = working_days_after(DAY, spec.publicity.working_days) + timedelta(days=1)
    days = {t.trigger: (after_window if window_rule(spec, t.trigger, source) else DAY)
            for t, source in zip(path, [spec.initial, *(t.dest for t in path)], strict=False)}
    plans = [
        [{"id": item.id, "trigger": t.trigger, "actor": actor_for(t, item.owner),
          "today": days[t.trigger].isoformat()} for t in path]
        for item in items
    ]

    results = race(db_url, tmp_path, plans)

    failures = [r for rs in results for r in rs if r["code"] != 0]
    assert not failures, failures
    events = chain(db_path)
    assert [e[0] for e in events] == list(range(1, len(events) + 1)), "a gap in the chain"
    assert len(events) == len(before.events) + RACERS * len(path)
    new = events[len(before.events):]
    assert sorted(r["seq"] for rs in results for r in rs) == [e[0] for e in new]
    for item in items:
        after = campaign.reads.get(item.id)
        assert (after.state, after.version) == ("archived", item.version + len(path))
        assert [trigger for _, trigger,
                _ in campaign.reads.path(item.id)] == [t.trigger for t in path]
        (window,) = campaign.reads.windows(item.id)
        assert (window.opened_on, window.outcome) == (DAY, "ended")
    report = campaign.audit.verify()
    assert report.events == len(events)


def test_a_writer_waits_for_the_lock_instead_of_failing(
    campaign: Campaign, db_path: Path
) -> None:
    item = drive(campaign, "self_review")
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        time.sleep(0.5)
        holder.execute("COMMIT")
        released.set()

    thread = threading.Thread(target=release)
    started = time.monotonic()
    thread.start()
    try:
        event = campaign.moves.fire(item.owner, item.id, "submit", COMMENT)
    finally:
        thread.join()
        holder.close()
    assert released.is_set()
    assert time.monotonic() - started >= 0.4
    assert event.dest == "review"


# -- the settings that make the above true ------------------------------------------


def test_engine_connections_have_the_durable_pragmas(campaign: Campaign, db_path: Path) -> None:
    campaign.reads.get(drive(campaign, "self_review").id)
    with campaign.store.engine.connect() as connection:
        def pragma(name: str) -> Any:
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert str(pragma("journal_mode")).lower() == "wal"
        assert pragma("synchronous") == 2  # FULL
        assert pragma("busy_timeout") > 0
        assert pragma("foreign_keys") == 1
    with sqlite3.connect(db_path) as raw:  # WAL is a property of the file, for every client
        assert raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"


@pytest.mark.sqlite_only("BEGIN IMMEDIATE, as SQLite's driver traces it (driver_trace)")
def test_writes_take_the_lock_first(campaign: Campaign) -> None:
    """Every write transaction starts with BEGIN IMMEDIATE, before it reads anything."""
    item = drive(campaign, "self_review")
    with driver_trace(campaign.store.engine) as statements:
        campaign.moves.fire(item.owner, item.id, "submit", COMMENT)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins and begins[0] == "BEGIN IMMEDIATE"
    assert statements.index("BEGIN IMMEDIATE") < min(
        i for i, s in enumerate(statements) if s.startswith("SELECT"))
