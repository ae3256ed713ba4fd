"""Figure 7's CPU accounting: how busy the machine was while the check ran,
and how much of that was the check itself (the bench process, the served
campaign's processes, a PostgreSQL server) — on a shared machine the rest is
others' work, which slows both sides alike."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _machine() -> tuple[float, float]:
    """The machine's busy and total CPU time so far (/proc/stat, in ticks)."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def _process_s(pid: int) -> float:
    """A process's CPU seconds, user and system, with its children's that have
    ended (the server's ``dot`` drawing diagrams, PostgreSQL's old backends)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """The process and its descendants now (uvicorn's workers, the server's backends)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                waiting += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def _trees_s(pids: list[int]) -> float:
    return sum(_process_s(p) for root in pids for p in _tree(root))


def _own_s() -> float:
    """This process's CPU seconds, with its ended children's (``dot`` again)."""
    spent = os.times()
    return spent.user + spent.system + spent.children_user + spent.children_system


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


class CpuWatch:
    """From its making to :meth:`report`: the machine's busy share and ours."""

    def __init__(self, servers: list[int] | None = None) -> None:
        self.servers = servers or []
        self.machine = _machine()
        self.own = _own_s()
        self.served = _trees_s(self.servers)
        self.wall = time.monotonic()

    def report(self) -> dict[str, float]:
        """How busy every core was (0–1); the CPU seconds of this process (the
        simulated browsers, or the anchor) and of the servers; and the share of
        the machine's capacity those took (the rest is others' work)."""
        busy, total = _machine()
        own = _own_s() - self.own
        served = _trees_s(self.servers) - self.served
        wall = time.monotonic() - self.wall
        capacity = (os.cpu_count() or 1) * wall
        used = {"machine_busy": round((busy - self.machine[0])
                                      / max(total - self.machine[1], 1.0), 2),
                "this_process_s": round(own, 1),
                "ours_share": round((own + served) / capacity, 2)}
        if self.servers:
            used["servers_s"] = round(served, 1)
            # 1.0: one core kept busy throughout (all one worker can use: Python's GIL).
            used["servers_cores"] = round(served / wall, 2)
        return used
