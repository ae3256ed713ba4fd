"""Engines, pragmas, the translation of database failures, and the one way to write.

SQLite is the embedded default and must be durable: WAL so readers never
block the writer, ``synchronous=FULL`` so a committed approval survives a
power cut, a bounded busy timeout so racing writers queue, and ``BEGIN
IMMEDIATE`` for write transactions so the write lock is taken before anything
is read — two writers can then never both read version N and race to write N+1.

The database layer refuses what is not its own before writing anything: a
file that is not SQLite, another program's tables, our tables with other
columns, or a schema version other than :data:`SCHEMA_VERSION`.  Reading never
writes: WAL is switched on once, when the schema is created (it is a property
of the file), not on every connection.  Every database failure the caller can
do something about — busy, read-only, not a database, unreachable — leaves
here as one :class:`~workflow.errors.CampaignError` with its exit code, and no
message ever shows a URL's password.
"""

from __future__ import annotations

import math
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    create_engine,
    event,
    func,
    literal,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from workflow.errors import (
    CampaignError,
    DatabaseBusy,
    DatabaseReadOnly,
    IncompatibleDatabase,
    InvalidInput,
    mask_credentials,
    url_passwords,
)

# It used to live here; callers (the attachment store) still name it database.DatabaseUnavailable.
from workflow.errors import DatabaseUnavailable as DatabaseUnavailable

DEFAULT_URL = "sqlite:///campaign.db"
#: How long a writer waits for another's lock before giving up (seconds).
BUSY_TIMEOUT_ENV = "CAMPAIGN_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 10.0

# The busy timeout each engine was made with, for the message when it runs out.
_BUSY_SECONDS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("CAMPAIGN_DB") or DEFAULT_URL


def busy_timeout() -> float:
    """Seconds a writer waits for the lock: ``CAMPAIGN_BUSY_TIMEOUT``, default 10."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInput(f"{BUSY_TIMEOUT_ENV}={raw!r} is not a number of seconds (e.g. 10)")
    return seconds


# -- showing a URL without its password -----------------------------------------------


def shown(url: str | URL) -> str:
    """The URL as messages may show it: password masked, parsable or not."""
    raw = url.render_as_string(hide_password=True) if isinstance(url, URL) else url
    return mask_credentials(raw)


def redact(message: str, url: str | URL) -> str:
    """``message`` (a driver's own text, say) without ``url``'s password anywhere in it."""
    secrets: set[str] = set()
    if isinstance(url, URL):
        if url.password:
            secrets.add(str(url.password))
        if url.host and "@" in url.host:  # the rest of a password with an unescaped "@"
            secrets.add(url.host.rsplit("@", 1)[0])
    else:
        for written in url_passwords(url):
            secrets.add(written)
            # An unescaped "@" in the password: a parser may have read the rest
            # as the host, and the driver quotes that host back.
            if "@" in written:
                secrets.add(written.split("@", 1)[1])
        try:
            password = make_url(url).password
        except Exception:  # unparsable: the regex above found what there is
            password = None
        if password:
            secrets.add(str(password))
    for secret in sorted(secrets, key=len, reverse=True):
        # Percent-encoded in the URL, decoded in the driver's text: mask both.
        for form in {secret, unquote(secret)}:
            if form:
                message = message.replace(form, "***")
    return mask_credentials(message)


def describe_location(url: URL) -> str:
    """What a message calls the database: the SQLite file, else the masked URL."""
    path = sqlite_file(url)
    return str(path) if path is not None else shown(url)


# -- engines ------------------------------------------------------------------------


def make_engine(url: str) -> Engine:
    seconds = busy_timeout()
    try:
        if url.startswith("sqlite"):
            engine = _sqlite_engine(url, seconds)
        else:
            # A server database waits for its locks by its own settings; the
            # advisory lock below queues writers there.
            engine = create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise DatabaseUnavailable(
            f"cannot use database URL {shown(url)}: its driver is not installed "
            f"({redact(str(exc), url)})"
        ) from None
    except Exception as exc:
        raise InvalidInput(f"cannot use database URL {shown(url)!r}: {redact(str(exc), url)}"
                           ) from None
    _BUSY_SECONDS[engine] = seconds
    return engine


def _sqlite_engine(url: str, seconds: float) -> Engine:
    engine = create_engine(url, connect_args={"timeout": seconds})
    event.listen(engine, "connect", _sqlite_connect(round(seconds * 1000)))
    return engine


def _sqlite_connect(busy_ms: int) -> Callable[[Any, Any], None]:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit
        # BEGIN is deferred and would defeat BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Only settings of this connection: nothing here may write to the file
        # (journal_mode=WAL would, so it is set once, by create_schema).
        for pragma in ("synchronous=FULL", f"busy_timeout={busy_ms}", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return connect


def sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL (plain or ``file:`` URI), or None (memory, a server)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    name = url.database or ""
    if str(url.query.get("uri", "")).lower() in ("true", "1") and name.startswith("file:"):
        if url.query.get("mode") == "memory":
            return None
        name = unquote(urlsplit(name).path)
        if name in ("", ":memory:"):
            return None
    return Path(name)


# -- translating the driver's failures -------------------------------------------------


def _translation(error: BaseException, engine: Engine) -> CampaignError | None:
    """The engine's own error for a database failure a user can act on, or None."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    code = str(getattr(orig, "sqlite_errorname", "") or "")  # extended code, Python 3.11+
    pgcode = str(getattr(orig, "pgcode", "") or "")
    message = str(orig)
    where = describe_location(engine.url)
    if pgcode in ("40P01", "40001"):  # deadlock, serialization: the server chose this one
        return DatabaseBusy(where, 0, deadlock=True)
    if (code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or pgcode == "55P03"
            or "database is locked" in message or "database is busy" in message):
        return DatabaseBusy(where, _BUSY_SECONDS.get(engine, DEFAULT_BUSY_TIMEOUT))
    if code == "SQLITE_READONLY_DIRECTORY":
        return DatabaseReadOnly(
            where, "its directory is read-only, and SQLite must create the -wal and -shm "
            "files of a WAL database beside it, even to read it (make the directory "
            "writable, or work on a copy)")
    if code.startswith("SQLITE_READONLY") or pgcode == "25006":
        return DatabaseReadOnly(where)
    if code == "SQLITE_NOTADB":
        return IncompatibleDatabase(where, "not a SQLite database")
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH",
                        "SQLITE_FULL", "SQLITE_CORRUPT", "SQLITE_NOLFS")) or (
            engine.dialect.name != "sqlite" and isinstance(error, OperationalError)):
        # A server's OperationalError is a connection or resource problem; its
        # text may quote the URL, so it is redacted.
        first = redact(message, engine.url).splitlines()[0] if message else code
        if code.startswith("SQLITE_CANTOPEN"):
            first += " (does its directory exist, and may this user write there?)"
        return DatabaseUnavailable(f"cannot use database {where}: {first}")
    return None


@contextmanager
def translated(engine: Engine) -> Iterator[None]:
    """Database failures inside become the engine's own errors; the rest pass unchanged."""
    try:
        yield
    except (DBAPIError, sqlite3.Error) as error:
        mapped = _translation(error, engine)
        if mapped is None:
            raise
        raise mapped from None


# -- transactions ----------------------------------------------------------------------


def _begin(connection: Connection, *, write: bool, shared: bool = False) -> None:
    """Open the database's transaction as its first statement.

    On SQLite the driver's own BEGIN is switched off (see :func:`_sqlite_connect`):
    a writer takes the write lock with ``BEGIN IMMEDIATE`` before it reads
    anything, a reader gets a snapshot with a deferred ``BEGIN``.  Issued
    here rather than from a "begin" event, since any engine event makes
    SQLAlchemy dispatch events on every statement of every move.
    """
    if connection.dialect.name == "sqlite":
        # On the driver itself, like a move's statements (store/prepared.py).
        driver = connection.connection.dbapi_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    elif write and connection.dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        connection.execute(text(f"SELECT {lock}({_LOG_LOCK})"))


# Advisory locks on a server; on SQLite, BEGIN IMMEDIATE already serialises
# every writer.  A move holds the log's lock shared and its chain's lock
# (workflow.store.chains): moves in different chains run side by side.  Every
# other write holds the log's lock exclusively, so a role change, say, is
# ordered after every move in flight and before every later one.
_LOG_LOCK = 727101
_CHAIN_LOCK = 727102  # with a second key: hashtext(chain)
_REFUSAL_LOCK = 727103


def chain_lock(chain: ColumnElement[str]) -> ColumnElement[Any]:
    """SQL holding the audit chain named by ``chain`` until commit (on a server)."""
    return func.pg_advisory_xact_lock(_CHAIN_LOCK, chain_lock_key(chain))


def chain_lock_key(chain: ColumnElement[str]) -> ColumnElement[Any]:
    """The advisory lock key of a chain: locks taken together are taken in its order."""
    return func.hashtext(chain)


def lock_chain(connection: Connection, chain: str) -> None:
    """Hold one audit chain until commit (a server's writers queue per chain)."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(chain_lock(literal(chain))))


def lock_refusals(connection: Connection) -> None:
    """Hold the refusals' chain until commit."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_REFUSAL_LOCK})"))


def lock_log(connection: Connection) -> None:
    """Wait for every write in flight and hold off new ones until this
    transaction ends: the log's heads, read now, are where it stands."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOG_LOCK})"))


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Session]:
    """One transaction that holds the write lock from its first statement.

    Everything inside commits together or not at all.
    """
    with translated(engine), Session(engine) as session, session.begin():
        _begin(session.connection(), write=True)
        yield session


@contextmanager
def write_connection(engine: Engine, *, shared: bool = False) -> Iterator[Connection]:
    """Like :func:`write_transaction`, without the ORM: for the hot path of moves.

    ``shared``: the writes inside lock each audit chain they append to
    (:func:`lock_chain`), so on a server they share the log with other such
    writers instead of holding it alone.
    """
    with translated(engine), engine.begin() as connection:
        _begin(connection, write=True, shared=shared)
        yield connection


def as_connection(handle: Session | Connection) -> Connection:
    """Core statements run on the connection under either kind of transaction."""
    return handle.connection() if isinstance(handle, Session) else handle


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A read-only snapshot: one deferred transaction, rolled back on close."""
    with translated(engine), Session(engine) as session:
        _begin(session.connection(), write=False)
        yield session
