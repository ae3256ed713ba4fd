"""The hash-chained audit log.

Each event's hash is sha256 over a canonical encoding of all its fields,
including its sequence number and the previous event's hash.  Editing,
deleting, inserting or reordering rows breaks the chain at the first touched
event.  Someone who rewrites every later hash too produces a consistent chain
— that is what the digest is for: keep ``seq:hash`` of the head somewhere
else, and ``verify --digest`` proves today's log still contains it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from workflow.errors import AuditVerificationFailed, InvalidInput
from workflow.store import seals as sealing
from workflow.store.database import as_connection
from workflow.store.models import AccessRefusal, AuditEvent, Deliverable
from workflow.store.origin import Origin
from workflow.store.prepared import Prepared
from workflow.store.views import EventView

GENESIS = "0" * 64

HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "deliverable_id",
    "trigger",
    "source",
    "dest",
    "comment",
    "revision",
    "detail",
    "sealed",
    "channel",
    "os_user",
    "host",
    "prev_hash",
)

EXPORT_FIELDS: tuple[str, ...] = (*HASHED_FIELDS, "hash")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: one byte string per event, forever."""
    return json.dumps(
        {name: fields[name] for name in HASHED_FIELDS},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def head(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
# Built once: on every write's path, statement construction would cost more
# than the SQL itself.
_INSERT = Prepared(_EVENTS.insert())
_REFUSALS = AccessRefusal.__table__  # type: ignore[attr-defined]


def _last(column: Any, order: Any) -> Any:
    return sa_select(column).order_by(order.desc()).limit(1).scalar_subquery()


#: The chain's head and the refusals' head, as columns a write's first query
#: can carry (:func:`position_of` reads them back): every write needs them.
POSITION_COLUMNS = (
    _last(_EVENTS.c.seq, _EVENTS.c.seq).label("head_seq"),
    _last(_EVENTS.c.hash, _EVENTS.c.seq).label("head_hash"),
    _last(_REFUSALS.c.id, _REFUSALS.c.id).label("refusal_id"),
    _last(_REFUSALS.c.hash, _REFUSALS.c.id).label("refusal_hash"),
)
_POSITION = sa_select(*POSITION_COLUMNS)


@dataclass(frozen=True)
class Position:
    """Where the next event goes: its sequence number, the hash it links to,
    and the refusals' head it records."""

    seq: int
    prev_hash: str
    refusal_head: str | None


def position(session: Session | Connection) -> Position:
    """Read once per event, under the write lock, so nothing moves it until commit."""
    return position_of(as_connection(session).execute(_POSITION).one())


def position_of(row: Any) -> Position:
    """The :class:`Position` in a row that selected :data:`POSITION_COLUMNS`."""
    head = f"{row.refusal_id}:{row.refusal_hash}" if row.refusal_id is not None else None
    return Position((row.head_seq or 0) + 1, row.head_hash or GENESIS, head)


ORIGIN = "campaign_origin"
"""Key of the write transaction's :class:`Origin` in its connection's ``info``."""


def append(
    session: Session | Connection, *, seals: Iterable[sealing.Seal] = (),
    at_position: Position | None = None, **fields: Any,
) -> EventView:
    """Add the next event to the chain inside the caller's write transaction.

    ``seals`` are the rows the event wrote (:func:`workflow.store.seals.seal`); the
    event also records the head of the refusals' chain and the transaction's
    origin (channel, login, host).  ``at_position`` is the :func:`position`
    the caller read in this transaction, if it needed the sequence number first.
    """
    connection = as_connection(session)
    place = at_position or position(connection)
    fields["seq"] = place.seq
    fields["prev_hash"] = place.prev_hash
    fields["sealed"] = sealing.encode(seals, place.refusal_head)
    origin: Origin | None = connection.info.get(ORIGIN)
    if origin is not None:
        fields.update(origin.fields())
    for name in HASHED_FIELDS:
        fields.setdefault(name, None)
    fields["hash"] = event_hash(fields)
    _INSERT.write(connection, fields)
    return EventView.model_validate(fields)


def detail(data: dict[str, object]) -> str:
    """An event's ``detail``: canonical JSON, Chinese kept readable."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def as_view(event: AuditEvent) -> EventView:
    return EventView.model_validate(event, from_attributes=True)


# -- verification -------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    events: int
    deliverables: int
    head: str | None
    #: Rows of the sealed tables checked against their events' seals.
    rows: int = 0

    @property
    def digest(self) -> str | None:
        return self.head

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "events": self.events, "deliverables": self.deliverables,
                "rows": self.rows, "digest": self.head}


def format_digest(event: AuditEvent | None) -> str | None:
    return f"{event.seq}:{event.hash}" if event else None


def verify_chain(events: Iterable[AuditEvent], digest: str | None = None) -> str | None:
    """Check every link; return the head digest.  Raises on the first bad event."""
    expected_seq, previous, last = 1, GENESIS, None
    wanted = _parse_digest(digest) if digest else None
    seen_digest = wanted is None
    for event in events:
        if event.seq != expected_seq:
            problem = "missing event(s) before it (deleted?)" if event.seq > expected_seq else (
                "sequence out of order")
            raise AuditVerificationFailed(event.seq, problem)
        if event.prev_hash != previous:
            raise AuditVerificationFailed(
                event.seq, "chain broken: event inserted, deleted or reordered before it")
        if event_hash(event.model_dump()) != event.hash:
            raise AuditVerificationFailed(event.seq, "content does not match its hash (edited)")
        if wanted and event.seq == wanted[0]:
            if event.hash != wanted[1]:
                raise AuditVerificationFailed(event.seq, "does not match the kept digest")
            seen_digest = True
        previous, last, expected_seq = event.hash, event, expected_seq + 1
    if not seen_digest:
        assert wanted is not None
        raise AuditVerificationFailed(
            wanted[0], "the log no longer reaches the kept digest (truncated?)")
    return format_digest(last)


def _parse_digest(digest: str) -> tuple[int, str]:
    seq, _, value = digest.partition(":")
    decimal = seq.isascii() and seq.isdecimal()
    if not decimal or len(value) != 64 or value.strip("0123456789abcdefABCDEF"):
        raise InvalidInput(f"digest {digest!r} is not of the form SEQ:SHA256")
    return int(seq), value.lower()


NextState = Callable[[Deliverable, str, str], str]

#: Events about a deliverable that leave its version (the optimistic lock)
#: alone: a remark does not make someone else's ``--if-version`` stale.
UNVERSIONED = frozenset({"opinion.add"})


def replay(
    events: Iterable[AuditEvent],
    deliverables: Mapping[int, Deliverable],
    initial_state: Callable[[Deliverable], str],
    next_state: NextState,
) -> None:
    """Re-run each deliverable's events from its initial state; the stored
    state and version must be where the events lead."""
    states: dict[int, str] = {}
    counts: dict[int, int] = {}
    for event in events:
        if event.deliverable_id is None:
            continue
        item = deliverables.get(event.deliverable_id)
        if item is None:
            raise AuditVerificationFailed(
                event.seq, f"refers to deliverable {event.deliverable_id}, which does not exist")
        states[event.deliverable_id] = _apply(
            event, item, states.get(event.deliverable_id), initial_state, next_state
        )
        if event.action not in UNVERSIONED:
            counts[event.deliverable_id] = counts.get(event.deliverable_id, 0) + 1
    for key, item in deliverables.items():
        if states.get(key) != item.state or counts.get(key, 0) != item.version:
            raise AuditVerificationFailed(
                None,
                f"deliverable {key} is stored as {item.state!r} v{item.version} but its "
                f"events lead to {states.get(key)!r} v{counts.get(key, 0)}",
            )


def _apply(
    event: AuditEvent,
    item: Deliverable,
    state: str | None,
    initial_state: Callable[[Deliverable], str],
    next_state: NextState,
) -> str:
    if event.action == "create":
        if state is not None:
            raise AuditVerificationFailed(event.seq, "a second creation event")
        if event.dest != initial_state(item):
            raise AuditVerificationFailed(event.seq, "created in a state other than the initial")
        return event.dest
    if state is None:
        raise AuditVerificationFailed(event.seq, "event before the deliverable's creation")
    if event.source != state:
        raise AuditVerificationFailed(
            event.seq, f"says it left {event.source!r} but the deliverable was in {state!r}")
    if event.action == "transition":
        expected = next_state(item, state, event.trigger or "")
        if event.dest != expected:
            raise AuditVerificationFailed(
                event.seq, f"{event.trigger} from {state!r} leads to {expected!r}, not "
                f"{event.dest!r}")
    elif event.dest != state:
        raise AuditVerificationFailed(event.seq, f"a {event.action} event changed the state")
    return event.dest or ""


# -- export -------------------------------------------------------------------


def export(events: Iterable[AuditEvent], fmt: str) -> Iterator[str]:
    """Stream the log as JSON lines or CSV (with a header row)."""
    if fmt == "jsonl":
        for event in events:
            yield json.dumps(_row(event), ensure_ascii=False, sort_keys=True) + "\n"
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for event in events:
            writer.writerow(_row(event))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    else:
        raise InvalidInput(f"unknown export format {fmt!r} (use jsonl or csv)")


def _row(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EXPORT_FIELDS}
