"""The schema: creating and upgrading it (through the migrations of
:mod:`workflow.store.migrate`), and refusing any database that is not this build's.

The database layer refuses what is not its own before writing anything: a
file that is not SQLite, another program's tables, our tables with other
columns, a marker other than :data:`SCHEMA_VERSION`, or a revision this build
does not know (made by a newer one).  An older revision is refused too, but
names the way out: ``campaign db upgrade``.  Reading never
writes: WAL is switched on once, when the schema is created (it is a property
of the file), not on every connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.engine.reflection import Inspector
from sqlmodel import SQLModel

from workflow.errors import DatabaseUnavailable, IncompatibleDatabase, NotFound
from workflow.store import (
    access,  # noqa: F401  (registers the sign-in tables on SQLModel.metadata)
    models,  # noqa: F401  (registers the tables on SQLModel.metadata)
    revisions,
)
from workflow.store.database import describe_location, sqlite_file, translated, write_connection

#: The pre-Alembic marker (SQLite's ``PRAGMA user_version``; a one-row
#: ``schema_meta`` table elsewhere).  2: the schema of issue 8's session (audit
#: events with their origin), which is Alembic revision 0001; every revision
#: since keeps it, and Alembic's ``alembic_version`` says which revision it is.
#: A database marked 2 without that table was made before migrations existed.
SCHEMA_VERSION = 2
_SQLITE_MAGIC = b"SQLite format 3\x00"

# SQLite cannot refuse an UPDATE/DELETE by permission, so triggers make the
# audit log append-only for every client; the hash chain catches anyone who
# drops them.
_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]

# PostgreSQL has no user_version: the version lives in a one-row table of its
# own, kept off SQLModel.metadata so SQLite never gets it.
_META = MetaData()
_SCHEMA_META = Table("schema_meta", _META, Column("version", Integer, nullable=False))




def _refuse_other_files(engine: Engine) -> Path | None:
    """Refuse, before SQLite touches it, a file that is not a SQLite database.

    SQLite itself would take a one-byte file for an empty database (and
    ``init`` would then overwrite it).  Returns the file, or None for a
    server or an in-memory database.
    """
    path = sqlite_file(engine.url)
    if path is None:
        return None
    if path.is_dir():
        raise IncompatibleDatabase(str(path), "it is a directory")
    try:
        with path.open("rb") as stream:
            head = stream.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    if head and head != _SQLITE_MAGIC:
        raise IncompatibleDatabase(str(path), "not a SQLite database")
    return path


def _stored_version(connection: Connection, tables: set[str]) -> int:
    if connection.dialect.name == "sqlite":
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    if _SCHEMA_META.name not in tables:
        return 0
    return int(connection.execute(select(_SCHEMA_META.c.version)).scalar() or 0)


def _listing(names: set[str]) -> str:
    shown_names = sorted(names)
    more = f" and {len(shown_names) - 5} more" if len(shown_names) > 5 else ""
    return ", ".join(shown_names[:5]) + more


def _schema() -> MetaData:
    """Every table of the schema: models.py and access.py define them all, so the tables
    init creates and the tables the check expects never depend on what the
    caller happened to import."""
    return SQLModel.metadata


class Found(NamedTuple):
    """What a database holds: its revision (None: nothing yet), and whether
    Alembic stamped it (False: made before migrations, by its marker alone)."""

    revision: str | None
    stamped: bool


def _found(connection: Connection, where: str) -> Found:
    """The revision the database holds; anything not ours is refused, naming
    what is wrong.  Only reads."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names()) | set(inspector.get_view_names())
    version = _stored_version(connection, present)
    stamp = revisions.stamped(connection, present)
    present -= {revisions.VERSION_TABLE} | (
        set() if connection.dialect.name == "sqlite" else {_SCHEMA_META.name})
    if not present:
        if version in (0, SCHEMA_VERSION) and stamp is None:
            return Found(None, False)
        marks = f"schema version {version}" if stamp is None else f"revision {stamp}"
        raise IncompatibleDatabase(where, "not a campaign database: it has no tables but "
                                   f"is marked with {marks}")
    if "audit_event" not in present:
        raise IncompatibleDatabase(where, "not a campaign database: it holds another "
                                   f"program's tables ({_listing(present)})")
    _check_marker(version, where)
    revision = stamp or revisions.LEGACY_REVISION
    if revision not in revisions.REVISIONS:
        raise IncompatibleDatabase(where, f"made by a newer version of campaign (schema "
                                   f"revision {revision}; this build knows revisions up to "
                                   f"{revisions.HEAD})")
    if revision == revisions.HEAD:
        _check_tables(inspector, present, where)
    return Found(revision, stamp is not None)


def _check_marker(version: int, where: str) -> None:
    """The pre-Alembic marker: 2 on every database since; other values came
    from builds without migrations, older (nothing migrates them) or newer."""
    if version > SCHEMA_VERSION:
        raise IncompatibleDatabase(where, f"made by a newer version of campaign (schema "
                                   f"{version}; this build reads schema {SCHEMA_VERSION})")
    if version < SCHEMA_VERSION:
        raise IncompatibleDatabase(where, f"made by an older version of campaign (schema "
                                   f"{version}; this build needs schema {SCHEMA_VERSION}), "
                                   "and there is no migration yet")


def _check_tables(inspector: Inspector, present: set[str], where: str) -> None:
    """At the head, the tables and their columns are exactly the models'."""
    known = _schema().tables
    unknown = present - set(known)
    if unknown:
        raise IncompatibleDatabase(where, "not a campaign database: it holds tables campaign "
                                   f"does not know ({_listing(unknown)})")
    missing = set(known) - present
    if missing:
        raise IncompatibleDatabase(where, f"its campaign schema is incomplete: no table "
                                   f"{_listing(missing)}")
    # One query for every table's columns on a server (a query per table costs
    # PostgreSQL's catalog a round trip each, on every command that opens it).
    found = inspector.get_multi_columns(filter_names=sorted(known))
    for name, table in sorted(known.items()):
        columns = {column["name"] for column in found.get((None, name), [])}
        expected = set(table.columns.keys())
        if columns != expected:
            differences = [f"{label} {_listing(names)}" for label, names in (
                ("missing", expected - columns), ("unexpected", columns - expected)) if names]
            raise IncompatibleDatabase(where, f"table {name} has other columns than "
                                       f"campaign's ({'; '.join(differences)})")


def create_schema(engine: Engine) -> None:
    """Bring the database to this build's schema through the migrations: create
    it in an empty database, adopt and upgrade an older one, or confirm ours.

    The check and the migrations are one write transaction (SQLite's and
    PostgreSQL's DDL is transactional), so a refused or failed init leaves
    the database as it was, and two racing inits cannot both find it empty.
    """
    # Imported here: Alembic is needed only by init and upgrade, and every
    # other command imports this module to check the schema.
    from workflow.store import migrate

    _refuse_other_files(engine)
    sqlite = engine.dialect.name == "sqlite"
    with write_connection(engine) as connection:
        found = _found(connection, describe_location(engine.url))
        migrate.upgrade(connection, found.revision, adopt=not found.stamped)
        if sqlite:
            _restore_triggers(connection)
    if sqlite:
        # WAL is a property of the file, so it is set once here, where writing
        # is expected, rather than on every connection (which made reads
        # write).  It cannot change inside a transaction: a raw connection in
        # autocommit mode does it.
        with translated(engine):
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA journal_mode=WAL")
            finally:
                raw.close()


def _restore_triggers(connection: Connection) -> None:
    """IF NOT EXISTS: init and upgrade also restore triggers someone dropped."""
    for statement in _APPEND_ONLY:
        connection.execute(text(statement))


def upgrade_schema(engine: Engine) -> Found:
    """``campaign db upgrade``: the schema of an existing database to the head.

    Returns what the database held before.  A missing or empty one is not
    found: ``campaign init`` creates a database, an upgrade only moves one.
    """
    before = schema_revision(engine)
    if before.revision is None:
        raise NotFound("campaign database (run `campaign init` first)", describe_location(
            engine.url))
    create_schema(engine)
    return before


def schema_revision(engine: Engine) -> Found:
    """What the database holds, for ``campaign db status``; never writes."""
    path = _refuse_other_files(engine)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return Found(None, False)  # not even connected: a read must not create the file
    with translated(engine), engine.connect() as connection:
        return _found(connection, describe_location(engine.url))


def schema_ready(engine: Engine) -> bool:
    """True if the database holds this build's schema; False if it is missing or empty.

    Never writes and never creates a file; anything not ours is refused, and
    an older revision too, naming the upgrade
    (:class:`~workflow.errors.IncompatibleDatabase`).
    """
    found = schema_revision(engine)
    if found.revision is None:
        return False
    if found.revision != revisions.HEAD:
        raise IncompatibleDatabase(describe_location(engine.url), f"its schema is at "
                                   f"revision {found.revision}, older than this build's "
                                   f"{revisions.HEAD}: run `campaign db upgrade`")
    return True
