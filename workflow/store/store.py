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

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select
from sqlmodel import Session

from workflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workflow.machine import policy
from workflow.store import audit, chains, database, schema, seals
from workflow.store.clock import Clock, campaign_zone, timestamp, utc_now
from workflow.store.models import (
    AccessRefusal,
    Deliverable,
    Rectification,
    Revision,
    User,
    UserRole,
)
from workflow.store.origin import Origin, detect
from workflow.store.prepared import Prepared

_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]
_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]
_RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]
_REFUSALS = AccessRefusal.__table__  # type: ignore[attr-defined]

# Built once: every write runs these.
_ACTOR = Prepared(
    select(_USERS.c.id, _USERS.c.active, _ROLES.c.role)
    .outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id)
    .where(_USERS.c.id == bindparam("user"))
)
# One round trip for what a move needs, the responsible person included (a
# rectification item's 整改责任人 answers for it beside its owner).
_STATE_OF = select(
    _DELIVERABLES.c.id, _DELIVERABLES.c.definition_sha, _DELIVERABLES.c.owner_id,
    _DELIVERABLES.c.state, _DELIVERABLES.c.version, _RECTIFICATIONS.c.responsible_id,
).outerjoin_from(
    _DELIVERABLES, _RECTIFICATIONS, _RECTIFICATIONS.c.deliverable_id == _DELIVERABLES.c.id,
).where(_DELIVERABLES.c.id == bindparam("item"))
_REVISIONS = Revision.__table__  # type: ignore[attr-defined]


def _latest(column: Any) -> Any:
    return (select(column).where(_REVISIONS.c.deliverable_id == _DELIVERABLES.c.id)
            .order_by(_REVISIONS.c.number.desc()).limit(1).scalar_subquery())


_OWNER = _USERS.alias("owner")
_CHAIN = chains.unit_chain(_OWNER.c.unit)
# Everything a move reads, in one round trip under the write lock: the
# deliverable, its latest revision, and where its audit event will go.
_MOVE_STATE = Prepared(
    _STATE_OF.add_columns(
        _latest(_REVISIONS.c.number).label("revision_number"),
        _latest(_REVISIONS.c.sha256).label("revision_sha"),
        *chains.position_columns(_CHAIN),
    ).join(_OWNER, _OWNER.c.id == _DELIVERABLES.c.owner_id)
)
# On a server, the move's chain is held before its head is read.
_LOCK_CHAIN = select(database.chain_lock(_CHAIN)).select_from(
    _DELIVERABLES.join(_OWNER, _OWNER.c.id == _DELIVERABLES.c.owner_id)
).where(_DELIVERABLES.c.id == bindparam("item"))
_BUMP = Prepared(
    _DELIVERABLES.update()
    .where(_DELIVERABLES.c.id == bindparam("b_id"),
           _DELIVERABLES.c.version == bindparam("b_version"))
    .values(state=bindparam("b_state"), version=bindparam("b_next"),
            updated_at=bindparam("b_at"))
)


class Store:
    """Writes take their time from ``clock`` — the real one, or a simulated
    calendar given through the API (the demo's) — never from a caller's word."""

    def __init__(self, engine: Engine, clock: Clock = utc_now, origin: Origin | None = None
                 ) -> None:
        self.engine = engine
        self.clock = clock
        self.origin = origin or detect()
        self._schema_checked = False
        #: The transaction a batch of moves shares (:meth:`batch`), while one is open.
        self._batch: Connection | None = None

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
    def batch(self) -> Iterator[None]:
        """Moves made inside share one write transaction, each in a savepoint of
        its own: one commit (one fsync) for the batch, while a move refused or
        failed is undone alone (a refusal still noted).  Only moves run
        inside; the batch commits when the block ends."""
        if self._batch is not None:
            raise InvalidInput("a batch of moves cannot open another")
        self.require_schema()
        with database.write_connection(self.engine, shared=True) as connection:
            connection.info[audit.ORIGIN] = self.origin
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
                self._note_refusal(session.connection(), error)
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
                    self._note_refusal(connection, error)
                    refusal = error
                else:
                    undo.release()
        except PermissionDenied as error:
            with database.write_connection(self.engine) as connection:
                self._note_refusal(connection, error)
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
            self._note_refusal(connection, error)
            raise
        except BaseException:
            savepoint.rewind()
            raise
        else:
            savepoint.release()

    def _note_refusal(self, connection: Connection, refusal: PermissionDenied) -> None:
        connection.execute(_REFUSALS.insert(), seals.chain_refusal(connection, {
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
        rows = _ACTOR.all(database.as_connection(handle), {"user": user_id})
        if not rows:
            raise NotFound("user", user_id)
        if not rows[0].active:
            raise PermissionDenied(user_id, "act", "this user has been deactivated")
        return policy.Actor(user_id, frozenset(r.role for r in rows if r.role))

    def state_of(self, handle: Session | Connection, deliverable_id: int) -> Any:
        """The columns a move needs (id, definition, owner, state, version,
        responsible person), without loading an ORM object."""
        row = database.as_connection(handle).execute(_STATE_OF, {"item": deliverable_id}).first()
        if row is None:
            raise NotFound("deliverable", deliverable_id)
        return row

    def move_state(self, connection: Connection, deliverable_id: int) -> Any:
        """:meth:`state_of`, plus the latest revision (``revision_number``,
        ``revision_sha``: None without content) and the audit chain's
        position (:func:`~workflow.store.chains.position_of`)."""
        if connection.dialect.name != "sqlite":  # SQLite's writer holds everything already
            connection.execute(_LOCK_CHAIN, {"item": deliverable_id})
        row = _MOVE_STATE.first(connection, {"item": deliverable_id})
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
    changed, _ = _BUMP.write(database.as_connection(handle), {
        "b_id": deliverable_id, "b_version": version, "b_state": state,
        "b_next": version + 1, "b_at": at,
    })
    if changed != 1:
        raise Conflict(deliverable_id, version, version + 1)
