"""Checking the rows bound to the audit chain (:mod:`workflow.store.seals`),
in constant memory however long the log.

The seals every event recorded are spilled, by one statement, into a
temporary table of the verifying transaction (SQLite and PostgreSQL both
allow one inside a read): for each row's name the last seal recorded, the
event that recorded it, and where it was first recorded (the order a missing
row is named in).  The refusals' heads go there too, one row per distinct
head with the first event that recorded it.  Each sealed table is then read
in key order, joined to its seals, one row at a time; the rows the log
recorded but the table lacks are found by counting, and named only when the
counts differ.  On SQLite the JSON a row's seal hashes is built by SQLite
(:func:`_json_in_sqlite`), Python's own encoding deciding wherever it does
not hash to the seal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from workflow.errors import AuditVerificationFailed
from workflow.store import verify_log
from workflow.store.seals import (
    _REFUSALS,
    GENESIS,
    REFUSAL_HEAD,
    SealedTable,
    _plain,
    _refusal_hash,
    sealed_tables,
)

#: Rows read per round trip.
BATCH = 1000

SEAL, HEAD = "s", "h"
SPILL = Table(
    "campaign_verify_seal", MetaData(),
    #: SEAL: ``name`` is a row's ``table:key``; HEAD: the refusals' head ``id:hash``.
    Column("kind", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("value", String),
    Column("seq", BigInteger),  # the last event that recorded it
    Column("first_seq", BigInteger),  # the first one, and its place among that event's seals
    Column("first_pos", Integer),
    prefixes=["TEMPORARY"],
)

_KIND = f"CASE WHEN j.key = '{REFUSAL_HEAD}' THEN '{HEAD}' ELSE '{SEAL}' END"
_NAME = f"CASE WHEN j.key = '{REFUSAL_HEAD}' THEN j.value ELSE j.key END"
_COLUMNS = "INSERT INTO campaign_verify_seal (kind, name, value, seq, first_seq, first_pos) "
# Events in order, each one's seals in order: a later seal of a row replaces the
# earlier one, its first place stays.
_SPILL_SQLITE = text(
    _COLUMNS + f"SELECT {_KIND}, {_NAME}, j.value, e.seq, e.seq, j.id "
    "FROM audit_event AS e, json_each(e.sealed) AS j WHERE e.sealed IS NOT NULL "
    "ORDER BY e.seq, j.id "
    "ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value, seq = excluded.seq")
# One statement may not update a row twice: pick each name's last seal instead.
_SPILL_POSTGRESQL = text(
    _COLUMNS + "SELECT DISTINCT ON (kind, name) kind, name, value, seq, "
    "first_value(seq) OVER w, first_value(pos) OVER w FROM ("
    f"SELECT {_KIND} AS kind, {_NAME} AS name, j.value, e.seq, j.pos "
    "FROM audit_event AS e CROSS JOIN LATERAL "
    "json_each_text(CAST(e.sealed AS json)) WITH ORDINALITY AS j(key, value, pos) "
    "WHERE e.sealed IS NOT NULL) AS recorded "
    "WINDOW w AS (PARTITION BY kind, name ORDER BY seq, pos) "
    "ORDER BY kind, name, seq DESC, pos DESC")


def spill(connection: Connection) -> None:
    """Fill the temporary table of recorded seals (:func:`drop` it once
    checked; a failure's rollback takes it away too)."""
    SPILL.drop(connection, checkfirst=True)
    SPILL.create(connection)
    postgresql = connection.dialect.name == "postgresql"
    # In a savepoint: a server's transaction must survive the statement's
    # failure, to find the event that made it fail.
    savepoint = connection.begin_nested()
    try:
        connection.execute(_SPILL_POSTGRESQL if postgresql else _SPILL_SQLITE)
    except DBAPIError:
        savepoint.rollback()
        verify_log.name_unreadable_seals(connection)
        raise
    savepoint.commit()


def drop(connection: Connection) -> None:
    SPILL.drop(connection, checkfirst=True)


def check(connection: Connection) -> int:
    """Every sealed row is as the log last recorded it, and the refusals'
    chain is whole (after :func:`spill`).  Returns the number of rows
    checked; raises on the first difference, naming the row and the event."""
    checked = sum(_check_table(connection, sealed) for sealed in sealed_tables().values())
    recorded = connection.execute(
        select(func.count()).where(SPILL.c.kind == SEAL, SPILL.c.value.is_not(None))).scalar_one()
    if recorded > checked:  # each row matched one recorded seal: the others lack their row
        _name_missing(connection)
    _check_refusals(connection)
    return checked


def _check_table(connection: Connection, sealed: SealedTable) -> int:
    checked, digest = 0, _Digest(sealed)
    content = {"revision": _check_revision_content,
               "workflow_definition": _check_definition_source}.get(sealed.name)
    in_sqlite = connection.dialect.name == "sqlite"
    try:
        for row in _stream(connection, _joined(sealed, in_sqlite)):
            built, value, seq = row[-3:]
            if content is not None:
                content(row._mapping, None if seq is None else (value, seq))
            if value is None or seq is None or not digest.matches(row, built, value):
                mapping = row._mapping  # the checks again, for the message
                _check_row(sealed, mapping, sealed.key_of(mapping),
                           None if seq is None else (value, seq))
            checked += 1
    except (ValueError, TypeError, ArithmeticError) as exc:
        # A value the column's type cannot read back was not written by the engine.
        raise AuditVerificationFailed(
            None, f"table {sealed.name} holds a value that cannot be read ({exc}): "
            "edited behind the engine") from None
    return checked


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class _Digest:
    """Whether a row read by :func:`_joined` has the seal recorded for it:
    :meth:`SealedTable.digest`, the same bytes, made with one encoder for all
    rows, each column's plain form made only where its type needs one (a
    date, content) — or, on SQLite, the JSON SQLite built, when it hashes to
    the seal (:func:`_json_in_sqlite`)."""

    def __init__(self, sealed: SealedTable) -> None:
        names = [column.name for column in sealed.table.columns]
        self._sealed = sealed
        self._as_is = [(c, names.index(c)) for c in sealed.columns
                       if not isinstance(sealed.table.c[c].type, Date | LargeBinary)]
        self._plain = [(c, _plain_form(sealed, c, names)) for c in sealed.columns
                       if isinstance(sealed.table.c[c].type, Date | LargeBinary)]

    def matches(self, row: Any, built: bytes | None, seal: str) -> bool:
        if built is not None and hashlib.sha256(built).hexdigest() == seal:
            return True
        return self._python(row) == seal

    def _python(self, row: Any) -> str:
        values = {column: row[at] for column, at in self._as_is}
        for column, plain in self._plain:
            values[column] = plain(row)
        try:
            encoded = _ENCODER.encode(values)
        except TypeError:  # a value no column of its type holds: the seal's own code decides
            return self._sealed.digest(row._mapping)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _plain_form(sealed: SealedTable, column: str, names: list[str]) -> Callable[[Any], Any]:
    at = names.index(column)
    if sealed.name == "revision" and column == "content":
        # Checked against the revision's sha256 column just before: no need to hash it again.
        sha256 = names.index("sha256")
        return lambda row: "sha256:" + row[sha256]
    return lambda row: _plain(row[at])


def _json_in_sqlite(sealed: SealedTable) -> Any:
    """What :meth:`SealedTable.digest` hashes, as SQLite writes it: NULL where
    SQLite might write a value otherwise than Python (a float, a value of a
    type the column's does not read back as) — Python decides there.  The
    shortcut cannot pass a changed row: JSON that hashes to the recorded seal
    is the seal's own bytes, and SQLite wrote them from values Python writes
    the same way."""
    parts: list[Any] = []
    doubtful: list[Any] = []
    for name in sorted(sealed.columns):
        column = sealed.table.c[name]
        kind, of = column.type, func.typeof(column)
        if isinstance(kind, Float):
            return null()  # fewer digits than Python: every row to Python (few tables, few rows)
        if isinstance(kind, LargeBinary):  # a revision's content, checked against its sha256
            value = literal("sha256:") + sealed.table.c.sha256
        elif isinstance(kind, Boolean):
            value = func.json(case((column == 1, "true"), (column == 0, "false")))
            doubtful.append(and_(of != "null", or_(of != "integer", column.not_in((0, 1)))))
        elif isinstance(kind, Date):
            value = column
            doubtful.append(of.not_in(("text", "null")))
        else:
            value = column
            doubtful.append(of.in_(("real", "blob")))
        parts += [literal(name), value]
    return cast(case((or_(*doubtful), null()), else_=func.json_object(*parts)), LargeBinary)


def _joined(sealed: SealedTable, in_sqlite: bool) -> Select[Any]:
    """The table in key order, each row with the seal recorded under its name
    (and, on SQLite, the JSON its seal hashes)."""
    table = sealed.table
    name: Any = literal(f"{sealed.name}:")
    for n, key in enumerate(sealed.key):
        column = table.c[key]
        part = column if isinstance(column.type, String) else cast(column, String)
        name = name + (literal("/") + part if n else part)
    found = and_(SPILL.c.kind == SEAL, SPILL.c.name == name)
    built = _json_in_sqlite(sealed) if in_sqlite else null()
    return (select(table, built.label("seal_json"), SPILL.c.value.label("seal_value"),
                   SPILL.c.seq.label("seal_seq"))
            .select_from(table.outerjoin(SPILL, found))
            .order_by(*(table.c[c] for c in sealed.key)))


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Any]:
    yield from connection.execute(query.execution_options(yield_per=BATCH))


def _check_row(sealed: SealedTable, row: Mapping[str, Any], name: str,
               recorded: tuple[str | None, int] | None) -> None:
    if sealed.name == "revision":
        _check_revision_content(row, recorded)
    if sealed.name == "workflow_definition":
        _check_definition_source(row, recorded)
    if recorded is None:
        raise AuditVerificationFailed(
            None, f"{_describe(name, row)} was written outside the audit log")
    value, seq = recorded
    if value is None:
        raise AuditVerificationFailed(seq, f"{_describe(name, row)} was removed by this event "
                                      "but is back")
    if sealed.digest(row) != value:
        raise AuditVerificationFailed(
            seq, f"{_describe(name, row)} differs from what this event recorded (edited)")


def _check_revision_content(row: Mapping[str, Any], recorded: tuple[str | None, int] | None
                            ) -> None:
    actual = hashlib.sha256(bytes(row["content"])).hexdigest()
    if actual != row["sha256"]:
        raise AuditVerificationFailed(
            recorded[1] if recorded else None,
            f"deliverable {row['deliverable_id']} revision {row['number']}: its content "
            f"(sha256 {actual[:12]}…) is not the text its audit event recorded "
            f"(sha256 {row['sha256'][:12]}…)")


def _check_definition_source(row: Mapping[str, Any],
                             recorded: tuple[str | None, int] | None) -> None:
    if hashlib.sha256(row["source"].encode("utf-8")).hexdigest() != row["sha256"]:
        raise AuditVerificationFailed(
            recorded[1] if recorded else None,
            f"definition {row['type_id']} ({row['sha256'][:12]}…): its stored source does "
            "not match its sha256 (edited)")


# -- rows the log recorded that are gone --------------------------------------------------


def _name_missing(connection: Connection) -> None:
    """Raise for the first recorded row (in the order the log first recorded
    them) that its table lacks."""
    recorded = (select(SPILL.c.name, SPILL.c.seq)
                .where(SPILL.c.kind == SEAL, SPILL.c.value.is_not(None))
                .order_by(SPILL.c.first_seq, SPILL.c.first_pos))
    for name, seq in _stream(connection, recorded):
        if not _exists(connection, name):
            raise AuditVerificationFailed(seq, f"{_describe(name)}, which it recorded, is "
                                          "missing (deleted)")
    raise AssertionError("the recorded seals outnumber the rows, yet every one has its row")


def _exists(connection: Connection, name: str) -> bool:
    """Whether a row of a sealed table goes by ``name`` (``table:key``, the
    key's columns joined by ``/``)."""
    table_name, _, key = name.partition(":")
    sealed = sealed_tables().get(table_name)
    if sealed is None:
        return False
    for values in _splits(key, len(sealed.key)):
        params: dict[str, object] = {}
        for column, value in zip(sealed.key, values, strict=True):
            if isinstance(sealed.table.c[column].type, Integer):
                if not (value.isascii() and value.lstrip("-").isdecimal()):
                    break
                params[f"k_{column}"] = int(value)
            else:
                params[f"k_{column}"] = value
        else:
            row = connection.execute(sealed.by_key, params).mappings().first()
            if row is not None and sealed.key_of(row) == name:
                return True
    return False


def _splits(key: str, parts: int) -> Iterator[list[str]]:
    """Every way to cut ``key`` at ``/`` into ``parts`` pieces."""
    if parts == 1:
        yield [key]
        return
    for at, char in enumerate(key):
        if char == "/":
            for rest in _splits(key[at + 1:], parts - 1):
                yield [key[:at], *rest]


_DESCRIPTIONS = {
    "revision": "deliverable {deliverable_id} revision {number}",
    "attachment": "attachment {name!r} of deliverable {deliverable_id}",
    "opinion": "opinion {id} on deliverable {deliverable_id}",
    "publicity_window": "publicity window {id} of deliverable {deliverable_id}",
    "rectification": "the rectification fields of deliverable {deliverable_id}",
    "progress_note": "progress note {id} of deliverable {deliverable_id}",
    "user_role": "role {role} of user {user_id}",
    "app_user": "user {id}",
    "deliverable": "deliverable {id}",
}


def _describe(name: str, row: Mapping[str, Any] | None = None) -> str:
    """A row as a reader names it: ``deliverable 2 revision 1``, ``role supervisor of user x``."""
    table, _, key = name.partition(":")
    if row is None and table in sealed_tables():
        row = dict(zip(sealed_tables()[table].key, key.split("/"), strict=False))
    try:
        return _DESCRIPTIONS[table].format(**(row or {}))
    except (KeyError, IndexError):
        return f"{table} row {key}"


# -- the refusals' chain -------------------------------------------------------------------


def _check_refusals(connection: Connection) -> None:
    """The refusals' own chain links, and every head an event recorded is in it."""
    previous, expected = GENESIS, 1
    for row in _stream(connection, select(_REFUSALS).order_by(_REFUSALS.c.id)):
        fields = row._mapping
        if fields["id"] != expected or fields["prev_hash"] != previous:
            raise AuditVerificationFailed(
                None, f"access refusal {fields['id']}: the refusals' chain is broken before it "
                "(a refusal was deleted or inserted)")
        if _refusal_hash(fields) != fields["hash"]:
            raise AuditVerificationFailed(None, f"access refusal {fields['id']} was edited")
        previous, expected = fields["hash"], expected + 1
    heads = (select(SPILL.c.name, SPILL.c.first_seq).where(SPILL.c.kind == HEAD)
             .order_by(SPILL.c.first_seq, SPILL.c.first_pos))
    for head, seq in connection.execute(heads).all():  # one row per refusal at most
        number, _, value = head.partition(":")
        stored = connection.execute(
            select(_REFUSALS.c.hash).where(_REFUSALS.c.id == int(number))).scalar()
        if stored != value:
            raise AuditVerificationFailed(
                seq, f"access refusal {number}, whose chain this event recorded, is missing "
                "or changed (refusals deleted)")
