"""The store every service shares: the connection, the one write transaction,
the refusal log, the clock, and the reads each write starts with.

A write is one transaction that takes the write lock first (``BEGIN
IMMEDIATE`` on SQLite; on a server, the audit log's advisory lock: see
:mod:`workflow.store.database`).  A permission refusal raised inside it is
undone and noted in the refusal log: what the refused caller did is undone,
the refusal is kept.  Where it can, the refusal is noted in that same
transaction (after a savepoint, or on SQLite with nothing to undo); a move
refused on a server is rolled back whole and noted in a transaction of its
own (:meth:`Store.writing_core`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from workflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workflow.machine import policy
from workflow.store import audit, database, schema, seals, statements
from workflow.store.clock import Clock, campaign_zone, timestamp, utc_now
from workflow.store.origin import Origin, detect

# A served request's origin (the browser's address), for the writes made while
# the request runs; a context variable, so concurrent requests keep their own.
_REQUEST_ORIGIN: ContextVar[Origin | None] = ContextVar("campaign_request_origin",
                                                        default=None)


class Store:
    """Writes take their time from ``clock`` — the real one, or a simulated
    calendar given through the API (the demo's) — never from a caller's word."""

    def __init__(self, engine: Engine, clock: Clock = utc_now, origin: Origin | None = None
                 ) -> None:
        self.engine = engine
        self.clock = clock
        self._origin = origin or detect()
        self._schema_checked = False
        #: The transaction a batch of moves shares (:meth:`batch`), while one is open.
        self._batch: Connection | None = None

    @property
    def connections(self) -> int:
        """How many connections the engine's pool hands out at once (its size
        and overflow): a server should run no more requests at a time."""
        pool = self.engine.pool
        size = pool.size() if isinstance(pool, QueuePool) else 1
        return size + max(getattr(pool, "_max_overflow", 0), 0)

    @property
    def origin(self) -> Origin:
        """Where the writes come from: the request being served, else this process."""
        return _REQUEST_ORIGIN.get() or self._origin

    @contextmanager
    def acting_from(self, origin: Origin) -> Iterator[None]:
        """Record ``origin`` on every write made inside (a served request's)."""
        token = _REQUEST_ORIGIN.set(origin)
        try:
            yield
        finally:
            _REQUEST_ORIGIN.reset(token)

    # -- time ---------------------------------------------------------------------------

    def now(self) -> str:
        return timestamp(self.clock())

    def today(self) -> date:
        """The calendar day where the campaign runs (``CAMPAIGN_TZ``, default Asia/Shanghai)."""
        return self.clock().astimezone(campaign_zone()).date()

    def require_today(self, day: date) -> None:
        """Refuse a write that claims to happen on any day but today."""
        if day != self.today():
            raise InvalidInput(
                f"{day} is not today ({self.today()}): a write happens today; --today moves "
                "only reads and reports")

    def as_of(self, day: date | None) -> date:
        """The day a write judges windows by: today, or an earlier day a
        caller names (which can only do less); never a day still to come."""
        today = self.today()
        if day is None:
            return today
        if day > today:
            raise InvalidInput(
                f"{day} is later than today ({today}): a write happens today; --today "
                "moves only reads and reports")
        return day

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.require_schema()
        with database.read_session(self.engine) as session:
            yield session

    @contextmanager
    def batch(self, deliverable_ids: Sequence[int] = ()) -> Iterator[None]:
        """Moves made inside share one write transaction, each in a savepoint of
        its own: one commit (one fsync) for the batch, while a move refused or
        failed is undone alone (a refusal still noted).  Only moves run
        inside; the batch commits when the block ends.

        On a server the batch first holds the chains of every deliverable it
        names, all at once and in one order every batch shares: two batches
        over the same units then queue instead of each holding a chain the
        other waits for (a deadlock the server would break by failing one)."""
        if self._batch is not None:
            raise InvalidInput("a batch of moves cannot open another")
        self.require_schema()
        with database.write_connection(self.engine, shared=True) as connection:
            connection.info[audit.ORIGIN] = self.origin
            if deliverable_ids and connection.dialect.name == "postgresql":
                connection.execute(statements.LOCK_CHAINS, {"items": list(deliverable_ids)})
            self._batch = connection
            try:
                yield
            finally:
                self._batch = None

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One write transaction with the ORM (set-up and records)."""
        if self._batch is not None:  # it would wait for the batch's own lock
            raise InvalidInput("only moves run inside a batch of moves")
        self.require_schema()
        refusal = None
        with database.write_transaction(self.engine) as session:
            session.connection().info[audit.ORIGIN] = self.origin
            savepoint = session.begin_nested()
            try:
                yield session
            except PermissionDenied as error:
                savepoint.rollback()
                self.note_refusal(session.connection(), error)
                refusal = error
            else:
                savepoint.commit()
        if refusal is not None:
            raise refusal

    @contextmanager
    def writing_core(self) -> Iterator[Connection]:
        """The same on a bare connection: moves need no ORM objects.

        Every move path checks before it writes, so on SQLite a refusal finds
        nothing to undo and the savepoint's two statements are saved (a move
        is this engine's hot path); should a refusal ever follow a write, the
        transaction is rolled back whole and the refusal noted in one of its own.
        A server cannot tell whether anything was written, and a savepoint
        there costs two round trips on every move: there a refusal always
        rolls its transaction back and is noted in one of its own.
        """
        if self._batch is not None:
            yield from self._in_batch(self._batch)
            return
        self.require_schema()
        refusal = None
        try:
            with database.write_connection(self.engine, shared=True) as connection:
                connection.info[audit.ORIGIN] = self.origin
                undo = _undo_point(connection)
                try:
                    yield connection
                except PermissionDenied as error:
                    if not undo.rewind():
                        raise
                    self.note_refusal(connection, error)
                    refusal = error
                else:
                    undo.release()
        except PermissionDenied as error:
            with database.write_connection(self.engine) as connection:
                self.note_refusal(connection, error)
            raise
        if refusal is not None:
            raise refusal

    def _in_batch(self, connection: Connection) -> Iterator[Connection]:
        """One move of a batch, in a savepoint of the batch's transaction."""
        savepoint = _move_savepoint(connection)
        try:
            yield connection
        except PermissionDenied as error:
            savepoint.rewind()
            self.note_refusal(connection, error)
            raise
        except BaseException:
            savepoint.rewind()
            raise
        else:
            savepoint.release()

    def note_refusal(self, connection: Connection, refusal: PermissionDenied) -> None:
        """Add ``refusal`` to the refusal log, in the caller's transaction."""
        connection.execute(statements.REFUSALS.insert(), seals.chain_refusal(connection, {
            "at": self.now(), "actor": refusal.actor, "action": refusal.action,
            "deliverable_id": refusal.deliverable_id, "reason": refusal.reason,
            **self.origin.fields(),
        }))

    def require_schema(self) -> None:
        if self._schema_checked:
            return
        # schema_ready never creates a missing file (file: URIs too) and refuses what is not ours.
        if not schema.schema_ready(self.engine):
            raise NotFound("campaign database (run `campaign init` first)",
                           self.engine.url.render_as_string(hide_password=True))
        self._schema_checked = True

    # -- what every write reads first ----------------------------------------------------

    def actor(self, handle: Session | Connection, user_id: str | None) -> policy.Actor:
        """The acting user with their roles; refused unless they exist and are active."""
        if not user_id:
            raise InvalidInput("who is acting? give --as USER or set CAMPAIGN_USER")
        policy.check_user_id(user_id)
        rows = statements.ACTOR.all(database.as_connection(handle), {"user": user_id})
        if not rows:
            raise NotFound("user", user_id)
        if not rows[0].active:
            raise PermissionDenied(user_id, "act", "this user has been deactivated")
        return policy.Actor(user_id, frozenset(r.role for r in rows if r.role))

    def state_of(self, handle: Session | Connection, deliverable_id: int) -> Any:
        """The columns a move needs (id, definition, owner, state, version,
        responsible person), without loading an ORM object."""
        connection = database.as_connection(handle)
        row = connection.execute(statements.STATE_OF, {"item": deliverable_id}).first()
        if row is None:
            raise NotFound("deliverable", deliverable_id)
        return row

    def move_state(self, connection: Connection, deliverable_id: int) -> Any:
        """:meth:`state_of`, plus the latest revision (``revision_number``,
        ``revision_sha``: None without content) and the audit chain's
        position (:func:`~workflow.store.chains.position_of`)."""
        if connection.dialect.name != "sqlite":  # SQLite's writer holds everything already
            connection.execute(statements.LOCK_CHAIN, {"item": deliverable_id})
        row = statements.MOVE_STATE.first(connection, {"item": deliverable_id})
        if row is None:
            raise NotFound("deliverable", deliverable_id)
        return row

    def bump(self, handle: Session | Connection, deliverable_id: int, version: int, state: str
             ) -> None:
        """Compare-and-set on the version: the optimistic lock that also holds
        on databases without BEGIN IMMEDIATE."""
        bump(handle, deliverable_id, version, state, self.now())


class _Unwritten:
    """SQLite's undo point: no savepoint, just whether anything was written since."""

    def __init__(self, dbapi_connection: Any) -> None:
        self._dbapi = dbapi_connection
        self._before = dbapi_connection.total_changes

    def rewind(self) -> bool:
        return bool(self._dbapi.total_changes == self._before)

    def release(self) -> None:
        pass


class _Savepoint:
    """A server's undo point for one move of a batch: a savepoint."""

    def __init__(self, connection: Connection) -> None:
        self._savepoint = connection.begin_nested()

    def rewind(self) -> bool:
        self._savepoint.rollback()
        return True

    def release(self) -> None:
        self._savepoint.commit()


class _DriverSavepoint:
    """A savepoint SQLite runs on its own cursor: a bulk move takes one per
    move, and SQLAlchemy's compiles its statements anew each time."""

    _NAME = "campaign_move"

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        driver.execute(f"SAVEPOINT {self._NAME}")

    def rewind(self) -> bool:
        self._driver.execute(f"ROLLBACK TO {self._NAME}")
        self._driver.execute(f"RELEASE {self._NAME}")
        return True

    def release(self) -> None:
        self._driver.execute(f"RELEASE {self._NAME}")


def _move_savepoint(connection: Connection) -> _DriverSavepoint | _Savepoint:
    if connection.dialect.name == "sqlite":
        return _DriverSavepoint(connection.connection.dbapi_connection)
    return _Savepoint(connection)


class _RollBack:
    """A server's undo point for a single move: the whole transaction."""

    def rewind(self) -> bool:
        return False

    def release(self) -> None:
        pass


def _undo_point(connection: Connection) -> _Unwritten | _RollBack:
    if connection.dialect.name == "sqlite":
        return _Unwritten(connection.connection.dbapi_connection)
    return _RollBack()


def bump(handle: Session | Connection, deliverable_id: int, version: int, state: str, at: str
         ) -> None:
    """:meth:`Store.bump` at a given time (a move's own ``now``)."""
    changed, _ = statements.BUMP.write(database.as_connection(handle), {
        "b_id": deliverable_id, "b_version": version, "b_state": state,
        "b_next": version + 1, "b_at": at,
    })
    if changed != 1:
        raise Conflict(deliverable_id, version, version + 1)
