"""``make bench``: print ONE JSON object with the engine's performance figures.

1. Transitions per second that are persisted, permission-checked and audited,
   fired through the engine's Python API (``workflow.Campaign``) on SQLite,
   against the same work done with raw ``sqlite3`` in the same run: per
   transition one ``BEGIN IMMEDIATE`` transaction holding a compare-and-set
   UPDATE of the deliverable and the INSERT of a hash-chained audit row, under
   the same ``journal_mode=WAL`` and ``synchronous=FULL``.  Target: the engine
   reaches at least a quarter of raw SQLite's rate.
2. Start-up: ``campaign --help`` against ``python -c "import click"`` (median
   wall time of several runs each).  Target: at most 1.5 times slower.
3. ``audit verify`` (``audit_verify.py``): events per second against plain
   sha256 of the same canonical bytes in a loop, and the verifying process's
   peak memory.  Target: 0.8, under 100 MB at 5 M events.
4. Bulk (``bulk_approval.py``): 10,000 deliverables moved by one bulk move,
   against raw ``executemany`` of the same rows.  Target: 0.3.
5. PostgreSQL (``pg_writers.py``): audited transitions per second with one
   writer and with eight writers on deliverables of their own.  Target: 2x.
6. Scale (``scale.py``): 1,000,000 deliverables and about 5,000,000 audit
   events made by a documented loader (``scale_loader.py``, cached in
   ``bench/.cache/``) whose chain ``audit verify`` accepts; the query time of
   the inbox, ``list --overdue``, the report's tallies, the diagram's counts
   and ``phase status`` through the Python API, with their query plans, and
   the peak memory of each command as a process.  Targets: 100 ms, 200 MB,
   no full scan.

7. Served pages (``web_load.py``): 50 simulated reviewers on loopback for
   60 s against ``campaign serve`` (one worker, SQLite) — sign in once, then
   inbox, a deliverable, its diagram, now and then a move — with p50/p95 page
   time, pages per second and errors, against the same pages' reads through
   the Python API replayed in one process; then on PostgreSQL with two
   workers.  Target: no server error, p95 page time within one second.

Both databases live in one fresh temporary directory, so they share the disk
and its fsync cost.  Rounds alternate engine and raw so that a noisy neighbour
hurts both; the median round is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit_verify import audit_verify  # noqa: E402
from bulk_approval import bulk_approval  # noqa: E402
from pg_writers import pg_writers  # noqa: E402
from scale import scale  # noqa: E402
from web_load import web_load  # noqa: E402
from workload import CYCLE, CYCLES, DELIVERABLES, ROUNDS, engine_round, engine_setup  # noqa: E402

from workflow.store.audit import GENESIS, HASHED_FIELDS  # noqa: E402

STARTUP_RUNS = 15
TARGET_MIN_RATIO = 0.25
TARGET_MAX_STARTUP = 1.5


# -- 1. transitions ----------------------------------------------------------------


_COLUMNS = ", ".join(f'"{name}" TEXT' for name in HASHED_FIELDS if name != "seq")
RAW_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS deliverable (
    id INTEGER PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_event (
    seq INTEGER PRIMARY KEY, {_COLUMNS}, hash TEXT NOT NULL UNIQUE);
"""
RAW_INSERT = (
    f"INSERT INTO audit_event ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in HASHED_FIELDS)}, hash) "
    f"VALUES ({', '.join('?' * (len(HASHED_FIELDS) + 1))})"
)
RAW_MOVES = {"submit": ("draft", "review", "leader"), "return": ("review", "draft", "principal")}


class Raw:
    """The floor: what one audited, compare-and-set transition costs in bare sqlite3."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(RAW_SCHEMA)
        self.db.executemany(
            "INSERT INTO deliverable (id, state, version, updated_at) VALUES (?, 'draft', 1, '')",
            [(n,) for n in range(1, DELIVERABLES + 1)],
        )
        self.versions = dict.fromkeys(range(1, DELIVERABLES + 1), 1)
        self.seq, self.prev = 0, GENESIS
        self.revision = hashlib.sha256(b"# content\n").hexdigest()

    def fire(self, actor: str, item: int, trigger: str, comment: str | None) -> None:
        source, dest, role = RAW_MOVES[trigger]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        version = self.versions[item]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            moved = self.db.execute(
                "UPDATE deliverable SET state = ?, version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ?", (dest, now, item, version)).rowcount
            if moved != 1:
                raise RuntimeError(f"conflict on {item}")
            fields: dict[str, Any] = {
                "seq": self.seq + 1, "at": now, "actor": actor, "role": role,
                "action": "transition", "deliverable_id": item, "trigger": trigger,
                "source": source, "dest": dest, "comment": comment,
                "revision": self.revision, "detail": None, "sealed": None,
                "channel": "api", "os_user": "bench", "host": "bench", "prev_hash": self.prev,
            }
            digest = hashlib.sha256(json.dumps(
                {name: fields[name] for name in HASHED_FIELDS}, sort_keys=True,
                ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()
            self.db.execute(RAW_INSERT, (*(fields[n] for n in HASHED_FIELDS), digest))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.versions[item] = version + 1
        self.seq, self.prev = fields["seq"], digest


def raw_round(raw: Raw) -> tuple[int, float]:
    fired = 0
    start = time.perf_counter()
    for _ in range(CYCLES):
        for item in range(1, DELIVERABLES + 1):
            for actor, trigger, comment in CYCLE:
                raw.fire(actor, item, trigger, comment)
                fired += 1
    return fired, time.perf_counter() - start


def transitions(directory: Path) -> dict[str, Any]:
    campaign, items = engine_setup(directory)
    raw = Raw(directory / "raw.db")
    engine_rates, raw_rates = [], []
    for _ in range(ROUNDS):
        fired, seconds = engine_round(campaign, items)
        engine_rates.append(fired / seconds)
        fired, seconds = raw_round(raw)
        raw_rates.append(fired / seconds)
    report = campaign.audit.verify()  # everything the engine wrote is a valid chain
    campaign.store.engine.dispose()
    raw.db.close()
    engine_rate, raw_rate = statistics.median(engine_rates), statistics.median(raw_rates)
    ratio = engine_rate / raw_rate
    return {
        "engine_per_s": round(engine_rate, 1),
        "raw_sqlite_per_s": round(raw_rate, 1),
        "ratio": round(ratio, 3),
        "target_min": TARGET_MIN_RATIO,
        "met": ratio >= TARGET_MIN_RATIO,
        "transitions_per_round": 2 * DELIVERABLES * CYCLES,
        "rounds": ROUNDS,
        "engine_rounds_per_s": [round(r, 1) for r in engine_rates],
        "raw_rounds_per_s": [round(r, 1) for r in raw_rates],
        "engine_events_verified": report.events,
        "cycle": "self_review: submit (owner leader1) / return with comment (principal1)",
        "sqlite": {"version": sqlite3.sqlite_version, "journal_mode": "WAL",
                   "synchronous": "FULL"},
    }


# -- 2. start-up -----------------------------------------------------------------------


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def startup() -> dict[str, Any]:
    script = Path(sys.executable).parent / "campaign"
    campaign_help = [str(script), "--help"] if script.exists() else [
        sys.executable, str(ROOT / "cli.py"), "--help"]
    import_click = [sys.executable, "-c", "import click"]
    wall(campaign_help), wall(import_click)  # warm the page cache and bytecode
    help_times, click_times = [], []
    for _ in range(STARTUP_RUNS):  # interleaved, so drift in load hits both alike
        help_times.append(wall(campaign_help))
        click_times.append(wall(import_click))
    help_s, click_s = statistics.median(help_times), statistics.median(click_times)
    ratio = help_s / click_s
    return {
        "campaign_help_s": round(help_s, 4),
        "import_click_s": round(click_s, 4),
        "ratio": round(ratio, 3),
        "target_max": TARGET_MAX_STARTUP,
        "met": ratio <= TARGET_MAX_STARTUP,
        "runs": STARTUP_RUNS,
    }


def timed(step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    start = time.perf_counter()
    result = step()
    result["bench_seconds"] = round(time.perf_counter() - start, 2)
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT) as tmp:
        moves = timed(lambda: transitions(Path(tmp)))
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT) as tmp:
        verify = timed(lambda: audit_verify(Path(tmp)))
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT) as tmp:
        bulk = timed(lambda: bulk_approval(Path(tmp)))
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT) as tmp:
        writers = timed(lambda: pg_writers(Path(tmp)))
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT) as tmp:
        at_scale = timed(lambda: scale(Path(tmp)))
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=ROOT) as tmp:
        served = timed(lambda: web_load(Path(tmp)))
    output = {
        "machine": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),  # others' work skews both
        },
        "transitions": moves,
        "startup": timed(startup),
        "audit_verify": verify,
        "bulk_move": bulk,
        "postgresql_writers": writers,
        "scale": at_scale,
        "web_load": served,
    }
    print(json.dumps(output, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
