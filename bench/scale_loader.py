"""The scale figure's loader: a province-sized campaign in one SQLite file.

What it makes, through the engine's own schema and API where the API is
quick enough, and with ``executemany`` in big transactions where it is not:

1. ``Campaign.open`` + ``deliverables.init`` (the schema at the head revision,
   the shipped definitions), the campaign office's first user, and ``plan.start``
   of the shipped plan on the central roster (two principals, ten leaders,
   twenty supervisors): the plan's own deliverables and the phase machine.
2. ``units`` units, each with a head (role ``office``: the unit's campaign
   office, who drafts its materials), a branch (role ``branch``) and eight
   members; each added as ``user.add`` does it.
3. ``deliverables`` deliverables, created on days spread over the campaign
   (2014-02-17 to 2014-07-31, the day the figure asks "today") with due dates
   15–75 days later, each walking its definition's machine one move every few
   days: forward mostly, sometimes returned, rejected, objected to during its
   publicity window or reopened, and stopping anywhere.  Every move is one an
   engine user could have made: the actor holds the role the transition
   needs, keeps its owner rules (no self-approval), gives a reason where one
   is required (stored as the review opinion the engine writes), opens and
   closes publicity windows on their working-day dates, sets a rectification
   item's five fields before submitting it, notes progress before claiming it
   done, and rates it when verifying.  Types: rectification items 55 %,
   self-reviews 12 %, rectification plans 10 %, research reports, meeting
   plans, four-winds lists, implementation plans, summary reports.
4. Two forced phase advances through the API (with the clock on the last day).

Every row an event wrote is sealed with :func:`workflow.store.seals.seal_values`,
and every event is placed in its chain and hashed by :meth:`Chains.append` —
the one function to change when the chain's format changes — with
:func:`workflow.store.audit.event_hash`.  ``campaign.audit.verify()`` accepts
the result (the bench checks it at a small size every run).
"""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from scale_walk import Walk, Who

from workflow import Campaign
from workflow.spec.loader import load_plan, shipped_plan
from workflow.spec.roster import Person
from workflow.store import audit, seals
from workflow.store.clock import timestamp

#: Bump when what the loader makes changes: the cache is keyed by it.
LOADER_VERSION = 1
ZONE = ZoneInfo("Asia/Shanghai")
FIRST_DAY, LAST_DAY = date(2014, 2, 17), date(2014, 7, 31)
ORIGIN = {"channel": "api", "os_user": "scale-loader", "host": "bench"}
BATCH = 50_000


def noon(day: date) -> datetime:
    return datetime.combine(day, clock_time(9), tzinfo=ZONE)


# -- the one place events are chained and hashed ------------------------------------------


class Chains:
    """The heads of the log's chains, as the engine left them, and the next ``seq``."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.seq = raw.execute("SELECT coalesce(max(seq), 0) FROM audit_event").fetchone()[0]
        self.heads: dict[str, tuple[int, str]] = {}
        for chain, place, value in raw.execute(
                "SELECT chain, chain_seq, hash FROM audit_event ORDER BY seq"):
            self.heads[chain] = (place, value)
        assert raw.execute("SELECT count(*) FROM access_refusal").fetchone()[0] == 0

    def append(self, fields: dict[str, Any], written: Sequence[seals.Seal],
               unit: str | None) -> dict[str, Any]:
        """``fields`` of one event (what happened) completed as the engine's
        ``audit.append`` completes them: its ``seq``, its chain (its
        deliverable's owner's unit, else the global one) and place there, the
        hash it links to, the seals of the rows it wrote, and its own hash."""
        chain = "global" if fields.get("deliverable_id") is None else (
            "unit" if unit is None else f"unit:{unit}")
        place, previous = self.heads.get(chain, (0, audit.GENESIS))
        self.seq += 1
        fields.update(seq=self.seq, chain=chain, chain_seq=place + 1, prev_hash=previous,
                      sealed=seals.encode(written, None), **ORIGIN)
        for name in audit.HASHED_FIELDS:
            fields.setdefault(name, None)
        fields["hash"] = audit.event_hash(fields)
        self.heads[chain] = (place + 1, fields["hash"])
        return fields


# -- the people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person_:
    id: str
    name: str
    roles: tuple[str, ...]
    unit: str | None


CENTRAL = (
    [Person_("office1", "王敏", ("office",), "群教办")]
    + [Person_(f"principal{n}", f"书记{n}", ("principal",), "党组") for n in (1, 2)]
    + [Person_(f"leader{n}", f"副主席{n}", ("leader",), "党组") for n in range(1, 11)]
    + [Person_(f"sup{n}", f"督导{n}", ("supervisor",), "督导组") for n in range(1, 21)]
)
MEMBERS_PER_UNIT = 8


def unit_people(units: int) -> list[Person_]:
    people = []
    for u in range(1, units + 1):
        unit = f"单位{u:04d}"
        people.append(Person_(f"h{u:04d}", f"{unit}负责人", ("office",), unit))
        people.append(Person_(f"b{u:04d}", f"{unit}支部", ("branch",), unit))
        people += [Person_(f"m{u:04d}-{k}", f"{unit}党员{k}", ("member",), unit)
                   for k in range(1, MEMBERS_PER_UNIT + 1)]
    return people


# -- loading ---------------------------------------------------------------------------------


class Writer:
    """Rows waiting for their ``executemany``, written in big transactions."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        self.columns: dict[str, list[str]] = {}
        self.rows = 0

    def add(self, table: str, row: dict[str, Any]) -> None:
        if table not in self.columns:
            self.columns[table] = [r[1] for r in self.raw.execute(f"PRAGMA table_info({table})")]
        self.pending.setdefault(table, []).append(tuple(map(row.get, self.columns[table])))
        self.rows += 1
        if self.rows >= BATCH:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.pending.items():
            names = self.columns[table]
            self.raw.executemany(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                rows)
        self.raw.commit()
        self.pending, self.rows = {}, 0


class Loader:
    def __init__(self, raw: sqlite3.Connection, units: int, seed: int) -> None:
        self.raw = raw
        self.chains = Chains(raw)
        self.out = Writer(raw)
        self.people = unit_people(units)
        self.rng = random.Random(seed)
        self.events = 0

    def event(self, at: str, written: Sequence[seals.Seal], unit: str | None,
              **fields: Any) -> int:
        """Append one event; returns its ``seq``."""
        row = self.chains.append({"at": at, **fields}, written, unit)
        self.out.add("audit_event", row)
        self.events += 1
        return int(row["seq"])

    def row(self, table: str, values: dict[str, Any]) -> seals.Seal:
        """Write a row (as it finally stands) and return its seal."""
        self.out.add(table, values)
        return seals.seal_values(table, values)

    @staticmethod
    def seal(table: str, values: dict[str, Any]) -> seals.Seal:
        """The seal of a row as an event writes it (the row itself is written later,
        as it finally stands)."""
        return seals.seal_values(table, values)

    def add_people(self) -> None:
        at = timestamp(noon(FIRST_DAY - timedelta(days=1)))
        for person in self.people:
            user = {"id": person.id, "name": person.name, "unit": person.unit,
                    "created_at": at, "active": True}
            written = [self.row("app_user", user)]
            written += [self.row("user_role", {"user_id": person.id, "role": r})
                        for r in person.roles]
            self.event(at, written, None, actor="office1", role="office", action="user.add",
                       detail=audit.detail({"user": person.id, "name": person.name,
                                            "roles": list(person.roles), "unit": person.unit}))
        self.out.flush()


def _setup(url: str) -> None:
    """Step 1, through the API."""
    campaign = Campaign.open(url, clock=lambda: noon(FIRST_DAY - timedelta(days=7)))
    campaign.deliverables.init(actor="office1")
    first = CENTRAL[0]
    campaign.people.add_user(first.id, first.id, first.name, list(first.roles), first.unit)
    roster = [Person(id=p.id, name=p.name, roles=p.roles, unit=p.unit) for p in CENTRAL]
    campaign.plan.start(first.id, load_plan(shipped_plan()), roster)
    campaign.store.engine.dispose()


def _force_phases(url: str) -> None:
    """Step 4: the campaign is two phases on, both forced (the gates do not hold)."""
    campaign = Campaign.open(url, clock=lambda: noon(LAST_DAY))
    for reason in ("按督导组安排进入学习教育环节", "按督导组安排进入查摆问题环节"):
        campaign.plan.advance("office1", force=True, reason=reason)
    campaign.store.engine.dispose()


def load(path: Path, deliverables: int, *, units: int = 2000, seed: int = 11) -> dict[str, Any]:
    """Make the database at ``path`` (which must not exist); returns what was made."""
    url = f"sqlite:///{path}"
    _setup(url)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-262144")
    loader = Loader(raw, units, seed)
    loader.add_people()
    walk = Walk(loader, Who(CENTRAL, loader.people), deliverables)
    walk.run(FIRST_DAY, LAST_DAY)
    loader.out.flush()
    indexes = _scale_indexes(raw)
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("ANALYZE")
    raw.commit()
    raw.close()
    _force_phases(url)
    return {"deliverables": deliverables, "units": units,
            "users": len(CENTRAL) + len(loader.people), "events_loaded": loader.events,
            "indexes_made_by_the_loader": indexes, **walk.summary()}


def _scale_indexes(raw: sqlite3.Connection) -> list[str]:
    """Revision 0004's indexes, made here only while that revision waits in
    ``workflow/store/migrations/`` to be put among the versions (once it is
    there, ``init`` has made them and this makes none)."""
    path = Path(__file__).resolve().parent.parent / "workflow/store/migrations"
    pending = path / "rev_0004_scale_indexes.py"
    if not pending.exists() or (path / "versions" / pending.name).exists():
        return []
    spec = importlib.util.spec_from_file_location("rev_0004_scale_indexes", pending)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = []
    for name, columns in module.INDEXES:
        if raw.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is None:
            raw.execute(f"CREATE INDEX {name} ON deliverable ({', '.join(columns)})")
            made.append(name)
    raw.commit()
    return made


CACHE = Path(__file__).resolve().parent / ".cache"


def cached(deliverables: int, *, units: int = 2000) -> tuple[Path, dict[str, Any]]:
    """The database of ``deliverables`` under ``bench/.cache/``, made once per
    loader version and schema head (a later run reuses it), with what the load
    made and how long it took."""
    from workflow.store.revisions import HEAD

    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    name = f"scale-v{LOADER_VERSION}-schema{HEAD}-{deliverables}x{units}"
    path, about = CACHE / f"{name}.db", CACHE / f"{name}.json"
    if path.exists() and about.exists():
        return path, {**json.loads(about.read_text()), "reused": True}
    for stale in CACHE.glob(f"{name}.*"):
        stale.unlink()
    building = CACHE / f"{name}.building.db"
    for stale in CACHE.glob(f"{name}.building.db*"):
        stale.unlink()
    start = time.perf_counter()
    made = load(building, deliverables, units=units)
    made["load_seconds"] = round(time.perf_counter() - start, 1)
    made["size_mb"] = round(building.stat().st_size / 2**20, 1)
    building.rename(path)
    about.write_text(json.dumps(made, ensure_ascii=False, indent=1))
    return path, {**made, "reused": False}
