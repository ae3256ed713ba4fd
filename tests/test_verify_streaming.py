"""``audit verify`` streams: it reads the log off a cursor in batches (a
server-side one on PostgreSQL) into plain rows, never ORM objects, and holds
nothing that grows with the log — its memory does not grow when the log
does.  Its shortcuts (SQLite building the canonical JSON of events and the
seals' JSON of rows) never decide alone; and with several tampered events the
earliest is named, whichever deliverable it is about."""

from __future__ import annotations

import hashlib
import sqlite3
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from drive import SPECS, complete_content
from sqlalchemy import LargeBinary, event, literal

from workflow import Campaign
from workflow.errors import AuditVerificationFailed
from workflow.store import verify_log, verify_seals
from workflow.store.audit import CHAINED_FIELDS, event_hash
from workflow.store.models import AuditEvent

REASON = "“四个剖析”不完整，请补充思想根源"


def grow(campaign: Campaign, deliverables: int, cycles: int) -> None:
    """``deliverables`` more self-reviews, each submitted and returned ``cycles``
    times (moves in batches, as ``do --bulk`` makes them)."""
    content = complete_content(SPECS["self_review"])
    ids = [campaign.deliverables.create("leader1", "self_review", f"材料 {n}",
                                        content=content).id for n in range(deliverables)]
    for _ in range(cycles):
        assert not campaign.moves.fire_many("leader1", ids, "submit").refused
        assert not campaign.moves.fire_many("principal1", ids, "return", REASON).refused


def verify_peak(campaign: Campaign) -> tuple[int, int]:
    """The events verified and the least, over two runs, of the peak of
    Python's memory while verifying."""
    peaks = []
    for _ in range(2):
        tracemalloc.start()
        try:
            report = campaign.audit.verify()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return report.events, min(peaks)


def test_verify_memory_does_not_grow_with_the_log(
        campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches, so that the smaller log already fills several of them.
    monkeypatch.setattr(verify_log, "BATCH", 20)
    monkeypatch.setattr(verify_seals, "BATCH", 20)
    grow(campaign, 20, 3)
    campaign.audit.verify()  # warm: definitions parsed, statements compiled
    small, small_peak = verify_peak(campaign)
    grow(campaign, 80, 7)
    large, large_peak = verify_peak(campaign)
    assert large > 8 * small
    # Holding each event, its seals or its deliverable would take a few
    # hundred bytes apiece at the least: a megabyte more here.
    assert large_peak - small_peak < 100_000, (small, small_peak, large, large_peak)


@contextmanager
def statements(campaign: Campaign) -> Iterator[list[tuple[str, dict[str, Any], Any]]]:
    """Every statement sent, with its execution options and the driver's cursor."""
    seen: list[tuple[str, dict[str, Any], Any]] = []

    def keep(_conn: Any, cursor: Any, statement: str, _params: Any, context: Any,
             _many: bool) -> None:
        seen.append((" ".join(statement.split()), dict(context.execution_options), cursor))

    event.listen(campaign.store.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(campaign.store.engine, "before_cursor_execute", keep)


def test_verify_reads_the_log_off_a_streamed_cursor_and_loads_no_orm_event(
        campaign: Campaign, backend: str) -> None:
    grow(campaign, 5, 2)
    loaded: list[object] = []

    def on_load(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(AuditEvent, "load", on_load)
    try:
        with statements(campaign) as seen:
            report = campaign.audit.verify()
    finally:
        event.remove(AuditEvent, "load", on_load)
    assert loaded == []
    reads = [(sql, options, cursor) for sql, options, cursor in seen
             if sql.startswith("SELECT") and "FROM audit_event" in sql]
    # The log in order, and the events about deliverables in their order.
    assert len(reads) == 2, [sql for sql, _, _ in reads]
    assert any("ORDER BY audit_event.seq" in sql for sql, _, _ in reads)
    assert any("ORDER BY audit_event.deliverable_id, audit_event.seq" in sql
               for sql, _, _ in reads)
    for _sql, options, cursor in reads:
        assert options.get("yield_per"), options
        if backend == "postgresql":  # a named (server-side) cursor: rows come in batches
            assert getattr(cursor, "name", None), type(cursor)
    if backend == "sqlite":  # SQLite's canonical bytes matched: no event was read again
        assert not [sql for sql, _, _ in seen if "WHERE audit_event.seq =" in sql]
    assert report.events == len(campaign.audit.events())


def test_verify_leaves_no_temporary_table_and_runs_again_after_a_failure(
        campaign: Campaign, db_path: Path) -> None:
    grow(campaign, 3, 1)
    campaign.audit.verify()
    campaign.audit.verify()
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE opinion SET text = '同意' WHERE id = 1")
    with pytest.raises(AuditVerificationFailed, match="opinion 1"):
        campaign.audit.verify()
    with pytest.raises(AuditVerificationFailed, match="opinion 1"):
        campaign.audit.verify()
    with campaign.store.read() as session:
        left = session.connection().exec_driver_sql(
            "SELECT name FROM sqlite_temp_master").fetchall()
    assert left == []


# -- the shortcuts never decide alone ----------------------------------------------------


def test_sqlites_canonical_bytes_are_pythons(campaign: Campaign, db_path: Path) -> None:
    """The bytes SQLite builds for each event are :func:`audit.canonical`'s."""
    grow(campaign, 3, 2)
    with campaign.store.read() as session:
        for row in verify_log.events_in_order(session.connection()):
            assert hashlib.sha256(row.canonical).hexdigest() == row.hash


def test_bytes_that_do_not_hash_leave_the_event_to_python(
        campaign: Campaign, db_path: Path) -> None:
    grow(campaign, 1, 1)
    with campaign.store.read() as session:
        connection = session.connection()
        hash_of = verify_log.hasher(connection)
        for row in verify_log.events_in_order(connection):
            written_otherwise = row._replace(canonical=row.canonical + b" ")
            assert hash_of(written_otherwise) == row.hash
            assert hash_of(row._replace(canonical=None)) == row.hash


def test_seal_json_that_does_not_hash_leaves_the_row_to_python(
        campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wherever SQLite's JSON of a row differs, Python's own digest decides
    (on PostgreSQL it always does)."""
    grow(campaign, 2, 1)
    honest = campaign.audit.verify()
    monkeypatch.setattr(verify_seals, "_json_in_sqlite",
                        lambda sealed: literal(b"{}", LargeBinary))
    assert campaign.audit.verify() == honest


# -- the earliest failure ---------------------------------------------------------------


def _rehash_chain(raw: sqlite3.Connection, chain: str) -> None:
    """What a forger does: recompute every hash of a chain, in order."""
    previous = "0" * 64
    columns = ", ".join(CHAINED_FIELDS)
    for values in raw.execute(f"SELECT {columns} FROM audit_event WHERE chain = ? "
                              "ORDER BY chain_seq", (chain,)).fetchall():
        fields = dict(zip(CHAINED_FIELDS, values, strict=True))
        fields["prev_hash"] = previous
        previous = event_hash(fields)
        raw.execute("UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = ?",
                    (fields["prev_hash"], previous, fields["seq"]))


def _forge(raw: sqlite3.Connection, chain: str, column: str, value: str, *seqs: int) -> None:
    """Set ``column`` of the events ``seqs`` and rehash their chain, as a forger would."""
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("DROP TRIGGER audit_event_no_update")
    raw.execute(f"UPDATE audit_event SET {column} = ? WHERE seq IN "
                f"({', '.join('?' * len(seqs))})", (value, *seqs))
    _rehash_chain(raw, chain)
    raw.execute("COMMIT")


def test_the_earliest_bad_event_is_named_whichever_deliverable_it_is_about(
        campaign: Campaign, db_path: Path) -> None:
    grow(campaign, 2, 2)
    first, second = (d.id for d in campaign.reads.deliverables()[:2])
    with sqlite3.connect(db_path, isolation_level=None) as raw:
        # The second deliverable's first submit comes before the first one's last return.
        early = raw.execute("SELECT min(seq) FROM audit_event WHERE deliverable_id = ? "
                            "AND \"trigger\" = 'submit'", (second,)).fetchone()[0]
        late = raw.execute("SELECT max(seq) FROM audit_event WHERE deliverable_id = ?",
                           (first,)).fetchone()[0]
        assert early < late
        chain = raw.execute("SELECT chain FROM audit_event WHERE seq = ?", (early,)).fetchone()[0]
        _forge(raw, chain, "source", "review", early, late)
    with pytest.raises(AuditVerificationFailed) as failed:
        campaign.audit.verify()
    assert failed.value.seq == early
    assert "says it left 'review'" in str(failed.value)


@pytest.mark.parametrize(("sealed", "named"), [
    ("{not json", True),  # named as the event at fault
    ("[1, 2]", False), ('{"app_user:x": 7}', False),  # the rows it sealed lack their seal
])
def test_a_forged_event_with_unreadable_seals_is_reported_not_a_crash(
        campaign: Campaign, db_path: Path, sealed: str, named: bool) -> None:
    """A forger may write any text as an event's seals and hash it into the
    chain: verify fails with a report, never a database error."""
    grow(campaign, 1, 1)
    with sqlite3.connect(db_path, isolation_level=None) as raw:
        seq, chain = raw.execute("SELECT max(seq), chain FROM audit_event "
                                 "WHERE sealed IS NOT NULL").fetchone()
        _forge(raw, chain, "sealed", sealed, seq)
    with pytest.raises(AuditVerificationFailed) as failed:
        campaign.audit.verify()
    assert (failed.value.seq == seq) is named
