"""Engine, pragmas and the one way to write.

SQLite is the embedded default and must be durable: WAL so readers never
block the writer, ``synchronous=FULL`` so a committed approval survives a
power cut, a busy timeout so racing writers queue, and ``BEGIN IMMEDIATE`` for
write transactions so the write lock is taken before anything is read — two
writers can then never both read version N and race to write N+1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from . import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from .errors import CampaignError, InvalidInput

DEFAULT_URL = "sqlite:///campaign.db"
BUSY_TIMEOUT_MS = 30_000
_WRITE = "campaign_write"

# SQLite cannot refuse an UPDATE/DELETE by permission, so triggers make the
# audit log append-only for every client; the hash chain catches anyone who
# drops them.
_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


class DatabaseUnavailable(CampaignError):
    exit_code = 1


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("CAMPAIGN_DB") or DEFAULT_URL


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:
        raise InvalidInput(f"cannot use database URL {url!r}: {exc}") from None


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit
    # BEGIN is deferred and would defeat BEGIN IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_schema(engine: Engine) -> None:
    try:
        SQLModel.metadata.create_all(engine)
        if engine.dialect.name == "sqlite":
            with engine.begin() as connection:
                for statement in _APPEND_ONLY:
                    connection.execute(text(statement))
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot create database: {exc.orig}") from None


def schema_ready(engine: Engine) -> bool:
    try:
        return inspect(engine).has_table("audit_event")
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot open database: {exc.orig}") from None


@cache
def _writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions begin IMMEDIATE."""
    return engine.execution_options(**{_WRITE: True})


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Session]:
    """One transaction that holds the write lock from its first statement.

    Everything inside commits together or not at all.
    """
    with Session(_writer(engine)) as session, session.begin():
        if engine.dialect.name == "postgresql":
            # One writer at a time keeps the global audit chain linear.
            session.execute(text("SELECT pg_advisory_xact_lock(727101)"))
        yield session


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """Like :func:`write_transaction`, without the ORM: for the hot path of moves."""
    with _writer(engine).begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(727101)"))
        yield connection


def as_connection(handle: Session | Connection) -> Connection:
    """Core statements run on the connection under either kind of transaction."""
    return handle.connection() if isinstance(handle, Session) else handle


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only snapshot: one deferred transaction, rolled back on close."""
    with Session(engine) as session:
        yield session
