"""The audit log read for verification: plain rows off one cursor, in batches
(a server-side cursor on PostgreSQL), never the whole log at once.

Two reads: the log in ``seq`` order (every chain's links, and what needs the
log's global order: who held which role, the campaign's phases), and the
events about deliverables in deliverable order beside the deliverables
themselves (each one's replay through its machine).

Recomputing an event's hash is the cost that counts.  On SQLite the
canonical bytes (:func:`workflow.store.audit.canonical`) are built by SQLite
itself with ``json_object`` — the same sorted keys, compact separators,
escapes and UTF-8 — and only hashed here.  Where they do not hash to the
recorded value the event is hashed again from its fields by
:func:`workflow.store.audit.event_hash`, which alone decides.  The shortcut
cannot pass an edited event: bytes that hash to the recorded value are the
canonical bytes the event was hashed from, and SQLite writes the values it is
given (text, integers, null) as Python does; a float, which it writes with
fewer digits, never takes the shortcut.
"""

from __future__ import annotations

import hashlib
import json
from collections import namedtuple
from collections.abc import Callable, Iterator
from itertools import groupby
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    Connection,
    LargeBinary,
    Select,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)

from workflow.errors import AuditVerificationFailed
from workflow.store.audit import CHAINED_FIELDS, HASHED_FIELDS, event_hash
from workflow.store.models import AuditEvent, Deliverable

#: Rows read per round trip.
BATCH = 1000

_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]

#: What the checks of the log's order read of each event, besides its hash.
_ORDERED = ("seq", "chain", "chain_seq", "prev_hash", "hash", "action", "actor", "role",
            "deliverable_id", "source", "dest", "detail")
#: What the replay of a deliverable reads of each of its events.
_REPLAYED = ("deliverable_id", "seq", "action", "actor", "role", "trigger", "source", "dest",
             "detail")

# Rows become plain named tuples as they are read: the checks read each field
# of each event, and a tuple's field costs a tenth of a row's.
_REST = tuple(name for name in CHAINED_FIELDS if name not in _ORDERED)
#: An event with SQLite's canonical bytes of it; with its other fields, elsewhere.
CanonicalEvent = namedtuple("CanonicalEvent", (*_ORDERED, "canonical"))  # type: ignore[misc]
FieldsEvent = namedtuple("FieldsEvent", (*_ORDERED, *_REST))  # type: ignore[misc]
ReplayedEvent = namedtuple("ReplayedEvent", _REPLAYED)  # type: ignore[misc]
#: What the replay reads of a deliverable.
Item = namedtuple("Item", ("id", "definition_sha", "owner_id", "state", "version"))


def repeatable_read(connection: Connection) -> None:
    """On a server, one snapshot for every read of the verification (the
    transaction's first statement)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


def _json_object(names: tuple[str, ...]) -> Any:
    return func.json_object(*(part for name in sorted(names)
                              for part in (literal(name), _EVENTS.c[name])))


def _canonical_in_sqlite() -> Any:
    """:func:`workflow.store.audit.canonical`, as SQLite builds it.  Only the
    integer columns can hold a floating-point value (the others have text
    affinity), which SQLite writes with fewer digits than Python: an event
    with one is left to Python."""
    real = or_(*(func.typeof(_EVENTS.c[name]) == "real" for name in ("deliverable_id",
                                                                      "chain_seq")))
    built = case((real, None), (_EVENTS.c.chain.is_(None), _json_object(HASHED_FIELDS)),
                 else_=_json_object(CHAINED_FIELDS))
    return cast(built, LargeBinary).label("canonical")


def _streamed(connection: Connection, query: Select[Any], shape: Any) -> Iterator[Any]:
    yield from map(shape._make, connection.execute(query.execution_options(yield_per=BATCH)))


def events_in_order(connection: Connection) -> Iterator[Any]:
    """Every event, in ``seq`` order, with the fields the log's ordered checks
    read (give it to :func:`hasher` for its hash)."""
    columns = [_EVENTS.c[name] for name in _ORDERED]
    if connection.dialect.name == "sqlite":
        query = select(*columns, _canonical_in_sqlite())
        yield from _streamed(connection, query.order_by(_EVENTS.c.seq), CanonicalEvent)
    else:
        query = select(*columns, *(_EVENTS.c[name] for name in _REST))
        yield from _streamed(connection, query.order_by(_EVENTS.c.seq), FieldsEvent)


_ONE = select(*(_EVENTS.c[name] for name in CHAINED_FIELDS)).where(
    _EVENTS.c.seq == bindparam("seq"))


def hasher(connection: Connection) -> Callable[[Any], str]:
    """The hash of an event read by :func:`events_in_order`, recomputed."""
    sha256 = hashlib.sha256

    def from_fields(event: Any) -> str:
        return event_hash(event._asdict())

    def from_sqlite(event: Any) -> str:
        if event.canonical is not None:
            hashed = sha256(event.canonical).hexdigest()
            if hashed == event.hash:
                return hashed
        # SQLite's bytes differ from Python's (or the event was edited): Python decides.
        stored = connection.execute(_ONE, {"seq": event.seq}).one()
        return event_hash(dict(stored._mapping))

    return from_sqlite if connection.dialect.name == "sqlite" else from_fields


def deliverables(connection: Connection) -> Iterator[Any]:
    """Every deliverable, by id."""
    query = select(*(_DELIVERABLES.c[name] for name in Item._fields))
    yield from _streamed(connection, query.order_by(_DELIVERABLES.c.id), Item)


def events_by_deliverable(connection: Connection) -> Iterator[Any]:
    """The events about a deliverable, by deliverable and in ``seq`` order in each."""
    columns = [_EVENTS.c[name] for name in _REPLAYED if name != "detail"]
    # Only the rectification's fields say anything the replay reads in ``detail``.
    detail = case((_EVENTS.c.action == "rectification.set", _EVENTS.c.detail)).label("detail")
    query = (select(*columns, detail).where(_EVENTS.c.deliverable_id.is_not(None))
             .order_by(_EVENTS.c.deliverable_id, _EVENTS.c.seq))
    yield from _streamed(connection, query, ReplayedEvent)


def by_deliverable(connection: Connection) -> Iterator[tuple[Any | None, Iterator[Any]]]:
    """Each deliverable, by id, with its events in ``seq`` order (consume them
    before the next); events naming a deliverable that does not exist come
    with None.  Two cursors merged: nothing is held but the current group."""
    items = deliverables(connection)
    item = next(items, None)
    for key, events in groupby(events_by_deliverable(connection),
                               key=attrgetter("deliverable_id")):
        if not isinstance(key, int | float):  # text in an integer column: no deliverable
            yield None, events
            continue
        while item is not None and item.id < key:
            yield item, iter(())
            item = next(items, None)
        if item is not None and item.id == key:
            yield item, events
            item = next(items, None)
        else:
            yield None, events
    while item is not None:
        yield item, iter(())
        item = next(items, None)


def name_unreadable_seals(connection: Connection) -> None:
    """Raise for the first event whose seals are not a JSON object of digests
    (a forger may write any text there and hash it into the chain)."""
    events = _EVENTS
    rows = connection.execution_options(yield_per=1000).execute(
        select(events.c.seq, events.c.sealed).where(events.c.sealed.is_not(None))
        .order_by(events.c.seq))
    for seq, sealed in rows:
        try:
            recorded = json.loads(sealed)
        except ValueError:
            recorded = None
        if not isinstance(recorded, dict) or not all(
                isinstance(v, str | None) for v in recorded.values()):
            raise AuditVerificationFailed(seq, "its record of the rows it wrote is not a JSON "
                                          "object of digests")
