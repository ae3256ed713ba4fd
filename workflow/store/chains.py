"""The audit log as several hash chains: one per owner's unit, and a global one.

One chain for a whole province would make every write wait for the one
before it.  So an event about a deliverable links into the chain of its
owner's unit (``unit:保障部``; ``unit`` for an owner without one), and every
other event — people, roles, definitions, the campaign's phases and records —
into the ``global`` chain.  Each event carries its chain, its place there
(``chain_seq``, 1, 2, 3… with no gap) and the hash of the event before it in
that chain; ``seq`` orders the whole log (on a server it comes from a
sequence, so a rolled-back write leaves a gap there, never in a chain).

On a server a move holds the log's lock shared and its chain's lock
exclusively (:mod:`workflow.store.database`): moves in different units run
side by side, moves in one unit queue.  Any other write holds the log
exclusively, so the authority replay's order (a role change against the
moves around it) is the order things happened in.

Events written before chains were partitioned have no chain: they are the
start of the global chain, each at its ``seq``, hashed as they always were.

The digest names the whole log at one moment: ``SEQ:SHA256`` where SEQ is
the last event's ``seq`` and SHA256 covers every chain's head at that
moment.  Verifying a kept digest recomputes the heads as of SEQ from today's
log: a chain rewritten before SEQ, or cut short, changes them.  A digest kept
before chains existed (the head event's own ``seq:hash``) still verifies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from workflow.errors import AuditVerificationFailed, InvalidInput, NotFound
from workflow.store.database import lock_chain, lock_log
from workflow.store.models import AccessRefusal, AuditEvent, Deliverable, User

GLOBAL = "global"
GENESIS = "0" * 64

_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_REFUSALS = AccessRefusal.__table__  # type: ignore[attr-defined]
_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]
_OWNERS = User.__table__.alias("chain_owner")  # type: ignore[attr-defined]


def unit_chain(unit: ColumnElement[Any]) -> ColumnElement[str]:
    """The chain of a deliverable whose owner's unit is ``unit``, in SQL."""
    return case((unit.is_(None), literal("unit")), else_=literal("unit:") + unit)


class next_seq(FunctionElement[int]):
    """The next event's ``seq``: one past the last on SQLite, whose writers
    are serialised anyway; a sequence's next value on a server."""

    type = Integer()
    inherit_cache = True


@compiles(next_seq)
def _next_after_last(_element: next_seq, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "(SELECT coalesce(max(seq), 0) + 1 FROM audit_event)"


@compiles(next_seq, "postgresql")
def _next_from_sequence(_element: next_seq, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "nextval('audit_event_seq')"


def _last(column: Any, where: Any, order: Any) -> Any:
    return select(column).where(where).order_by(order.desc()).limit(1).scalar_subquery()


def position_columns(chain: ColumnElement[str]) -> tuple[Any, ...]:
    """Where the next event of ``chain`` goes, as columns a write's first query
    can carry (:func:`position_of` reads them back)."""
    in_chain = _EVENTS.c.chain == chain
    return (
        chain.label("chain"),
        next_seq().label("next_seq"),
        _last(_EVENTS.c.chain_seq, in_chain, _EVENTS.c.chain_seq).label("head_place"),
        _last(_EVENTS.c.hash, in_chain, _EVENTS.c.chain_seq).label("head_hash"),
        _last(_REFUSALS.c.id, True, _REFUSALS.c.id).label("refusal_id"),
        _last(_REFUSALS.c.hash, True, _REFUSALS.c.id).label("refusal_hash"),
    )


@dataclass(frozen=True)
class Position:
    """Where the next event goes: its ``seq``, its chain and place there, the
    hash it links to, and the refusals' head it records."""

    seq: int
    chain: str
    chain_seq: int
    prev_hash: str
    refusal_head: str | None


def position_of(row: Any) -> Position:
    """The :class:`Position` in a row that selected :func:`position_columns`."""
    refusals = f"{row.refusal_id}:{row.refusal_hash}" if row.refusal_id is not None else None
    return Position(row.next_seq, row.chain, (row.head_place or 0) + 1,
                    row.head_hash or GENESIS, refusals)


_CHAIN_OF_ITEM = (
    select(unit_chain(_OWNERS.c.unit))
    .select_from(_DELIVERABLES.join(_OWNERS, _OWNERS.c.id == _DELIVERABLES.c.owner_id))
)
_LEGACY_HEAD = (select(_EVENTS.c.seq, _EVENTS.c.hash).where(_EVENTS.c.chain.is_(None))
                .order_by(_EVENTS.c.seq.desc()).limit(1))


def position(connection: Connection, deliverable_id: int | None = None) -> Position:
    """Where the next event about ``deliverable_id`` (None: about no
    deliverable) goes, with its chain held until commit."""
    chain = GLOBAL
    if deliverable_id is not None:
        found = connection.execute(
            _CHAIN_OF_ITEM.where(_DELIVERABLES.c.id == deliverable_id)).scalar()
        if found is None:
            raise NotFound("deliverable", deliverable_id)
        chain = str(found)
    lock_chain(connection, chain)
    place = position_of(connection.execute(select(*position_columns(literal(chain)))).one())
    if chain == GLOBAL and place.chain_seq == 1:
        legacy = connection.execute(_LEGACY_HEAD).first()
        if legacy is not None:  # the global chain goes on from the unpartitioned log
            place = Position(place.seq, GLOBAL, legacy.seq + 1, legacy.hash,
                             place.refusal_head)
    return place


# -- verifying --------------------------------------------------------------------------


def _place(event: Any) -> tuple[str, int]:
    if event.chain is None:
        return GLOBAL, int(event.seq)
    return str(event.chain), int(event.chain_seq or 0)


def _heads_digest(seq: int, heads: dict[str, tuple[int, str]]) -> str:
    lines = "\n".join(f"{chain} {place} {value}" for chain, (place, value) in sorted(heads.items()))
    return f"{seq}:{hashlib.sha256(lines.encode('utf-8')).hexdigest()}"


class ChainCheck:
    """Every link of every chain, fed one event at a time in ``seq`` order:
    memory grows with the number of chains, never with the log."""

    def __init__(self, digest: str | None = None) -> None:
        self._heads: dict[str, tuple[int, str]] = {}
        self._wanted = parse_digest(digest) if digest else None
        self._reached = self._wanted is None
        self._last_seq = 0

    def feed(self, event: Any, hash_of: Any) -> None:
        """Check ``event`` (its hash recomputed by ``hash_of``) against the
        head of its chain, and the kept digest once the log passes it."""
        if self._wanted and not self._reached and event.seq > self._wanted[0]:
            self._compare_at(self._wanted)
        if event.seq <= self._last_seq:
            raise AuditVerificationFailed(event.seq, "sequence out of order")
        chain, place = _place(event)
        expected, previous = self._heads.get(chain, (0, GENESIS))
        if place != expected + 1:
            raise AuditVerificationFailed(
                event.seq, "missing event(s) before it (deleted?)" if place > expected + 1
                else "sequence out of order")
        if event.prev_hash != previous:
            raise AuditVerificationFailed(
                event.seq, "chain broken: event inserted, deleted or reordered before it")
        if hash_of(event) != event.hash:
            raise AuditVerificationFailed(event.seq, "content does not match its hash (edited)")
        if self._wanted and event.seq == self._wanted[0] and event.hash == self._wanted[1]:
            self._reached = True  # a digest kept before chains: the head event itself
        self._heads[chain] = (place, event.hash)
        self._last_seq = event.seq

    def finish(self) -> str | None:
        """The digest of the log as checked; raises if a kept digest was not reached."""
        if self._wanted and not self._reached:
            if self._last_seq < self._wanted[0]:
                raise AuditVerificationFailed(
                    self._wanted[0], "the log no longer reaches the kept digest (truncated?)")
            self._compare_at(self._wanted)
        return _heads_digest(self._last_seq, self._heads) if self._heads else None

    def _compare_at(self, wanted: tuple[int, str]) -> None:
        if _heads_digest(wanted[0], self._heads) != f"{wanted[0]}:{wanted[1]}":
            raise AuditVerificationFailed(wanted[0], "does not match the kept digest")
        self._reached = True


def parse_digest(digest: str) -> tuple[int, str]:
    seq, _, value = digest.partition(":")
    decimal = seq.isascii() and seq.isdecimal()
    if not decimal or len(value) != 64 or value.strip("0123456789abcdefABCDEF"):
        raise InvalidInput(f"digest {digest!r} is not of the form SEQ:SHA256")
    return int(seq), value.lower()


_TOPS = (select(_EVENTS.c.chain, func.max(_EVENTS.c.chain_seq).label("top"))
         .where(_EVENTS.c.chain.is_not(None)).group_by(_EVENTS.c.chain).subquery())
_HEADS = select(_EVENTS.c.chain, _EVENTS.c.chain_seq, _EVENTS.c.hash).join(
    _TOPS, and_(_EVENTS.c.chain == _TOPS.c.chain, _EVENTS.c.chain_seq == _TOPS.c.top))


def digest(connection: Connection) -> str | None:
    """The log's digest now: on a server, taken with every writer held off, so
    no event numbered before it can still commit after it."""
    lock_log(connection)
    last = connection.execute(select(func.max(_EVENTS.c.seq))).scalar()
    if last is None:
        return None
    heads = {row.chain: (row.chain_seq, row.hash) for row in connection.execute(_HEADS)}
    if GLOBAL not in heads:
        legacy = connection.execute(_LEGACY_HEAD).first()
        if legacy is not None:
            heads[GLOBAL] = (legacy.seq, legacy.hash)
    return _heads_digest(int(last), heads)
