"""Figure 2: ``audit verify`` in events per second, against plain sha256 of the
same canonical bytes in a loop (the least any verification must do), and the
peak memory of the verifying process."""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workload import engine_round, engine_setup

from workflow import Campaign
from workflow.store import audit

ROUNDS = 40  # 400 transitions each
TARGET_MIN_RATIO = 0.8
TARGET_MAX_MB = 100

# Run in a process of its own, so that its peak memory is the verification's.
_VERIFY = """
import json, resource, sys, time
from workflow import Campaign
campaign = Campaign.open(sys.argv[1])
start = time.perf_counter()
report = campaign.audit.verify()
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"events": report.events, "seconds": seconds, "peak_kb": peak_kb}))
"""


def _anchors(campaign: Campaign) -> tuple[float, float]:
    """Seconds to sha256 every event's canonical bytes made beforehand (the
    issue's anchor); and to make those bytes from the loaded events and hash
    them (the least a check of the chain alone does)."""
    events = [e.model_dump() for e in campaign.audit.events()]
    start = time.perf_counter()
    blobs = [audit.canonical(e) for e in events]
    made = time.perf_counter()
    for blob in blobs:
        hashlib.sha256(blob).hexdigest()
    hashed = time.perf_counter()
    return hashed - made, hashed - start


def audit_verify(directory: Path) -> dict[str, Any]:
    campaign, items = engine_setup(directory)
    for _ in range(ROUNDS):
        engine_round(campaign, items)
    url = f"sqlite:///{directory / 'engine.db'}"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _VERIFY, url], capture_output=True, text=True,
                          check=True, cwd=root, env={"PYTHONPATH": str(root)})
    verified = json.loads(done.stdout)
    anchor_s, chain_s = _anchors(campaign)
    events = verified["events"]
    ratio = (events / verified["seconds"]) / (events / anchor_s)
    peak_mb = verified["peak_kb"] / 1024
    campaign.store.engine.dispose()
    return {
        "events": events,
        "verify_events_per_s": round(events / verified["seconds"], 1),
        "sha256_events_per_s": round(events / anchor_s, 1),
        "canonical_and_sha256_events_per_s": round(events / chain_s, 1),
        "ratio": round(ratio, 4),
        "target_min": TARGET_MIN_RATIO,
        "met": ratio >= TARGET_MIN_RATIO,
        "verify_peak_mb": round(peak_mb, 1),
        "target_max_mb_at_5m_events": TARGET_MAX_MB,
        "bench_process_peak_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
