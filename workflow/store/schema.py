"""The schema: creating it, and refusing any database that is not this build's.

The database layer refuses what is not its own before writing anything: a
file that is not SQLite, another program's tables, our tables with other
columns, or a schema version other than :data:`SCHEMA_VERSION`.  Reading never
writes: WAL is switched on once, when the schema is created (it is a property
of the file), not on every connection.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, inspect, select, text
from sqlmodel import SQLModel

from workflow.errors import DatabaseUnavailable, IncompatibleDatabase
from workflow.store import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from workflow.store.database import describe_location, sqlite_file, translated, write_connection

#: The schema this build reads and writes.  Stored in the database (SQLite's
#: ``PRAGMA user_version``; a one-row ``schema_meta`` table elsewhere) when the
#: schema is created; any other value is refused, as there is no migration yet.
#: 2: the schema of issue 8's session (audit events with their origin).
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


def _stamp_version(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Part of the transaction: a failed init leaves no version behind.
        connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        return
    _META.create_all(connection)
    connection.execute(_SCHEMA_META.delete())
    connection.execute(_SCHEMA_META.insert().values(version=SCHEMA_VERSION))


def _listing(names: set[str]) -> str:
    shown_names = sorted(names)
    more = f" and {len(shown_names) - 5} more" if len(shown_names) > 5 else ""
    return ", ".join(shown_names[:5]) + more


def _schema() -> MetaData:
    """Every table of the schema: models.py defines them all, so the tables
    init creates and the tables the check expects never depend on what the
    caller happened to import."""
    return SQLModel.metadata


def _ours(connection: Connection, where: str) -> bool:
    """True if the database holds this build's schema, False if it is empty.

    Anything else is refused, naming what is wrong.  Only reads.
    """
    inspector = inspect(connection)
    present = set(inspector.get_table_names()) | set(inspector.get_view_names())
    version = _stored_version(connection, present)
    if connection.dialect.name != "sqlite":
        present.discard(_SCHEMA_META.name)
    known = _schema().tables
    if not present:
        if version in (0, SCHEMA_VERSION):
            return False
        raise IncompatibleDatabase(where, f"not a campaign database: it has no tables but "
                                   f"is marked with schema version {version}")
    if "audit_event" not in present:
        raise IncompatibleDatabase(where, "not a campaign database: it holds another "
                                   f"program's tables ({_listing(present)})")
    if version > SCHEMA_VERSION:
        raise IncompatibleDatabase(where, f"made by a newer version of campaign (schema "
                                   f"{version}; this build reads schema {SCHEMA_VERSION})")
    if version < SCHEMA_VERSION:
        raise IncompatibleDatabase(where, f"made by an older version of campaign (schema "
                                   f"{version}; this build needs schema {SCHEMA_VERSION}), "
                                   "and there is no migration yet")
    unknown = present - set(known)
    if unknown:
        raise IncompatibleDatabase(where, "not a campaign database: it holds tables campaign "
                                   f"does not know ({_listing(unknown)})")
    missing = set(known) - present
    if missing:
        raise IncompatibleDatabase(where, f"its campaign schema is incomplete: no table "
                                   f"{_listing(missing)}")
    for name, table in sorted(known.items()):
        columns = {column["name"] for column in inspector.get_columns(name)}
        expected = set(table.columns.keys())
        if columns != expected:
            differences = [f"{label} {_listing(names)}" for label, names in (
                ("missing", expected - columns), ("unexpected", columns - expected)) if names]
            raise IncompatibleDatabase(where, f"table {name} has other columns than "
                                       f"campaign's ({'; '.join(differences)})")
    return True


def create_schema(engine: Engine) -> None:
    """Create this build's schema in an empty database, or confirm an existing one is ours.

    The check and the creation are one write transaction (SQLite's DDL is
    transactional), so a refused or failed init leaves the database as it was,
    and two racing inits cannot both find it empty.
    """
    _refuse_other_files(engine)
    sqlite = engine.dialect.name == "sqlite"
    with write_connection(engine) as connection:
        if not _ours(connection, describe_location(engine.url)):
            _schema().create_all(connection)
            _stamp_version(connection)
        if sqlite:
            # IF NOT EXISTS: init also restores triggers someone dropped.
            for statement in _APPEND_ONLY:
                connection.execute(text(statement))
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


def schema_ready(engine: Engine) -> bool:
    """True if the database holds this build's schema; False if it is missing or empty.

    Never writes and never creates a file; anything not ours is refused
    (:class:`~workflow.errors.IncompatibleDatabase`).
    """
    path = _refuse_other_files(engine)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return False  # not even connected: a read must not create the file
    with translated(engine), engine.connect() as connection:
        return _ours(connection, describe_location(engine.url))


