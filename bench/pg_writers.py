"""Figure 4: audited transitions per second on PostgreSQL, with one writer and
with eight writers each on deliverables of its own (as units of a province
would be), and their ratio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_cluster import NoServer, cluster  # noqa: E402
from workload import engine_setup  # noqa: E402

SECONDS = 10.0
WRITERS = 8
TARGET_MIN_RATIO = 2.0

# One writer: rounds of the bench's cycle on its own deliverables for at least
# SECONDS; prints how many moves it made and in how long.
_WRITER = r"""
import json, sys
from workflow import Campaign
from workload import engine_round
url, seconds, ids = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
campaign = Campaign.open(url)
fired, spent = 0, 0.0
while spent < seconds:
    moves, elapsed = engine_round(campaign, ids)
    fired, spent = fired + moves, spent + elapsed
print(json.dumps({"fired": fired, "seconds": spent}))
"""


def _rate(url: str, groups: list[list[int]]) -> float:
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, url, str(SECONDS),
                                 json.dumps(ids)], stdout=subprocess.PIPE, text=True, env=env)
               for ids in groups]
    reports = [json.loads(w.communicate(timeout=300)[0]) for w in writers]
    return sum(r["fired"] for r in reports) / max(r["seconds"] for r in reports)


def pg_writers(directory: Path) -> dict[str, Any]:
    try:
        with cluster() as server:
            url = server.create_database("bench")
            campaign, items = engine_setup(directory, url, units=WRITERS)
            campaign.store.engine.dispose()
            per_writer = [items[n::WRITERS] for n in range(WRITERS)]  # one unit each
            one = _rate(url, [items])
            eight = _rate(url, per_writer)
    except NoServer as why:
        return {"skipped": f"no PostgreSQL server could start: {why}"}
    ratio = eight / one
    return {
        "one_writer_per_s": round(one, 1),
        "eight_writers_per_s": round(eight, 1),
        "ratio": round(ratio, 2),
        "target_min": TARGET_MIN_RATIO,
        "met": ratio >= TARGET_MIN_RATIO,
        "seconds_each": SECONDS,
        "limit": None if ratio >= TARGET_MIN_RATIO else (
            "each unit's moves go into its own audit chain, so writers of different units "
            "no longer queue behind one head; what is left is this machine: two cores for "
            "eight Python writers and the server, each move a transaction with its own "
            "commit (fsync)"),
    }
