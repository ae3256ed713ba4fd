"""Shared fixtures: a campaign database with one user per role, built once and copied."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from pg_cluster import Cluster, NoServer, cluster
from plan_helpers import build_started, copy_db, freeze, new_db, open_db, scratch
from sqlalchemy import Engine, event

from workflow import Campaign, Content, from_text
from workflow.spec.definition import WorkflowSpec

# (id, name, roles, unit): at least two people for every role, so that
# "not the owner" always has someone else to try.
PEOPLE: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("office1", "王敏", ("office",), "群教办"),
    ("office2", "孙丽", ("office",), "组织部"),
    ("principal1", "李书记", ("principal", "leader"), "党组"),
    ("principal2", "吴书记", ("principal",), "党组"),
    ("leader1", "张副主席", ("leader",), "党组"),
    ("leader2", "刘副主席", ("leader",), "党组"),
    ("sup1", "陈督导", ("supervisor",), "市委督导组"),
    ("sup2", "周督导", ("supervisor",), "市委督导组"),
    ("member1", "赵一", ("member",), "保障部"),
    ("member2", "钱二", ("member",), "法工部"),
    ("branch1", "机关第一支部", ("branch",), "机关第一支部"),
    ("branch2", "机关第二支部", ("branch",), "机关第二支部"),
)
USER_IDS = tuple(p[0] for p in PEOPLE)
ROLES_OF = {p[0]: p[2] for p in PEOPLE}
DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
SHIPPED_TYPES = tuple(sorted(p.stem for p in DEFINITIONS.glob("*.yaml")))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "campaign.db"
    campaign = Campaign.open(f"sqlite:///{path}")
    campaign.deliverables.init(DEFINITIONS, actor="office1")
    for user_id, name, roles, unit in PEOPLE:
        campaign.people.add_user("office1", user_id, name, roles, unit)
    campaign.store.engine.dispose()
    # Fold the WAL into the main file so a plain copy carries everything.
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def needs_dot() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (run `make setup`)")


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "campaign.db"
    shutil.copy(template_db, target)
    return target


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


#: The tests' clock starts in the campaign's own year: publicity windows count
#: the official calendar of 2014 (the library covers a year only once it is
#: published), and a test moves the clock with ``drive.at_day``.
START = datetime(2014, 6, 13, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def campaign(db_url: str) -> Iterator[Campaign]:
    engine = Campaign.open(db_url, clock=lambda: START)
    yield engine
    engine.store.engine.dispose()


class Snapshot(NamedTuple):
    deliverables: list[tuple[object, ...]]
    events: list[str]
    revisions: int
    #: Review opinions (a reason quoted by a move) and publicity windows.
    opinions: list[tuple[object, ...]]
    windows: list[tuple[object, ...]]


def snapshot(db_path: Path) -> Snapshot:
    """Everything a refused write must leave untouched, read with raw sqlite3."""
    with sqlite3.connect(db_path) as raw:
        return Snapshot(
            raw.execute("SELECT id, state, version, updated_at FROM deliverable ORDER BY id")
            .fetchall(),
            [row[0] for row in raw.execute("SELECT hash FROM audit_event ORDER BY seq")],
            raw.execute("SELECT count(*) FROM revision").fetchone()[0],
            raw.execute("SELECT * FROM opinion ORDER BY id").fetchall(),
            raw.execute("SELECT * FROM publicity_window ORDER BY id").fetchall(),
        )


# -- PostgreSQL: one throw-away cluster per test process, a fresh database per test ---


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        with cluster() as started:
            yield started
    except NoServer as why:
        pytest.skip(f"PostgreSQL: {why}")


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    return pg_cluster.create_database(f"t_{digest}")


@contextmanager
def driver_trace(engine: Engine) -> Iterator[list[str]]:
    """Every statement SQLite runs for ``engine`` inside the block, as the
    driver traces it (beneath SQLAlchemy: a move runs on the driver's cursor)."""
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(lambda sql: statements.append(sql.strip().upper()))

    engine.dispose()  # new connections, each traced
    event.listen(engine, "connect", trace)
    try:
        yield statements
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()


def text(body: str = "正文", spec: WorkflowSpec | None = None) -> Content:
    """A revision's content; with ``spec``, one with every section it requires
    (:func:`drive.complete_content`), so that ``content_complete`` moves go through."""
    if spec is not None:
        from drive import complete_content  # drive imports this module

        return complete_content(spec, body=body)
    return from_text(f"# 材料\n\n{body}\n")


# -- the campaign plan: one started template per session, copied per test -----------


@pytest.fixture(scope="session")
def started_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_started(tmp_path_factory.mktemp("started"))


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("empty") / "empty.db"
    return freeze(new_db(path), path)


@pytest.fixture
def work(request: pytest.FixtureRequest) -> Iterator[Path]:
    with scratch(lambda: request.getfixturevalue("tmp_path")) as directory:
        yield directory


@pytest.fixture
def db(started_template: Path, work: Path) -> Path:
    return copy_db(started_template, work)


@pytest.fixture
def c(db: Path) -> Iterator[Campaign]:
    campaign = open_db(db)
    yield campaign
    campaign.store.engine.dispose()
