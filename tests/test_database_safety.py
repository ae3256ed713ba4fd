"""The database layer refuses what is not its own before writing anything (issue 8).

Findings 4, 6 and 7a: a file that is not SQLite, a read-only database, another
program's (or another version's) schema, a lock held by another program, an
``init`` or a read on something that is not yet a campaign database, and a
URL's password in a message.  Each must end in exactly one ``campaign: ...``
line on stderr with its documented exit code, and leave the file as it was.

Most of these are about SQLite files themselves (their header, permissions,
locks, ``PRAGMA user_version``, WAL): they ask for ``db_path`` and so run on
SQLite only.  A server database's checks are in ``test_postgresql.py`` and
``test_migrations.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner, Result

import cli
from workflow import Campaign
from workflow.errors import (
    CampaignError,
    DatabaseBusy,
    DatabaseReadOnly,
    IncompatibleDatabase,
    InvalidInput,
    mask_credentials,
)
from workflow.store import database, schema

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / "cli.py"
#: A write every test can try: the office adds someone.
ADD_USER = ["--as", "office1", "users", "add", "newcomer", "--name", "新人", "--role", "member"]
#: Exit codes spelled out, not read from the classes.
NOT_FOUND, INVALID, BUSY, READ_ONLY = 6, 7, 9, 10


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG", "CAMPAIGN_BUSY_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def invoke(db: str | Path, *argv: str, env: dict[str, str] | None = None) -> Result:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    result = CliRunner().invoke(cli.main, ["--db", url, *argv], env=env)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result


def refused(result: Result, code: int, *fragments: str) -> str:
    """Exit ``code``, nothing on stdout, one ``campaign:`` line naming every fragment."""
    assert result.exit_code == code, result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("campaign: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


class FileState(NamedTuple):
    """What "nothing was written" means for a file and its directory."""

    digest: str
    wal_bytes: int  # a WAL database writes here first: it must stay empty
    directory: list[str]


def state(path: Path) -> FileState:
    wal = path.with_name(path.name + "-wal")
    listing = sorted(p.name for p in path.parent.iterdir()
                     if not p.name.endswith(("-wal", "-shm")))  # readers' side files
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
    return FileState(digest, wal.stat().st_size if wal.exists() else 0, listing)


def master(path: Path) -> tuple[list[tuple[str, str]], int]:
    """sqlite_master and user_version, read without writing."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as raw:
        objects = raw.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
        version = raw.execute("PRAGMA user_version").fetchone()[0]
    raw.close()
    return objects, version


# -- finding 4: what is not a SQLite database, read-only files, other schemas, locks ---------


@pytest.mark.parametrize("content", [b"meeting notes\n", b"x", b"SQLite", bytes(range(256)) * 20],
                         ids=["text", "one-byte", "half-a-header", "binary"])
@pytest.mark.parametrize("argv", [["list"], ["init"], ADD_USER], ids=["read", "init", "write"])
def test_finding_4_file_that_is_not_a_database_is_refused(
    tmp_path: Path, content: bytes, argv: list[str]
) -> None:
    """SQLite itself takes a one-byte file for an empty database (and init would
    then overwrite it): the header is checked first."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    before = state(notes)
    refused(invoke(notes, *argv), INVALID, f"cannot use database {notes}",
            "not a SQLite database")
    assert state(notes) == before
    assert notes.read_bytes() == content


def test_finding_4_a_directory_is_not_a_database(tmp_path: Path) -> None:
    refused(invoke(tmp_path, "init"), INVALID, "is a directory")
    assert list(tmp_path.iterdir()) == []


def test_finding_4_read_only_database_refuses_writes_clearly(db_path: Path) -> None:
    """Opened read-only (SQLite's ``mode=ro``, which holds for root too): reads
    work, a write is refused with exit 10 and nothing changes."""
    url = f"sqlite:///file:{db_path}?mode=ro&uri=true"
    before = state(db_path)
    listed = invoke(url, "users", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert "office1" in listed.stdout
    refused(invoke(url, *ADD_USER), READ_ONLY, "database is read-only",
            f"cannot write to {db_path}")
    assert state(db_path) == before


@pytest.fixture
def unprivileged(tmp_path: Path) -> Iterator[list[str]]:
    """A command prefix under which file permissions hold: nothing for a normal
    user; for root, ``setpriv`` dropping every capability (root without
    CAP_DAC_OVERRIDE cannot write a 0444 file).  Skipped, with the reason, only
    when neither is possible."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    probe.chmod(0o444)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: cannot make a file read-only")
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    check = subprocess.run(
        [*prefix, sys.executable, "-c", f"open({str(probe)!r}, 'ab')"],
        capture_output=True, text=True, timeout=60, check=False)
    probe.unlink()
    if check.returncode == 0 or "PermissionError" not in check.stderr:
        pytest.skip(f"cannot make a file read-only here: {check.stderr.strip()[-200:]!r}")
    yield prefix


def run_cli(prefix: list[str], db: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    return subprocess.run([*prefix, sys.executable, str(CLI), "--db", f"sqlite:///{db}", *argv],
                          capture_output=True, text=True, timeout=120, check=False, env=env,
                          cwd=REPO)


def one_line(done: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("campaign: "), done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


def test_finding_4_read_only_file_reads_and_refuses_writes(
    db_path: Path, unprivileged: list[str]
) -> None:
    """chmod 444 in a writable directory: SQLite can still create the WAL's side
    files, so reads work; a write says the database is read-only (exit 10)."""
    db_path.chmod(0o444)
    before = state(db_path)
    listed = run_cli(unprivileged, db_path, "users", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "office1" in listed.stdout
    one_line(run_cli(unprivileged, db_path, *ADD_USER), READ_ONLY, "database is read-only",
             f"cannot write to {db_path}")
    assert state(db_path) == before


def test_finding_4_read_only_directory_says_why_even_reads_fail(
    db_path: Path, unprivileged: list[str]
) -> None:
    """A WAL database in a read-only directory cannot be read either (SQLite must
    create its -shm file there): said so, exit 10, rather than an internal error."""
    folder = db_path.parent
    for side in ("-wal", "-shm"):
        assert not db_path.with_name(db_path.name + side).exists()
    db_path.chmod(0o444)
    folder.chmod(0o555)
    try:
        for argv in (["users", "list"], ADD_USER):
            one_line(run_cli(unprivileged, db_path, *argv), READ_ONLY,
                     "database is read-only", "its directory is read-only", "-shm")
    finally:
        folder.chmod(0o755)


class Foreign(NamedTuple):
    id: str
    sql: str  # run on a copy of a campaign database, or on a new file for "another program"
    fragment: str


OTHER_SCHEMAS = [
    Foreign("another-program", "", "holds another program's tables (customers, orders)"),
    Foreign("unknown-table", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
            "tables campaign does not know (notes)"),
    Foreign("unknown-view", "CREATE VIEW everyone AS SELECT * FROM app_user",
            "tables campaign does not know (everyone)"),
    Foreign("other-columns", "ALTER TABLE app_user ADD COLUMN shoe_size INTEGER",
            "table app_user has other columns than campaign's (unexpected shoe_size)"),
    Foreign("missing-table", "DROP TABLE progress_note", "incomplete: no table progress_note"),
    Foreign("older-version", "PRAGMA user_version = 0",
            "made by an older version of campaign (schema 0; this build needs schema "
            f"{schema.SCHEMA_VERSION}), and there is no migration yet"),
]


def make_foreign(case: Foreign, db_path: Path) -> None:
    if case.id == "another-program":
        db_path.unlink()
        with sqlite3.connect(db_path) as raw:
            raw.executescript(
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER);"
                "INSERT INTO customers VALUES (1, 'ACME');")
        raw.close()
        return
    with sqlite3.connect(db_path) as raw:
        raw.execute(case.sql)
    raw.close()


@pytest.mark.parametrize("case", OTHER_SCHEMAS, ids=[c.id for c in OTHER_SCHEMAS])
def test_finding_4_database_of_another_schema_is_refused(db_path: Path, case: Foreign) -> None:
    make_foreign(case, db_path)
    before, objects = state(db_path), master(db_path)
    for argv in (["list"], ["init"], ADD_USER, ["audit", "verify"]):
        refused(invoke(db_path, *argv), INVALID, f"cannot use database {db_path}", case.fragment)
    assert state(db_path) == before
    assert master(db_path) == objects


@pytest.mark.parametrize("kind", ["write", "read"])
def test_finding_4_lock_held_by_another_program_is_busy_exit_9(db_path: Path, kind: str) -> None:
    """Another program holds the lock: after CAMPAIGN_BUSY_TIMEOUT (here 0.3 s)
    the command gives up with exit 9 instead of waiting 30 s for an internal error.

    A plain exclusive transaction blocks writers only (WAL readers go on); one in
    ``locking_mode=EXCLUSIVE`` that has written blocks readers too."""
    holder = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    if kind == "read":
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    if kind == "read":
        holder.execute("CREATE TABLE holder_scratch (x)")  # takes the exclusive lock
    argv = ADD_USER if kind == "write" else ["users", "list"]
    try:
        started = time.monotonic()
        line = refused(invoke(db_path, *argv, env={"CAMPAIGN_BUSY_TIMEOUT": "0.3"}), BUSY,
                       "database is busy (locked by another writer); try again",
                       "waited 0.3 s", "CAMPAIGN_BUSY_TIMEOUT")
        assert time.monotonic() - started < 8, line
        if kind == "write":  # readers are not blocked by a writer
            assert invoke(db_path, "users", "list",
                          env={"CAMPAIGN_BUSY_TIMEOUT": "0.3"}).exit_code == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    done = invoke(db_path, *argv)
    assert done.exit_code == 0, done.output


def test_finding_4_busy_is_an_engine_error_for_api_callers(
    db_url: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPAIGN_BUSY_TIMEOUT", "0.2")
    campaign = Campaign.open(db_url)
    campaign.reads.users()  # the schema check, before the lock is taken
    holder = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseBusy) as caught:
            campaign.people.add_user("office1", "newcomer", "新人", ["member"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        campaign.store.engine.dispose()
    assert caught.value.exit_code == BUSY
    assert caught.value.waited == pytest.approx(0.2)


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_finding_4_a_bad_busy_timeout_is_invalid_input(db_path: Path, value: str) -> None:
    refused(invoke(db_path, "list", env={"CAMPAIGN_BUSY_TIMEOUT": value}), INVALID,
            "CAMPAIGN_BUSY_TIMEOUT", "seconds")


@pytest.mark.sqlite_only("PRAGMA busy_timeout is SQLite's; PostgreSQL waits for locks itself")
def test_the_busy_timeout_defaults_to_ten_seconds_and_reaches_sqlite(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert database.busy_timeout() == 10
    monkeypatch.setenv("CAMPAIGN_BUSY_TIMEOUT", "1.5")
    campaign = Campaign.open(db_url)
    try:
        with campaign.store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    finally:
        campaign.store.engine.dispose()


# -- finding 6: init and reads only ever write into what is empty or ours ------------------


def test_finding_6_init_leaves_a_foreign_database_untouched(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as raw:
        raw.executescript("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                          "CREATE INDEX customers_name ON customers (name);"
                          "INSERT INTO customers VALUES (1, 'ACME');")
    raw.close()
    before, objects = state(shop), master(shop)
    refused(invoke(shop, "init"), INVALID, f"cannot use database {shop}",
            "not a campaign database", "customers")
    assert master(shop) == objects  # not the 16 tables it used to leave behind
    assert state(shop) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]  # no journal, no WAL


def test_finding_6_a_failed_schema_creation_leaves_no_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Check and creation are one transaction: a failure half-way leaves nothing."""
    path = tmp_path / "campaign.db"

    def fail(_connection: object) -> None:
        raise RuntimeError("power cut")

    # The last step of init's transaction, after the migrations made every table.
    monkeypatch.setattr(schema, "_restore_triggers", fail)
    campaign = Campaign.open(f"sqlite:///{path}")
    with pytest.raises(RuntimeError, match="power cut"):
        campaign.deliverables.init()
    campaign.store.engine.dispose()
    assert master(path) == ([], 0)


@pytest.mark.parametrize("command", [["list"], ["users", "list"], ["audit", "verify"],
                                     ["show", "1"], ADD_USER])
def test_finding_6_list_on_an_empty_file_does_not_make_a_database(
    tmp_path: Path, command: list[str]
) -> None:
    """A read (or a write) on an empty or missing file is "not found", and the
    file stays 0 bytes or absent: WAL is no longer switched on by connecting."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    refused(invoke(empty, *command), NOT_FOUND, "campaign database (run `campaign init` first)")
    assert empty.stat().st_size == 0
    missing = tmp_path / "missing.db"
    refused(invoke(missing, *command), NOT_FOUND, "run `campaign init` first")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_finding_6_init_makes_an_empty_file_a_campaign_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert invoke(empty, "init").exit_code == 0
    assert master(empty)[1] == schema.SCHEMA_VERSION
    assert invoke(empty, "list", "--json").stdout.strip() == "[]"


def test_finding_6_reads_never_write(db_path: Path) -> None:
    before = state(db_path)
    for argv in (["list"], ["users", "list"], ["audit", "verify"], ["definitions", "list"]):
        assert invoke(db_path, *argv).exit_code == 0
    assert state(db_path) == before


@pytest.mark.parametrize("argv", [["list"], ["init"], ADD_USER, ["audit", "digest"]])
def test_finding_6_newer_user_version_is_refused_before_writing(
    db_path: Path, argv: list[str]
) -> None:
    newer = schema.SCHEMA_VERSION + 1
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {newer}")
    raw.close()
    before, objects = state(db_path), master(db_path)
    refused(invoke(db_path, *argv), INVALID, f"cannot use database {db_path}",
            f"made by a newer version of campaign (schema {newer}; this build reads "
            f"schema {schema.SCHEMA_VERSION})")
    assert state(db_path) == before
    assert master(db_path) == objects


def test_init_twice_on_our_own_database_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "campaign.db"
    first = invoke(path, "init")
    assert first.exit_code == 0, first.output
    objects = master(path)
    again = invoke(path, "init")
    assert again.exit_code == 0, again.output
    assert "none changed" in again.stdout
    assert master(path) == objects
    assert objects[1] == schema.SCHEMA_VERSION == 2
    with sqlite3.connect(path) as raw:  # WAL is set once, at creation, and stays with the file
        assert raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        triggers = {r[0] for r in raw.execute("SELECT name FROM sqlite_master "
                                              "WHERE type = 'trigger'")}
    raw.close()
    assert {"audit_event_no_update", "audit_event_no_delete"} <= triggers


def test_the_schema_does_not_depend_on_what_the_caller_imported(tmp_path: Path) -> None:
    """A database created by a process that imported only workflow.store.database and .schema
    (not the attachment code, which defines one table) is the same schema the
    command line expects, and the other way round."""
    path = tmp_path / "campaign.db"
    script = ("import sys; from workflow.store import database, schema; "
              "engine = database.make_engine(sys.argv[1]); schema.create_schema(engine); "
              "print(schema.schema_ready(engine))")
    done = subprocess.run([sys.executable, "-c", script, f"sqlite:///{path}"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "True", done.stderr
    assert "attachment_blob" in {name for kind, name in master(path)[0] if kind == "table"}
    initialised = invoke(path, "init")
    assert initialised.exit_code == 0, initialised.output


# -- finding 7a: a URL's password never appears in a message -------------------------------


SECRET = "tiger-s3cret"


@pytest.mark.parametrize("url", [
    f"postgresql://scott:{SECRET}@nohost/campaign",
    f"postgresql://scott:{SECRET}@nohost:notaport/campaign",
    f"postgresql://scott:{SECRET}@with@at@nohost/campaign",
    f"mysql://scott:{SECRET}@nohost/campaign",
    f"postgresql+nosuchdriver://scott:{SECRET}@nohost/campaign",
])
def test_finding_7_password_is_masked_in_error_messages(url: str) -> None:
    for argv in (["list"], ["init"]):
        result = invoke(url, *argv)
        assert result.exit_code in (1, INVALID), result.output
        line = refused(result, result.exit_code, "scott:***@")
        assert SECRET not in result.output and "s3cret" not in line, line
        assert "with@at" not in line  # the rest of an unescaped password is masked too


def test_finding_7_driver_text_and_any_message_are_redacted() -> None:
    url = f"postgresql://scott:{SECRET}@db.example/campaign"
    said = f'FATAL: password "{SECRET}" rejected for scott at {url}'
    assert SECRET not in database.redact(said, url)
    assert SECRET not in database.redact(said, database.make_url(url))
    encoded = "postgresql://scott:p%40ss%2Fw0rd@db.example/campaign"
    assert "p@ss/w0rd" not in database.redact("auth failed: p@ss/w0rd", encoded)
    assert database.shown(url) == "postgresql://scott:***@db.example/campaign"
    assert mask_credentials(f"x {url} y") == "x postgresql://scott:***@db.example/campaign y"
    assert mask_credentials("sqlite:///C:/campaign.db http://host:8080/x") == (
        "sqlite:///C:/campaign.db http://host:8080/x")
    error = CampaignError(f"cannot reach {url}")
    assert SECRET not in str(error) and "scott:***@db.example" in str(error)


# -- the error tree ------------------------------------------------------------------------


def test_new_errors_have_their_documented_codes() -> None:
    assert issubclass(IncompatibleDatabase, InvalidInput)
    assert IncompatibleDatabase("x", "y").exit_code == INVALID
    assert DatabaseBusy("x", 1.0).exit_code == BUSY
    assert DatabaseReadOnly("x").exit_code == READ_ONLY
    help_text = " ".join(cli.EXIT_HELP.split())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, words in ((9, "database busy"), (10, "database read-only")):
        assert f"{code} {words}" in help_text
        assert f"| {code} |" in readme
