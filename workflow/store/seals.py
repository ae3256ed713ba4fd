"""Rows bound to the audit chain.

The hash chain proves the log was not edited; the rules, though, read other
tables too — who holds which role, what the approved text says, when a
publicity window closes, who is responsible for a rectification.  So every
write that adds, changes or removes such a row records the row's *seal* —
sha256 over a canonical encoding of its columns — in the ``sealed`` field of
its (hashed) audit event.  Verifying (:mod:`workflow.store.verify_seals`)
recomputes the seal of every row of every sealed table and compares it with
the last one the log recorded: a row edited, inserted or deleted behind the
engine's back is named.

Columns that every move changes (a deliverable's state and version, a
campaign's phase) are not sealed: the replay rebuilds them from the events.

Refusals are not events (a refused move changes no audit chain), so they
form a hash chain of their own, and every audit event records that chain's
head: deleting a refusal breaks its chain, truncating the chain misses a
recorded head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, select

from workflow.store import chains
from workflow.store.access import Credential, UserContact
from workflow.store.database import lock_refusals
from workflow.store.models import (
    AccessRefusal,
    Attachment,
    Deliverable,
    EventRecord,
    Opinion,
    PlanRun,
    ProgressNote,
    PublicityWindow,
    Rectification,
    Revision,
    Talk,
    TargetEntry,
    User,
    UserRole,
    WorkflowDefinition,
)

Seal = tuple[str, str | None]
"""``("table:key", sha256)``; a ``None`` seal records that the row was removed."""

REFUSAL_HEAD = "access_refusal:head"
GENESIS = chains.GENESIS

# Table → the columns left out of its seal, because the replay checks them.
_UNSEALED: dict[type[Any], frozenset[str]] = {
    WorkflowDefinition: frozenset(),
    User: frozenset(),
    UserRole: frozenset(),
    Deliverable: frozenset({"state", "version", "updated_at"}),
    Revision: frozenset(),
    Opinion: frozenset(),
    PublicityWindow: frozenset(),
    Rectification: frozenset(),
    ProgressNote: frozenset(),
    Attachment: frozenset(),
    PlanRun: frozenset({"phase", "version", "updated_at"}),
    EventRecord: frozenset(),
    Talk: frozenset(),
    TargetEntry: frozenset(),
    Credential: frozenset(),
    UserContact: frozenset(),
}


@dataclass(frozen=True, eq=False)
class SealedTable:
    table: Table
    columns: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(self.table.name)

    def key_of(self, row: Mapping[Any, Any]) -> str:
        return f"{self.name}:" + "/".join(str(row[c]) for c in self.key)

    @cached_property
    def by_key(self) -> Select[Any]:
        """One row by its key, built once: every sealed write runs it."""
        return select(self.table).where(
            *(self.table.c[c] == bindparam(f"k_{c}") for c in self.key))

    def digest(self, row: Mapping[Any, Any]) -> str:
        optional = OPTIONAL.get(self.name, frozenset())
        encoded = json.dumps({c: _plain(row[c]) for c in self.columns
                              if not (c in optional and row[c] is None)}, sort_keys=True,
                             ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@cache
def sealed_tables() -> dict[str, SealedTable]:
    tables = {}
    for model, unsealed in _UNSEALED.items():
        table: Table = model.__table__
        tables[str(table.name)] = SealedTable(
            table, tuple(c.name for c in table.columns if c.name not in unsealed),
            tuple(c.name for c in table.primary_key.columns))
    return tables


def _plain(value: Any) -> Any:
    """The JSON form of a stored value; content is sealed by its sha256."""
    if isinstance(value, bytes | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, date):
        return value.isoformat()
    return value


#: Table → columns added after rows were first sealed: left out of a row's
#: digest while NULL, so the seals recorded before the column existed hold.
OPTIONAL: dict[str, frozenset[str]] = {"event_record": frozenset({"facts"})}


# -- writing ----------------------------------------------------------------------------


def seal(connection: Connection, table_name: str, *key: object) -> Seal:
    """The seal of one row as it is now stored (``None`` if it is gone)."""
    sealed = sealed_tables()[table_name]
    params = {f"k_{c}": v for c, v in zip(sealed.key, key, strict=True)}
    row = connection.execute(sealed.by_key, params).mappings().first()
    name = f"{table_name}:" + "/".join(str(v) for v in key)
    return name, None if row is None else sealed.digest(row)


def seal_values(table_name: str, values: Mapping[str, Any]) -> Seal:
    """The seal of a row just written with ``values`` (every sealed column, the
    key included), without reading it back: for the hot path of moves, and only
    for columns that read back exactly as written (text, integers, dates)."""
    sealed = sealed_tables()[table_name]
    return sealed.key_of(values), sealed.digest(values)


def seal_where(connection: Connection, table_name: str, **equal: object) -> list[Seal]:
    """The seals of every row whose columns equal ``equal`` (e.g. a type's definitions)."""
    sealed = sealed_tables()[table_name]
    rows = connection.execute(
        select(sealed.table).where(*(sealed.table.c[c] == v for c, v in equal.items()))
    ).mappings()
    return [(sealed.key_of(row), sealed.digest(row)) for row in rows]


def removed(table_name: str, *key: object) -> Seal:
    return f"{table_name}:" + "/".join(str(v) for v in key), None


def encode(seals: Iterable[Seal], refusal_head: str | None) -> str | None:
    data: dict[str, str | None] = dict(seals)
    if refusal_head is not None:
        data[REFUSAL_HEAD] = refusal_head
    if not data:
        return None
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


_REFUSALS = AccessRefusal.__table__  # type: ignore[attr-defined]
_REFUSAL_HEAD = select(_REFUSALS.c.id, _REFUSALS.c.hash).order_by(_REFUSALS.c.id.desc()).limit(1)
REFUSAL_FIELDS = ("id", "at", "actor", "action", "deliverable_id", "reason", "channel",
                  "os_user", "host", "prev_hash")


def chain_refusal(connection: Connection, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` of a new refusal with its place in the refusals' own chain."""
    lock_refusals(connection)
    last = connection.execute(_REFUSAL_HEAD).first()
    fields = {**fields, "id": last.id + 1 if last else 1,
              "prev_hash": last.hash if last else GENESIS}
    return {**fields, "hash": _refusal_hash(fields)}


def _refusal_hash(fields: Mapping[Any, Any]) -> str:
    encoded = json.dumps({f: fields[f] for f in REFUSAL_FIELDS}, sort_keys=True,
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
