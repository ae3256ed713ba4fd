"""Migrations with Alembic (issue 11): ``init`` creates the schema through them,
``campaign db upgrade`` adopts a database made before they existed without
losing a row, ``campaign db status`` says where a database stands, and the
models and the migrations cannot drift apart.

``tests/fixtures/release-schema2.db`` was made by release 0.1 (SCHEMA_VERSION
2, before migrations): ``start mianyang-2014`` with examples/people.csv, a
self-review revised, returned, approved into publicity, an opinion, a
refusal, an event, a talk, target progress and a forced phase advance.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner, Result
from sqlalchemy import Column, MetaData, String, create_engine, text
from sqlmodel import SQLModel

import cli
from workflow.store import database, migrate, revisions, schema
from workflow.store.migrations.versions.rev_0006_ids_as_bigint import COLUMNS as BIGINT_IDS

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "release-schema2.db"
INVALID, NOT_FOUND = 7, 6


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def release_db(tmp_path: Path) -> Path:
    copy = tmp_path / "release.db"
    shutil.copyfile(FIXTURE, copy)
    return copy


def invoke(db: Path | str, *argv: str) -> Result:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    result = CliRunner().invoke(cli.main, ["--db", url, *argv])
    assert "Traceback" not in result.output, result.output
    return result


#: Columns later revisions added (0003: an event's chain and place there),
#: NULL on every row a release database already held.
ADDED = {"audit_event": ("chain", "chain_seq"), "event_record": ("facts",)}


def rows(path: Path, *, only_release: bool = True) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every campaign table, in a stable order (Alembic's own table
    aside), without the columns later revisions added (:data:`ADDED`), which
    must be NULL on the rows of release 0.1."""
    with sqlite3.connect(path) as raw:
        raw.row_factory = sqlite3.Row
        names = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'")]
        found = {name: sorted((_release_columns(name, row, only_release) for row in
                               raw.execute(f'SELECT * FROM "{name}"')), key=repr)
                 for name in names}
    raw.close()
    return found


def _release_columns(table: str, row: sqlite3.Row, only_release: bool) -> tuple[object, ...]:
    added = ADDED.get(table, ())
    values = dict(row)
    assert not only_release or all(values[name] is None for name in added if name in values)
    return tuple(value for name, value in values.items() if name not in added)


def marks(path: Path) -> tuple[int, list[str], set[str]]:
    """The pre-Alembic marker, Alembic's stamp and the triggers."""
    with sqlite3.connect(path) as raw:
        version = raw.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        stamp = ([r[0] for r in raw.execute("SELECT version_num FROM alembic_version")]
                 if "alembic_version" in tables else [])
        triggers = {r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    raw.close()
    return version, stamp, triggers


# -- the revisions ------------------------------------------------------------------------


def test_the_revisions_checked_at_start_up_are_the_scripts() -> None:
    assert migrate.script_revisions() == list(revisions.REVISIONS)
    assert revisions.REVISIONS[-1] == revisions.HEAD


def test_init_creates_the_schema_through_the_migrations(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    assert invoke(path, "init").exit_code == 0
    version, stamp, triggers = marks(path)
    assert (version, stamp) == (schema.SCHEMA_VERSION, [revisions.HEAD])
    assert {"audit_event_no_update", "audit_event_no_delete"} <= triggers
    status = json.loads(invoke(path, "db", "status", "--json").stdout)
    assert status == {"current": revisions.HEAD, "head": revisions.HEAD, "pending": [],
                      "stamped": True, "upgrade_needed": False}


# -- a database of release 0.1 --------------------------------------------------------------


def test_a_release_database_reads_as_revision_0001_before_its_upgrade(release_db: Path) -> None:
    status = json.loads(invoke(release_db, "db", "status", "--json").stdout)
    assert status == {"current": "0001", "head": revisions.HEAD,
                      "pending": revisions.pending("0001"), "stamped": False,
                      "upgrade_needed": True}
    assert "made before migrations" in invoke(release_db, "db", "status").stdout


def test_upgrading_a_release_database_keeps_every_row_and_its_audit(release_db: Path) -> None:
    before = rows(release_db)
    assert sum(map(len, before.values())) == 151 and len(before["audit_event"]) == 67
    upgraded = invoke(release_db, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    after = rows(release_db)
    assert {table: after[table] for table in before} == before
    assert not any(after[table] for table in set(after) - set(before))  # 0005's, empty
    version, stamp, triggers = marks(release_db)
    assert (version, stamp) == (schema.SCHEMA_VERSION, [revisions.HEAD])
    assert {"audit_event_no_update", "audit_event_no_delete"} <= triggers
    verified = invoke(release_db, "audit", "verify")
    assert verified.exit_code == 0 and "67 events and 24 deliverables" in verified.stdout
    again = invoke(release_db, "db", "upgrade")
    assert again.exit_code == 0 and "nothing to do" in again.stdout


def test_the_command_line_works_on_an_upgraded_release_database(release_db: Path) -> None:
    assert invoke(release_db, "db", "upgrade").exit_code == 0
    assert len(json.loads(invoke(release_db, "list", "--json").stdout)) == 24
    assert invoke(release_db, "init").exit_code == 0
    commented = invoke(release_db, "--as", "lishuji", "comment", "11", "--text", "已阅")
    assert commented.exit_code == 0, commented.output
    assert invoke(release_db, "--as", "zhangfu", "revise", "2", "--content",
                  str(Path(cli.__file__).parent / "examples" / "self-review-v2.md")
                  ).exit_code == 0
    assert invoke(release_db, "audit", "verify").exit_code == 0


def test_a_digest_kept_before_the_upgrade_still_proves_the_log_extends_it(
        release_db: Path) -> None:
    """Release 0.1's digest was the head event's ``seq:hash``; after the
    upgrade, new events go into chains of their own and that digest holds."""
    with sqlite3.connect(release_db) as raw:
        seq, value = raw.execute(
            "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    raw.close()
    assert invoke(release_db, "db", "upgrade").exit_code == 0
    assert invoke(release_db, "--as", "lishuji", "comment", "11", "--text", "已阅").exit_code == 0
    assert invoke(release_db, "--as", "wangmin", "users", "grant", "lisi", "leader"
                  ).exit_code == 0
    with sqlite3.connect(release_db) as raw:
        chains = dict(raw.execute("SELECT chain, count(*) FROM audit_event WHERE chain IS NOT "
                                  "NULL GROUP BY chain").fetchall())
    raw.close()
    assert chains.get("global") == 1 and len(chains) == 2  # the grant, and the remark's unit
    assert invoke(release_db, "audit", "verify", "--digest", f"{seq}:{value}").exit_code == 0
    forged = f"{seq}:{'0' * 64}"
    assert invoke(release_db, "audit", "verify", "--digest", forged).exit_code == 8


def test_init_adopts_a_release_database_too(release_db: Path) -> None:
    before = rows(release_db)
    assert invoke(release_db, "init").exit_code == 0
    assert marks(release_db)[1] == [revisions.HEAD]
    # Every row the release held is kept; what init adds is the definitions
    # changed since, each loaded with its audit event.
    after = rows(release_db, only_release=False)
    # (A definition row marks whether it is current, which a new version changes.)
    for table, held in before.items():
        if table != "workflow_definition":
            assert set(held) <= set(after[table]), table
    added = {table: len(after[table]) - len(held) for table, held in before.items()
             if len(after[table]) != len(held)}
    assert set(added) <= {"workflow_definition", "audit_event"}
    assert added.get("workflow_definition", 0) == added.get("audit_event", 0)


# -- refusals ---------------------------------------------------------------------------------


def test_a_revision_this_build_does_not_know_is_refused_as_newer(release_db: Path) -> None:
    assert invoke(release_db, "db", "upgrade").exit_code == 0
    with sqlite3.connect(release_db) as raw:
        raw.execute("UPDATE alembic_version SET version_num = 'f00d'")
    raw.close()
    before = rows(release_db)
    for argv in (["list"], ["db", "status"], ["db", "upgrade"], ["init"],
                 ["--as", "wangmin", "users", "grant", "lisi", "leader"]):
        result = invoke(release_db, *argv)
        assert result.exit_code == INVALID, (argv, result.output)
        assert "made by a newer version of campaign (schema revision f00d" in result.stderr
    assert rows(release_db) == before


def test_an_older_revision_asks_for_db_upgrade_and_the_upgrade_runs(release_db: Path) -> None:
    """This build's head is past 0001: on a database at 0001 reads and writes
    are refused naming `campaign db upgrade`, and nothing is written."""
    assert revisions.HEAD != "0001"
    before = rows(release_db)
    for argv in (["list"], ["audit", "verify"], ["--as", "wangmin", "users", "grant", "lisi",
                                                 "leader"]):
        result = invoke(release_db, *argv)
        assert result.exit_code == INVALID, (argv, result.output)
        assert (f"revision 0001, older than this build's {revisions.HEAD}: run "
                "`campaign db upgrade`") in result.stderr
    assert rows(release_db) == before
    status = json.loads(invoke(release_db, "db", "status", "--json").stdout)
    assert status["pending"] == revisions.pending("0001") and status["upgrade_needed"] is True
    assert invoke(release_db, "db", "upgrade").exit_code == 0
    assert invoke(release_db, "list").exit_code == 0


def test_db_upgrade_does_not_create_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = invoke(missing, "db", "upgrade")
    assert result.exit_code == NOT_FOUND and "run `campaign init` first" in result.stderr
    assert not missing.exists()
    status = json.loads(invoke(missing, "db", "status", "--json").stdout)
    assert status["current"] is None and status["pending"] == list(revisions.REVISIONS)
    assert not missing.exists()


# -- the models and the migrations agree ------------------------------------------------------


def differences(url: str, models: MetaData = SQLModel.metadata) -> list[object]:
    """What autogenerate would write to bring a database made by the migrations to the models."""
    engine = database.make_engine(url)
    schema.create_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_object": lambda _o, name, kind, _r, _c: not (
                kind == "table" and name == "schema_meta"),
            "compare_type": True})
        return list(compare_metadata(context, models))


def test_models_and_migrations_agree_on_sqlite(tmp_path: Path) -> None:
    assert differences(f"sqlite:///{tmp_path / 'agree.db'}") == []


def test_models_and_migrations_agree_on_postgresql(pg_url: str) -> None:
    assert differences(pg_url) == []


def test_a_model_change_without_a_migration_is_caught(tmp_path: Path) -> None:
    """The check above is not vacuous: a column the migrations lack shows."""
    models = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(models)
    models.tables["app_user"].append_column(Column("nickname", String(), nullable=True))
    found = differences(f"sqlite:///{tmp_path / 'drift.db'}", models)
    assert [change[0][:2] if isinstance(change[0], tuple) else change[:2]
            for change in found] == [("add_column", None)]


#: What revisions 0002–0007 added or changed on a server, and Alembic's stamp:
#: without them, a database is what release 0.1 made.
RELEASE_UNDO = (
    *(f"ALTER SEQUENCE {table}_id_seq AS integer" for table in BIGINT_IDS
      if table not in ("audit_event", "access_refusal", "rectification")),
    *(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} TYPE integer" for c in columns)
      for table, columns in BIGINT_IDS.items()),
    *(f"DROP TABLE {table}" for table in ("credential", "user_contact", "web_session",
                                          "signin_failure", "server_secret", "notification",
                                          "notify_cursor")),
    "DROP INDEX ix_deliverable_sha_state_plan", "DROP INDEX ix_deliverable_owner_tally",
    "ALTER TABLE event_record DROP COLUMN facts", "DROP INDEX ix_deliverable_plan_type",
    "DROP INDEX ix_rectification_responsible_id",
    "DROP INDEX ux_audit_event_chain", "ALTER TABLE audit_event DROP COLUMN chain",
    "ALTER TABLE audit_event DROP COLUMN chain_seq", "DROP SEQUENCE audit_event_seq",
    "DROP INDEX ix_deliverable_type_state", "DROP INDEX ix_deliverable_definition_state",
    "DROP INDEX ix_deliverable_due",
    *(f"DROP TRIGGER audit_event_{t} ON audit_event"
      for t in ("no_update", "no_delete", "no_truncate")),
    "DROP FUNCTION audit_event_append_only()", "DROP TABLE alembic_version",
)


def test_a_pre_migration_postgresql_database_is_adopted(pg_url: str) -> None:
    """On a server the 0.1 marker is the one-row schema_meta table."""
    engine = database.make_engine(pg_url)
    schema.create_schema(engine)
    with engine.begin() as connection:  # back to exactly what 0.1 made
        for statement in RELEASE_UNDO:
            connection.execute(text(statement))
    assert schema.schema_revision(engine) == schema.Found("0001", False)
    assert schema.upgrade_schema(engine) == schema.Found("0001", False)
    assert schema.schema_revision(engine) == schema.Found(revisions.HEAD, True)
    with create_engine(pg_url).connect() as connection:
        assert connection.execute(text("SELECT version FROM schema_meta")).scalar() == 2
