"""Shared fixtures: a campaign database with one user per role, built once and
copied, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import itertools
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from pg_cluster import Cluster, NoServer, cluster
from plan_helpers import (
    build_started,
    copy_db,
    freeze,
    init_db,
    new_db,
    open_db,
    query_all,
    release,
    scratch,
    scratch_directory,
    share_specs,
    start_plan,
)
from sqlalchemy import Engine, event, make_url

from workflow import Campaign, Content, from_text
from workflow.spec.definition import WorkflowSpec
from workflow.store.clock import Clock, utc_now

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


# -- the two backends --------------------------------------------------------------
#
# A test that asks for a campaign database (``campaign``, ``db_url``, ``c``, ``db``,
# ``empty_db``) runs twice: ``[sqlite]`` on a copy of a template file and
# ``[postgresql]`` on a copy of a template database in this process's throw-away
# cluster (``CREATE DATABASE ... TEMPLATE``).  A test that also asks for the SQLite
# file itself (``db_path``) or is marked ``sqlite_only("why")`` runs on SQLite only;
# one marked ``one_backend("why")`` checks what does not depend on the database
# (argument parsing, reading a file), and runs once, on SQLite too.  The PostgreSQL
# run is skipped, saying why, only where no server can start.

BACKENDS = ("sqlite", "postgresql")
#: The served interface's fixtures (``served``, ``client``, ``as_user``...).
pytest_plugins = ["web_fixtures"]
#: Fixtures that hand a test a SQLite file: a test asking for one runs on SQLite only.
SQLITE_FILE_FIXTURES = ("db_path",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test is about SQLite itself (its file, WAL, "
        "journal, driver); it runs without the [postgresql] parameter, for the reason given")
    config.addinivalue_line(
        "markers", "one_backend(reason): what the test checks does not depend on the "
        "database (argument parsing, reading a file): it runs once, on SQLite")
    config.addinivalue_line(
        "markers", "soak_on_postgresql(reason): the [postgresql] run is a soak (marked slow: "
        "`make soak` and CI run it), the [sqlite] run is in the inner loop")
    config.addinivalue_line(
        "markers", "xfail_postgresql(reason): a known bug on PostgreSQL, in code this test "
        "cannot fix yet: its [postgresql] run is xfail(strict=True) until it is fixed")


def on_postgresql(item: pytest.Item) -> bool:
    """The test's [postgresql] run: by the ``backend`` fixture, or by a fixture of
    wider scope parametrised with :data:`BACKENDS`."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


# First: the slow mark it adds must be there when -m selects.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        if on_postgresql(item) and (item.get_closest_marker("sqlite_only")
                                    or item.get_closest_marker("one_backend")):
            dropped.append(item)  # a wider-scoped fixture's [postgresql] parameter
            continue
        if on_postgresql(item) and item.get_closest_marker("soak_on_postgresql"):
            item.add_marker(pytest.mark.slow)
        marker = item.get_closest_marker("xfail_postgresql")
        if marker is not None and on_postgresql(item):
            reason = marker.args[0] if marker.args else marker.kwargs["reason"]
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    marker = (metafunc.definition.get_closest_marker("sqlite_only")
              or metafunc.definition.get_closest_marker("one_backend"))
    if marker is not None and not (marker.args or marker.kwargs.get("reason")):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: {marker.name} needs a reason")
    only_sqlite = marker is not None or any(
        name in metafunc.fixturenames for name in SQLITE_FILE_FIXTURES
    )
    metafunc.parametrize("backend", ["sqlite"] if only_sqlite else list(BACKENDS),
                         indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: which server the test's databases are on."""
    return str(getattr(request, "param", "sqlite"))


def add_people(campaign: Campaign) -> Campaign:
    """The shipped definitions and one user per :data:`PEOPLE` row."""
    campaign.deliverables.init(DEFINITIONS, actor="office1")
    for user_id, name, roles, unit in PEOPLE:
        campaign.people.add_user("office1", user_id, name, roles, unit)
    return campaign


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "campaign.db"
    return freeze(add_people(open_db(path)), path)


@pytest.fixture
def needs_dot() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (run `make setup`)")


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """The SQLite file of the test's database (a test asking for it runs on SQLite only)."""
    target = tmp_path / "campaign.db"
    shutil.copy(template_db, target)
    return target


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh copy of the template with :data:`PEOPLE`, on the test's backend."""
    if backend == "sqlite":
        yield f"sqlite:///{request.getfixturevalue('db_path')}"
    else:
        yield from pg_copy(request, "people", add_people)


@pytest.fixture
def people_dbs(backend: str, request: pytest.FixtureRequest
               ) -> Callable[[], AbstractContextManager[str]]:
    """Fresh copies of the template with :data:`PEOPLE` on the test's backend, one
    per ``with people_dbs() as url:`` block (a hypothesis example takes one each)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("template_db")

        @contextmanager
        def copy() -> Iterator[str]:
            with scratch_directory() as directory:
                yield f"sqlite:///{copy_db(template, directory)}"

        return copy

    @contextmanager
    def pg_people() -> Iterator[str]:
        yield from pg_copy(request, "people", add_people)

    return pg_people


#: The tests' clock starts in the campaign's own year: publicity windows count
#: the official calendar of 2014 (the library covers a year only once it is
#: published), and a test moves the clock with ``drive.at_day``.
START = datetime(2014, 6, 13, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
#: The clock of a test that used to take the real one: like the real day, later
#: than every 2014 date the tests name (due dates past, records dated earlier),
#: but fixed, in a year the working-day calendar knows.  On the real day a
#: publicity window may reach a year the installed calendar does not know yet
#: (chinese-calendar covers a year only once its holidays are published), where
#: the engine refuses to count it.
LATER = datetime(2026, 3, 2, 12, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday


def cli_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime = START) -> datetime:
    """Every engine this process opens without a clock of its own — the command
    line's, run in-process by ``CliRunner`` — reads ``moment`` instead of the
    real clock.  The command line has no simulated clock (its writes happen
    today, the README's "One clock for writes"), and a publicity window opened
    on the real day counts working days the installed calendar may not know
    yet (chinese-calendar knows a year only once it is published): a test of
    the command line must not depend on the day it runs."""
    opened = Campaign.open.__func__  # type: ignore[attr-defined]

    def open_at(cls: type[Campaign], url: str | None = None, clock: Clock = utc_now,
                *args: Any, **kwargs: Any) -> Campaign:
        return opened(cls, url, (lambda: moment) if clock is utc_now else clock,
                      *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(Campaign, "open", classmethod(open_at))
    return moment


@pytest.fixture
def campaign(db_url: str) -> Iterator[Campaign]:
    engine = share_specs(Campaign.open(db_url, clock=lambda: START))
    yield engine
    engine.store.engine.dispose()


class Snapshot(NamedTuple):
    deliverables: list[tuple[object, ...]]
    events: list[str]
    revisions: int
    #: Review opinions (a reason quoted by a move) and publicity windows.
    opinions: list[tuple[object, ...]]
    windows: list[tuple[object, ...]]


def snapshot(db: Path | str) -> Snapshot:
    """Everything a refused write must leave untouched, read behind the engine's
    back (a connection of its own) from the SQLite file ``db`` or the database URL."""
    deliverables, events, revisions, opinions, windows = query_all(
        db,
        "SELECT id, state, version, updated_at FROM deliverable ORDER BY id",
        "SELECT hash FROM audit_event ORDER BY seq",
        "SELECT count(*) FROM revision",
        "SELECT * FROM opinion ORDER BY id",
        "SELECT * FROM publicity_window ORDER BY id",
    )
    return Snapshot(deliverables, [row[0] for row in events], int(revisions[0][0]),
                    opinions, windows)


# -- PostgreSQL: one throw-away cluster per test process, a fresh database per test ---


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        with cluster() as started:
            yield started
    except NoServer as why:
        pytest.skip(f"PostgreSQL: {why}")


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database."""
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    name = f"t_{digest}"
    url = pg_cluster.create_database(name)
    yield url
    release(url)
    pg_cluster.drop_database(name)


class PgTemplates:
    """Template databases of this process's cluster, each built once, when first
    asked for, and copies of them: the next copy of a kind is made while the test
    with the last one runs, and a used copy is dropped behind it."""

    def __init__(self, server: Cluster, directory: Path) -> None:
        self.server, self.directory, self.built = server, directory, dict[str, str]()
        self._names = itertools.count()
        self._ahead: dict[str, Callable[[], str]] = {}

    def template(self, kind: str, build: Callable[[Campaign], object]) -> str:
        if kind not in self.built:
            name = f"template_{kind}"
            campaign = open_db(self.server.create_database(name))
            try:
                build(campaign)
            except BaseException:
                # Dropped, so that the next test fails on the same error, not on
                # "database template_... already exists".
                campaign.store.engine.dispose()
                self.server.drop_database(name)
                raise
            finally:
                campaign.store.engine.dispose()  # a template must have no connection
            self.built[kind] = name
        return self.built[kind]

    def fresh_name(self) -> str:
        return f"t{next(self._names)}"

    def copy(self, kind: str, build: Callable[[Campaign], object]) -> str:
        """The URL of a fresh copy of template ``kind``."""
        template = self.template(kind, build)
        ready = self._ahead.pop(kind, None) or self.server.copy_ahead(template,
                                                                    self.fresh_name())
        url = ready()
        self._ahead[kind] = self.server.copy_ahead(template, self.fresh_name())
        return url


@pytest.fixture(scope="session")
def pg_templates(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> PgTemplates:
    return PgTemplates(pg_cluster, tmp_path_factory.mktemp("pg_templates"))


def pg_copy(request: pytest.FixtureRequest, kind: str,
            build: Callable[[Campaign], object]) -> Iterator[str]:
    """Yield the URL of a fresh copy of the PostgreSQL template ``kind`` (built by
    ``build`` on an empty database the first time); drop it afterwards."""
    templates: PgTemplates = request.getfixturevalue("pg_templates")
    url = templates.copy(kind, build)
    try:
        yield url
    finally:
        release(url)
        templates.server.drop_behind(make_url(url).database or "")


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


@contextmanager
def empty_database(request: pytest.FixtureRequest, backend: str, directory: Path
                   ) -> Iterator[str]:
    """The URL of a new, empty database on ``backend`` (a file in ``directory`` for
    SQLite), for a fixture of wider scope than one test: such a fixture takes its
    backend from ``params=BACKENDS`` rather than from the ``backend`` fixture."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'campaign.db'}"
        return
    templates: PgTemplates = request.getfixturevalue("pg_templates")
    name = templates.fresh_name()
    url = templates.server.create_database(name)
    try:
        yield url
    finally:
        release(url)
        templates.server.drop_database(name)


@contextmanager
def people_database(request: pytest.FixtureRequest, backend: str, directory: Path
                    ) -> Iterator[str]:
    """As :func:`empty_database`, a copy of the template with :data:`PEOPLE`."""
    if backend == "sqlite":
        yield f"sqlite:///{copy_db(request.getfixturevalue('template_db'), directory)}"
    else:
        yield from pg_copy(request, "people", add_people)


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


def _copied(request: pytest.FixtureRequest, backend: str, file_template: str, kind: str,
            build: Callable[[Campaign], object]) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue(file_template)
        directory = request.getfixturevalue("work") / kind  # a test may ask for two kinds
        directory.mkdir()
        yield f"sqlite:///{copy_db(template, directory)}"
    else:
        yield from pg_copy(request, kind, build)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh copy of a database with the shipped plan started on
    :data:`plan_helpers.STANDARD`, on the test's backend."""
    yield from _copied(request, backend, "started_template", "started",
                       lambda campaign: start_plan(
                           init_db(campaign), request.getfixturevalue("pg_templates").directory))


@pytest.fixture
def empty_db(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh copy of a database with the shipped definitions and
    nobody in it, on the test's backend."""
    yield from _copied(request, backend, "empty_template", "empty",
                       init_db)


@pytest.fixture
def c(db: str) -> Iterator[Campaign]:
    campaign = open_db(db, clock=lambda: LATER)
    yield campaign
    campaign.store.engine.dispose()
