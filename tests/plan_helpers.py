"""Helpers for the campaign-plan tests: rosters, template databases, reading a
database behind the engine's back on either backend, and bringing a started
campaign's deliverables, events and talks to what a gate needs.

Everything that decides *who may act* or *what satisfies a gate* is computed
here from the plan file, the definitions and the roster alone, never by
asking the engine's policy or gate code, so the tests judge the engine.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy import text as sql_text
from sqlalchemy.pool import NullPool

from workflow import Campaign
from workflow.services.plan_records import EventFacts
from workflow.spec.definition import TransitionSpec, WorkflowSpec
from workflow.spec.loader import LoadedPlan, load_plan, shipped_definitions_dir, shipped_plan
from workflow.spec.plan import EventSpec, GateItem, PhaseSpec
from workflow.spec.roster import read_roster
from workflow.store.clock import Clock

PLAN: LoadedPlan = load_plan(shipped_plan())
SPEC = PLAN.spec
PLAN_ID = SPEC.id
DEFINITIONS = shipped_definitions_dir()
COMMENT = "测试理由"
FORCE_REASON = "测试：直接进入该阶段"

#: Leaf phases in order, with their dotted paths, as the plan file lists them.
LEAVES: list[tuple[str, PhaseSpec]] = SPEC.leaves()
LEAF_PATHS: list[str] = [path for path, _ in LEAVES]


class P(NamedTuple):
    id: str
    name: str
    roles: tuple[str, ...]
    unit: str | None = None


#: The roster most tests start from: two office users, a principal who is not
#: a leader (so every leader's deliverable has a principal other than its
#: owner to forward it), two leaders, a supervisor, a member, two branches.
STANDARD: tuple[P, ...] = (
    P("office1", "王敏", ("office",), "群教办"),
    P("office2", "孙丽", ("office",), "组织部"),
    P("prin", "李书记", ("principal",), "党组"),
    P("leader1", "张副主席", ("leader",), "党组"),
    P("leader2", "刘副主席", ("leader",), "党组"),
    P("sup1", "陈督导", ("supervisor",), "市委督导组"),
    P("member1", "赵一", ("member",), "保障部"),
    P("branch1", "机关第一支部", ("branch",), "机关第一支部"),
    P("branch2", "机关第二支部", ("branch",), "机关第二支部"),
)
STARTER = "office1"


def name_of(people: Iterable[P], user_id: str) -> str:
    return next(p.name for p in people if p.id == user_id)


# -- roster files ------------------------------------------------------------------


def write_csv(path: Path, people: Sequence[P]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "name", "roles", "unit"])
        for p in people:
            writer.writerow([p.id, p.name, " ".join(p.roles), p.unit or ""])
    return path


def write_yaml(path: Path, people: Sequence[P], *, top: bool = True) -> Path:
    rows = [{"id": p.id, "name": p.name, "roles": list(p.roles),
             **({"unit": p.unit} if p.unit else {})} for p in people]
    data: Any = {"people": rows} if top else rows
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def roster(tmp: Path, people: Sequence[P], name: str = "roster.csv") -> list[Any]:
    """``people`` written to a CSV roster and read back through the engine's reader."""
    return read_roster(write_csv(tmp / name, people))


# -- databases -----------------------------------------------------------------------


_SHM = Path("/dev/shm")


@contextmanager
def scratch_directory() -> Iterator[Path]:
    """A new directory for the block, on tmpfs where there is one, removed afterwards."""
    where = str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="campaign-test-", dir=where) as directory:
        yield Path(directory)


@contextmanager
def scratch(fallback: Callable[[], Path]) -> Iterator[Path]:
    """A directory for a test database, on tmpfs where there is one: every engine
    write is an fsync'd commit (synchronous=FULL), which a disk makes slow.
    ``fallback`` (say, the tmp_path fixture) is asked for only where there is none."""
    if not (_SHM.is_dir() and os.access(_SHM, os.W_OK)):
        yield fallback()
        return
    directory = Path(tempfile.mkdtemp(prefix="campaign-test-", dir=_SHM))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


#: Parsed definitions, their machines and plans, shared by every engine a test
#: process opens.  The registry keys them by the sha256 of the source text, so
#: sharing them cannot mix two versions up; it only spares re-parsing the same
#: YAML for every test (pure-Python YAML is most of a test's time otherwise).
_SPECS: dict[str, Any] = {}
_MACHINES: dict[str, Any] = {}
_PLANS: dict[str, Any] = {}


def share_specs(campaign: Campaign) -> Campaign:
    registry = campaign.registry
    for name, shared in (("_specs", _SPECS), ("_machines", _MACHINES), ("_plans", _PLANS)):
        if isinstance(getattr(registry, name, None), dict):
            setattr(registry, name, shared)
    return campaign


def url_of(db: Path | str) -> str:
    """A database URL: ``db`` itself, or the URL of the SQLite file ``db``."""
    return db if isinstance(db, str) else f"sqlite:///{db}"


def open_db(db: Path | str, clock: Clock | None = None) -> Campaign:
    """An engine on the SQLite file or the database URL ``db``."""
    campaign = (Campaign.open(url_of(db)) if clock is None
                else Campaign.open(url_of(db), clock=clock))
    return share_specs(campaign)


def new_db(db: Path | str) -> Campaign:
    return init_db(open_db(db))


def init_db(campaign: Campaign) -> Campaign:
    """The schema and the shipped definitions."""
    campaign.deliverables.init(DEFINITIONS)
    return campaign


def freeze(campaign: Campaign, path: Path) -> Path:
    """Close ``campaign`` and fold the WAL into ``path`` so a plain copy carries it all."""
    campaign.store.engine.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_db(template: Path, directory: Path) -> Path:
    target = directory / "campaign.db"
    shutil.copy(template, target)
    return target


def start_plan(campaign: Campaign, directory: Path, people: Sequence[P] = STANDARD) -> Campaign:
    """Start the shipped plan on ``people`` (their roster written to ``directory``)."""
    campaign.plan.start(STARTER, PLAN, roster(directory, people))
    return campaign


def build_started(directory: Path, people: Sequence[P] = STANDARD) -> Path:
    """A database with the shipped plan started on ``people`` (closed, ready to copy)."""
    path = directory / "started.db"
    return freeze(start_plan(new_db(path), directory, people), path)


# -- reading a database behind the engine's back, on either backend ------------------
#
# What a refusal must leave untouched is read through a connection of the test's
# own (SQLAlchemy, no campaign code), from the SQLite file or the database URL.

_READERS: dict[str, Engine] = {}


def reader(db: Path | str) -> Engine:
    """An engine of the tests' own on ``db``: SQLite without a pool (no file is
    held open), PostgreSQL pooled until :func:`release`."""
    url = url_of(db)
    engine = _READERS.get(url)
    if engine is None:
        pool = {"poolclass": NullPool} if url.startswith("sqlite") else {"pool_size": 1}
        engine = _READERS[url] = create_engine(url, **pool)  # type: ignore[arg-type]
    return engine


def release(db: Path | str) -> None:
    """Close the tests' connections to ``db`` (before it is dropped)."""
    engine = _READERS.pop(url_of(db), None)
    if engine is not None:
        engine.dispose()


def query_all(db: Path | str, *statements: str) -> list[list[tuple[Any, ...]]]:
    """The rows of each statement, read in one transaction."""
    with reader(db).connect() as connection:
        return [[tuple(row) for row in connection.execute(sql_text(sql))]
                for sql in statements]


def query(db: Path | str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    with reader(db).connect() as connection:
        return [tuple(row) for row in connection.execute(sql_text(statement), params)]


def execute(db: Path | str, statement: str, **params: Any) -> None:
    """Write behind the engine's back (committed)."""
    with reader(db).begin() as connection:
        connection.execute(sql_text(statement), params)


def drop_append_only(db: Path | str) -> None:
    """Drop the triggers that keep ``audit_event`` append-only (SQLite's since
    0001, PostgreSQL's since 0002; the same names), as someone editing the log
    behind the engine's back would."""
    on = "" if url_of(db).startswith("sqlite") else " ON audit_event"
    for verb in ("update", "delete"):
        execute(db, f"DROP TRIGGER IF EXISTS audit_event_no_{verb}{on}")


#: The primary key of each table, by dialect: the order :func:`all_rows` reads in.
_KEYS: dict[tuple[str, str], list[str]] = {}


def _keys(db: Path | str) -> dict[str, list[str]]:
    """Each table of ``db`` with the columns to order its rows by (its primary key)."""
    dialect, found = url_of(db).split(":", 1)[0], inspect(reader(db))
    keys: dict[str, list[str]] = {}
    for name in found.get_table_names():
        if (dialect, name) not in _KEYS:
            _KEYS[dialect, name] = list(found.get_pk_constraint(name)["constrained_columns"])
        keys[name] = _KEYS[dialect, name]
    return keys


def all_rows(db: Path | str, *, but: tuple[str, ...] = ("access_refusal",)
             ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but ``but``, by default the access log), each
    table's in the order of its primary key: what a refusal must leave exactly
    as it was."""
    tables = {name: key for name, key in sorted(_keys(db).items()) if name not in but}
    statements = [f'SELECT * FROM "{name}"'
                  + (" ORDER BY " + ", ".join(f'"{k}"' for k in key) if key else "")
                  for name, key in tables.items()]
    return {name: rows if key else sorted(rows, key=repr)
            for (name, key), rows in zip(tables.items(), query_all(db, *statements),
                                         strict=True)}


TABLES = ("app_user", "user_role", "deliverable", "revision", "plan_run", "audit_event",
          "event_record", "talk", "target_entry")


def table_counts(db: Path | str) -> dict[str, int]:
    counts = query_all(db, *(f"SELECT count(*) FROM {t}" for t in TABLES))
    return {t: int(rows[0][0]) for t, rows in zip(TABLES, counts, strict=True)}


class State(NamedTuple):
    """Everything a refused campaign write must leave untouched."""

    counts: dict[str, int]
    audit_hashes: list[str]
    plan_runs: list[tuple[Any, ...]]
    deliverables: list[tuple[Any, ...]]
    talks: list[tuple[Any, ...]]
    targets: list[tuple[Any, ...]]


def db_state(db: Path | str) -> State:
    hashes, plan_runs, deliverables, talks, targets = query_all(
        db,
        "SELECT hash FROM audit_event ORDER BY seq",
        "SELECT id, phase, version, updated_at FROM plan_run ORDER BY id",
        "SELECT id, state, version, updated_at FROM deliverable ORDER BY id",
        "SELECT * FROM talk ORDER BY id",
        "SELECT * FROM target_entry ORDER BY id",
    )
    return State(table_counts(db), [r[0] for r in hashes], plan_runs, deliverables, talks,
                 targets)


def audit_rows(campaign: Campaign) -> list[dict[str, Any]]:
    """The whole audit log, with each event's ``detail`` decoded."""
    rows = [json.loads(line) for line in campaign.audit.export("jsonl")]
    for row in rows:
        row["detail"] = json.loads(row["detail"]) if row["detail"] else None
    return rows


# -- who may fire what (from the spec and the roster, not from policy) -----------------


def may_fire(user: str, roles: Iterable[str], owner: str, transition: TransitionSpec) -> bool:
    if not set(roles) & set(transition.roles):
        return False
    if (transition.owner_only or transition.owner_or_responsible) and user != owner:
        return False  # these tests name no responsible person but the owner
    return not (transition.not_owner and user == owner)


def path_between(spec: WorkflowSpec, start: str, target: str,
                 usable: Callable[[TransitionSpec], bool] = lambda _: True
                 ) -> list[TransitionSpec]:
    """A shortest path of ``usable`` transitions from ``start`` to ``target``."""
    came: dict[str, tuple[str, TransitionSpec] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for transition in spec.transitions_from(state):
            if usable(transition) and transition.dest not in came:
                came[transition.dest] = (state, transition)
                queue.append(transition.dest)
    if target not in came:
        raise ValueError(f"{spec.id}: {target!r} unreachable from {start!r}")
    steps: list[TransitionSpec] = []
    step = came[target]
    while step is not None:
        state, transition = step
        steps.append(transition)
        step = came[state]
    return steps[::-1]


def drive_to(campaign: Campaign, deliverable_id: int, target: str) -> None:
    """Owner adds content with every required section, then each move is made by
    the first legal roster user, on a day its publicity window allows, after what
    it needs beyond the spec."""
    from drive import (  # drive imports conftest, which imports us
        complete_content,
        day_allowing,
        make_move,
        prepare,
    )

    item = campaign.reads.get(deliverable_id)
    spec = campaign.registry.definition_for(item)
    if item.revision is None:
        campaign.deliverables.revise(item.owner, deliverable_id, complete_content(spec,
                                                                                  title=item.title))
    users = campaign.reads.users()

    def usable(transition: TransitionSpec) -> bool:
        return any(may_fire(u.id, u.roles, item.owner, transition) for u in users)

    for transition in path_between(spec, item.state, target, usable):
        actor = next((u.id for u in users if may_fire(u.id, u.roles, item.owner, transition)),
                     None)
        assert actor is not None, f"nobody may {transition.trigger} #{deliverable_id}"
        prepare(campaign, deliverable_id, transition.trigger)
        make_move(campaign, actor, deliverable_id, transition.trigger, COMMENT,
                  today=day_allowing(campaign, deliverable_id, transition.trigger))
    assert campaign.reads.get(deliverable_id).state == target


# -- satisfying gate items -------------------------------------------------------------


#: ``per: team`` is the leadership team: the principal(s) and the leaders.
TEAM_ROLES = frozenset({"principal", "leader"})


def holders(campaign: Campaign, per: str) -> list[str]:
    """The holders of a role, or the team's members for ``per: team``."""
    roles = TEAM_ROLES if per == "team" else {per}
    return [u.id for u in campaign.reads.users() if roles & set(u.roles)]


def team_ids(campaign: Campaign) -> list[str]:
    return holders(campaign, "team")


def expected_pairs(campaign: Campaign) -> list[tuple[str, str]]:
    return [tuple(sorted(pair)) for pair in combinations(team_ids(campaign), 2)]  # type: ignore[misc]


#: Talks are held this many days into their phase, events later (see :func:`held_on`).
TALKS_AFTER = 10


def _depth(spec: EventSpec) -> int:
    """How many events must precede ``spec`` by its ``after`` rules."""
    return max((1 + _depth(SPEC.event(k)) for k in spec.after), default=0)


def held_on(spec: EventSpec, index: int = 0) -> date:
    """A day ``spec``'s ``index``-th record keeps the plan's rules: by its
    deadline if it has one, else well into its phase, after the talks and
    after every event it must follow."""
    if spec.deadline:
        return spec.deadline - timedelta(days=index)
    start = SPEC.leaf(SPEC.leaf_path(spec.phase)).start
    assert start is not None
    return start + timedelta(days=2 * TALKS_AFTER + 3 * _depth(spec) + index)


def opener(role: str) -> str:
    """The first person of the standard roster holding ``role``."""
    return next(p.id for p in STANDARD if role in p.roles)


def valid_event_kwargs(spec: EventSpec, index: int = 0) -> dict[str, Any]:
    """Arguments for a record of ``spec`` that keeps every rule of the plan."""
    return {
        "held_on": held_on(spec, index),
        "days": spec.min_days or 0.5,
        "supervisors_invited": spec.supervisors_invited,
        "theme": spec.themes[index % len(spec.themes)] if spec.themes else None,
        "facts": EventFacts(invited=spec.invited, covered=spec.must_note,
                            opened_by=opener(spec.opened_by) if spec.opened_by else None),
    }


def record_valid_events(campaign: Campaign, spec: EventSpec, skip: Iterable[str] = ()) -> None:
    """Enough valid records of ``spec`` for its gate (one per holder, or min_count)."""
    if spec.per:
        for person in holders(campaign, spec.per):
            if person not in skip:
                campaign.records.event(STARTER, spec.kind, person=person,
                                      **valid_event_kwargs(spec))
    else:
        for i in range(spec.min_count):
            campaign.records.event(STARTER, spec.kind, **valid_event_kwargs(spec, i))


def talks_day() -> date:
    """A day in the talks' phase, before the events that must follow them."""
    assert SPEC.talks is not None
    start = SPEC.leaf(SPEC.leaf_path(SPEC.talks.phase)).start
    assert start is not None
    return start + timedelta(days=TALKS_AFTER)


def hold_all_talks(campaign: Campaign) -> None:
    """Every team pair recorded by one party and confirmed by the other."""
    for a, b in expected_pairs(campaign):
        talk = campaign.records.talk(a, a, b, talks_day())
        campaign.records.confirm_talk(b, talk.id)


def record_prerequisites(campaign: Campaign, spec: EventSpec) -> None:
    """What a record of ``spec`` must follow: valid records of every kind in
    its ``after`` (and of theirs), and the talks for ``after_talks``."""
    for kind in spec.after:
        earlier = SPEC.event(kind)
        record_prerequisites(campaign, earlier)
        record_valid_events(campaign, earlier)
    if spec.after_talks:
        hold_all_talks(campaign)


def dependants(gate: Sequence[GateItem], index: int) -> set[int]:
    """The items of ``gate`` whose records are only valid once item ``index``
    is done: their events follow its event, or the talks.  Not transitively:
    an order rule asks that the earlier event was held, not that it was valid."""
    item, found = gate[index], set()
    for j, other in enumerate(gate):
        if other.event is None:
            continue
        spec = SPEC.event(other.event)
        if (item.event is not None and item.event in spec.after) or (
                item.talks and spec.after_talks):
            found.add(j)
    return found


def satisfy(campaign: Campaign, item: GateItem) -> None:
    if item.deliverable is not None:
        for d in campaign.reads.deliverables(type_id=item.deliverable):
            if d.plan_id == PLAN_ID and d.state not in item.states:
                drive_to(campaign, d.id, item.states[0])
    elif item.event is not None:
        record_valid_events(campaign, SPEC.event(item.event))
    else:
        hold_all_talks(campaign)


def satisfy_phase(campaign: Campaign, leaf: str) -> None:
    for item in SPEC.leaf(leaf).gate:
        satisfy(campaign, item)


def item_name(item: GateItem) -> str:
    """The name a person reading the refusal would look for."""
    if item.deliverable is not None:
        return item.deliverable
    if item.event is not None:
        return SPEC.event(item.event).label
    return SPEC.talks.label if SPEC.talks else "谈心谈话"


def item_id(item: GateItem) -> str:
    if item.deliverable is not None:
        return item.deliverable
    if item.event is not None:
        return item.event
    return "talks"


def force_to(campaign: Campaign, leaf: str) -> None:
    """Force the campaign forward (as the office, with a reason) until ``leaf`` is current."""
    assert leaf in LEAF_PATHS
    while campaign.plan.phase() != leaf:
        campaign.plan.advance(STARTER, force=True, reason=FORCE_REASON)
