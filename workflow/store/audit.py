"""The hash-chained audit log.

Each event's hash is sha256 over a canonical encoding of all its fields,
including its place in its chain and the previous event's hash there (the
chains: :mod:`workflow.store.chains`).  Editing, deleting, inserting or
reordering rows breaks a chain at the first touched event.  Someone who
rewrites every later hash too produces a consistent chain — that is what the
digest is for: keep it somewhere else, and ``verify --digest`` proves
today's log still extends it.
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
from sqlmodel import Session

from workflow.errors import AuditVerificationFailed, InvalidInput
from workflow.store import chains
from workflow.store import seals as sealing
from workflow.store.database import as_connection
from workflow.store.models import AuditEvent
from workflow.store.origin import Origin
from workflow.store.prepared import Prepared
from workflow.store.views import EventView

GENESIS = chains.GENESIS

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

#: The fields hashed for an event that belongs to a chain (every event since
#: migration 0003).
CHAINED_FIELDS: tuple[str, ...] = (*HASHED_FIELDS, "chain", "chain_seq")

EXPORT_FIELDS: tuple[str, ...] = (*CHAINED_FIELDS, "hash")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: one byte string per event, forever.

    An event written before chains were partitioned has none, and is hashed
    without the chain's two fields, as it was then."""
    names = HASHED_FIELDS if fields.get("chain") is None else CHAINED_FIELDS
    return json.dumps(
        {name: fields[name] for name in names},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
# Built once: on every write's path, statement construction would cost more
# than the SQL itself.
_INSERT = Prepared(_EVENTS.insert())


ORIGIN = "campaign_origin"
"""Key of the write transaction's :class:`Origin` in its connection's ``info``."""


def append(
    session: Session | Connection, *, seals: Iterable[sealing.Seal] = (),
    at_position: chains.Position | None = None, **fields: Any,
) -> EventView:
    """Add the next event to the chain inside the caller's write transaction.

    ``seals`` are the rows the event wrote (:func:`workflow.store.seals.seal`); the
    event also records the head of the refusals' chain and the transaction's
    origin (channel, login, host).  ``at_position`` is the :func:`position`
    the caller read in this transaction, if it needed the sequence number
    first; otherwise the event goes into its deliverable's chain, or the
    global one (:mod:`workflow.store.chains`).
    """
    connection = as_connection(session)
    place = at_position or chains.position(connection, fields.get("deliverable_id"))
    fields["seq"] = place.seq
    fields["chain"] = place.chain
    fields["chain_seq"] = place.chain_seq
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


NextState = Callable[[Any, str, str], str]

#: Events about a deliverable that leave its version (the optimistic lock)
#: alone: a remark does not make someone else's ``--if-version`` stale.
UNVERSIONED = frozenset({"opinion.add"})


class Replay:
    """One deliverable re-run through its events, fed one at a time in order
    from its initial state: the stored state and version must be where they
    lead.  ``item`` is the deliverable's row (``id``, ``state``, ``version``
    and what ``initial_state`` and ``next_state`` read of it)."""

    __slots__ = ("_initial_state", "_next_state", "item", "state", "version")

    def __init__(self, item: Any, initial_state: Callable[[Any], str],
                 next_state: NextState) -> None:
        self.item = item
        self.state: str | None = None
        self.version = 0
        self._initial_state = initial_state
        self._next_state = next_state

    def feed(self, event: Any) -> None:
        """Raise if ``event`` does not follow from the events before it."""
        self.state = _apply(event, self.item, self.state, self._initial_state, self._next_state)
        if event.action not in UNVERSIONED:
            self.version += 1

    def finish(self) -> None:
        """Raise if the stored state and version are not where the events led."""
        item = self.item
        if self.state != item.state or self.version != item.version:
            raise AuditVerificationFailed(
                None,
                f"deliverable {item.id} is stored as {item.state!r} v{item.version} but its "
                f"events lead to {self.state!r} v{self.version}",
            )


def no_such_deliverable(event: Any) -> AuditVerificationFailed:
    return AuditVerificationFailed(
        event.seq, f"refers to deliverable {event.deliverable_id}, which does not exist")


def _apply(
    event: Any,
    item: Any,
    state: str | None,
    initial_state: Callable[[Any], str],
    next_state: NextState,
) -> str:
    if event.action == "create":
        if state is not None:
            raise AuditVerificationFailed(event.seq, "a second creation event")
        if event.dest != initial_state(item):
            raise AuditVerificationFailed(event.seq, "created in a state other than the initial")
        return str(event.dest)
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


def export(events: Iterable[Any], fmt: str) -> Iterator[str]:
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


def _row(event: Any) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EXPORT_FIELDS}
