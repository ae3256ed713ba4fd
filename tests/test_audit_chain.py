"""The audit chains: they verify and replay after real work, and every kind of
tampering done behind the engine's back with raw sqlite3 is caught — the first
bad event named where there is one.  Events about a deliverable link into the
chain of its owner's unit, the rest into the global chain."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from drive import COMMENT, SPECS, advance, complete_content, drive

from workflow import Campaign
from workflow.errors import AuditVerificationFailed, CampaignError, InvalidInput
from workflow.store.audit import CHAINED_FIELDS, EXPORT_FIELDS, GENESIS, event_hash

#: A reason with everything CSV and JSON must survive: Chinese, full-width and
#: ASCII punctuation, quotes, a comma and a line break.
REASON = '“四个剖析”不到位，"思想根源"挖得不深,\n请补充具体表现'
COLUMNS = ", ".join(CHAINED_FIELDS)


@pytest.fixture
def worked(campaign: Campaign) -> Campaign:
    """A realistic stretch of work: returns with reasons, revisions, a rejection, a
    refusal, several deliverables interleaved."""
    review = drive(campaign, "self_review", "review", owner="principal1")
    research = drive(campaign, "research_report", "supervisor_approval", owner="leader1")
    campaign.moves.fire("principal2", review.id, "return", REASON)
    campaign.deliverables.revise("principal1", review.id,
                    complete_content(SPECS["self_review"], title="对照检查材料（修改稿）"))
    fix = drive(campaign, "rectification_item", "publicity", owner="member1")
    advance(campaign, review.id, "submit", "forward")
    campaign.moves.fire("sup1", research.id, "reject", "调研不深入，重新调研")
    with pytest.raises(CampaignError):
        campaign.moves.fire("member2", review.id, "approve", "越权")
    campaign.deliverables.revise("leader1", research.id,
                    complete_content(SPECS["research_report"], title="重新调研后的报告"))
    advance(campaign, research.id, "redraft", "submit")
    advance(campaign, fix.id, "start", "claim_done")
    advance(campaign, review.id, "approve", "archive")
    advance(campaign, research.id, "forward")
    return campaign


def events(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as raw:
        raw.row_factory = sqlite3.Row
        return [dict(r) for r in raw.execute("SELECT * FROM audit_event ORDER BY seq")]


def chains(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The log's chains, each in its own order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["chain"], []).append(row)
    return found


def chain_around(db_path: Path, seq: int) -> list[dict[str, Any]]:
    """The chain event ``seq`` belongs to."""
    rows = events(db_path)
    chain = next(r["chain"] for r in rows if r["seq"] == seq)
    return chains(rows)[chain]


def next_in_chain(db_path: Path, seq: int) -> int:
    """The seq of the event after ``seq`` in its chain: the first link a change to it breaks."""
    chain = chain_around(db_path, seq)
    index = next(i for i, r in enumerate(chain) if r["seq"] == seq)
    return int(chain[index + 1]["seq"])


def transition_in_the_middle(db_path: Path) -> int:
    """The seq of a transition event well inside its chain (two events before
    it there, two after) and inside the log."""
    rows = events(db_path)
    candidates = [
        row["seq"] for chain in chains(rows).values() for i, row in enumerate(chain)
        if row["action"] == "transition" and 2 <= i < len(chain) - 2
    ]
    middle = sorted(candidates)[len(candidates) // 2]
    assert 1 < middle < rows[-1]["seq"] - 1
    return int(middle)


@contextmanager
def tamper(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection with the append-only triggers dropped, as a forger would."""
    raw = sqlite3.connect(db_path, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("DROP TRIGGER audit_event_no_update")
        raw.execute("DROP TRIGGER audit_event_no_delete")
        yield raw
        raw.execute("COMMIT")
    finally:
        raw.close()


def rehash_from(raw: sqlite3.Connection, seq: int) -> None:
    """What a careful forger does: recompute every hash of the chain from ``seq`` on."""
    chain, place = raw.execute("SELECT chain, chain_seq FROM audit_event WHERE seq = ?",
                               (seq,)).fetchone()
    rows = raw.execute(f"SELECT {COLUMNS} FROM audit_event WHERE chain = ? AND chain_seq >= ? "
                       "ORDER BY chain_seq", (chain, place)).fetchall()
    previous = raw.execute("SELECT hash FROM audit_event WHERE chain = ? AND chain_seq = ?",
                           (chain, place - 1)).fetchone()
    previous_hash = previous[0] if previous else GENESIS
    raw.execute("UPDATE audit_event SET hash = 'x' || seq WHERE chain = ? AND chain_seq >= ?",
                (chain, place))
    for values in rows:
        fields = dict(zip(CHAINED_FIELDS, values, strict=True))
        fields["prev_hash"] = previous_hash
        previous_hash = event_hash(fields)
        raw.execute("UPDATE audit_event SET prev_hash = ?, hash = ? WHERE seq = ?",
                    (fields["prev_hash"], previous_hash, fields["seq"]))


def heads_digest(rows: list[dict[str, Any]]) -> str:
    """The digest as the README defines it: the last seq, and sha256 over each
    chain's head (``chain place hash`` lines, sorted by chain)."""
    lines = "\n".join(f"{name} {chain[-1]['chain_seq']} {chain[-1]['hash']}"
                      for name, chain in sorted(chains(rows).items()))
    return f"{rows[-1]['seq']}:{hashlib.sha256(lines.encode()).hexdigest()}"


def verify_fails(campaign: Campaign, digest: str | None = None) -> AuditVerificationFailed:
    with pytest.raises(CampaignError) as info:
        campaign.audit.verify(digest)
    assert type(info.value) is AuditVerificationFailed
    assert info.value.exit_code == 8
    return info.value


# -- the honest log -------------------------------------------------------------------


def test_a_realistic_log_verifies_and_replays(worked: Campaign, db_path: Path) -> None:
    rows = events(db_path)
    report = worked.audit.verify()
    assert report.events == len(rows)
    assert report.deliverables == len(worked.reads.deliverables())
    assert report.head == worked.audit.digest() == heads_digest(rows)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    # People and definitions in the global chain; each deliverable in its owner's unit's.
    assert set(chains(rows)) == {"global", "unit:党组", "unit:保障部"}
    for chain in chains(rows).values():
        assert [r["chain_seq"] for r in chain] == list(range(1, len(chain) + 1))
        assert chain[0]["prev_hash"] == GENESIS
        for before, after in pairwise(chain):
            assert after["prev_hash"] == before["hash"]
    assert all(event_hash(r) == r["hash"] for r in rows)
    # A refusal is kept apart: no event names the refused actor.
    assert worked.audit.refusals()[-1].actor == "member2"
    assert "member2" not in {r["actor"] for r in rows if r["action"] == "transition"}
    # Replay agrees with what is stored.
    for item in worked.reads.deliverables():
        spec = worked.registry.definition_for(item)
        state = spec.initial
        for source, trigger, dest in worked.reads.path(item.id):
            assert source == state
            transition = spec.transition(state, trigger)
            assert transition is not None and transition.dest == dest
            state = dest
        assert state == item.state
        assert len(worked.reads.history(item.id)) == item.version


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET comment = '篡改' WHERE seq = 2",
    "DELETE FROM audit_event WHERE seq = 2",
    "DELETE FROM audit_event",
])
def test_the_database_itself_refuses_to_change_the_log(
    worked: Campaign, db_path: Path, statement: str
) -> None:
    before = events(db_path)
    with sqlite3.connect(db_path) as raw, pytest.raises(sqlite3.DatabaseError,
                                                         match="append-only"):
        raw.execute(statement)
    assert events(db_path) == before
    worked.audit.verify()


# -- tampering ------------------------------------------------------------------------

EDITS = {
    "comment": "同意",
    "actor": "sup2",
    "role": "office",
    "at": "2014-01-01T00:00:00.000000Z",
    "trigger": "approve",
    "dest": "archived",
    "revision": "0" * 64,
}


@pytest.mark.parametrize(("field", "value"), EDITS.items(), ids=list(EDITS))
def test_an_edited_event_is_named(
    worked: Campaign, db_path: Path, field: str, value: str
) -> None:
    seq = transition_in_the_middle(db_path)
    with tamper(db_path) as raw:
        raw.execute(f"UPDATE audit_event SET {field} = ? WHERE seq = ?", (value, seq))
    error = verify_fails(worked)
    assert error.seq == seq
    assert f"event {seq}" in str(error)


def test_an_edited_event_with_its_own_hash_recomputed_breaks_the_next_link(
    worked: Campaign, db_path: Path
) -> None:
    seq = transition_in_the_middle(db_path)
    row = next(r for r in events(db_path) if r["seq"] == seq)
    row["comment"] = "同意"
    with tamper(db_path) as raw:
        raw.execute("UPDATE audit_event SET comment = ?, hash = ? WHERE seq = ?",
                    (row["comment"], event_hash(row), seq))
    assert verify_fails(worked).seq == next_in_chain(db_path, seq)


def test_a_deleted_event_in_the_middle_is_named(worked: Campaign, db_path: Path) -> None:
    seq = transition_in_the_middle(db_path)
    after = next_in_chain(db_path, seq)
    with tamper(db_path) as raw:
        raw.execute("DELETE FROM audit_event WHERE seq = ?", (seq,))
    error = verify_fails(worked)
    assert error.seq == after
    assert "missing" in str(error)


def test_a_deleted_middle_event_with_the_chain_renumbered_and_rehashed_is_caught_by_replay(
    worked: Campaign, db_path: Path
) -> None:
    seq = transition_in_the_middle(db_path)
    chain = chain_around(db_path, seq)
    after = next_in_chain(db_path, seq)
    place = next(r["chain_seq"] for r in chain if r["seq"] == seq)
    with tamper(db_path) as raw:
        raw.execute("DELETE FROM audit_event WHERE seq = ?", (seq,))
        # The chain's later places one down (through negatives: the index is unique).
        raw.execute("UPDATE audit_event SET chain_seq = -(chain_seq - 1) WHERE chain = ? "
                    "AND chain_seq > ?", (chain[0]["chain"], place))
        raw.execute("UPDATE audit_event SET chain_seq = -chain_seq WHERE chain_seq < 0")
        rehash_from(raw, after)
    error = verify_fails(worked)
    assert "chain" not in str(error)  # every chain links; the replay disagrees


def test_a_deleted_last_event_is_caught_by_replay(worked: Campaign, db_path: Path) -> None:
    digest = worked.audit.digest()
    last = events(db_path)[-1]
    assert last["action"] == "transition"
    with tamper(db_path) as raw:
        raw.execute("DELETE FROM audit_event WHERE seq = ?", (last["seq"],))
    error = verify_fails(worked)
    assert error.seq is None  # the chain itself is intact; the replay disagrees
    assert f"deliverable {last['deliverable_id']}" in str(error)
    # And the kept digest says the log was cut short.
    assert verify_fails(worked, digest).seq == last["seq"]


def test_a_forged_event_inserted_in_the_middle_is_named(worked: Campaign, db_path: Path) -> None:
    seq = transition_in_the_middle(db_path)
    chain = chain_around(db_path, seq)
    index = next(i for i, r in enumerate(chain) if r["seq"] == seq)
    before, original = chain[index - 1], chain[index]
    forged = dict(before)
    forged.update(seq=seq, chain_seq=original["chain_seq"], actor="sup1", role="supervisor",
                  comment="伪造的审批", prev_hash=before["hash"])
    forged["hash"] = event_hash(forged)
    with tamper(db_path) as raw:
        raw.execute("UPDATE audit_event SET seq = -(seq + 1) WHERE seq >= ?", (seq,))
        raw.execute("UPDATE audit_event SET seq = -seq WHERE seq < 0")
        raw.execute("UPDATE audit_event SET chain_seq = -(chain_seq + 1) WHERE chain = ? AND "
                    "chain_seq >= ?", (original["chain"], original["chain_seq"]))
        raw.execute("UPDATE audit_event SET chain_seq = -chain_seq WHERE chain_seq < 0")
        names = ", ".join(forged)
        raw.execute(f"INSERT INTO audit_event ({names}) VALUES ({', '.join('?' * len(forged))})",
                    tuple(forged.values()))
    # The forged event links to its predecessor and hashes correctly; the
    # original event after it no longer links.
    error = verify_fails(worked)
    assert error.seq == seq + 1 and "chain broken" in str(error)


def test_two_swapped_events_are_named(worked: Campaign, db_path: Path) -> None:
    seq = transition_in_the_middle(db_path)
    after = next_in_chain(db_path, seq)
    rows = {r["seq"]: r for r in events(db_path)}
    columns = [c for c in rows[seq] if c not in ("seq", "chain_seq")]
    assignments = ", ".join(f"{c} = ?" for c in columns)
    with tamper(db_path) as raw:
        raw.execute("UPDATE audit_event SET hash = 'swap' WHERE seq = ?", (seq,))
        raw.execute(f"UPDATE audit_event SET {assignments} WHERE seq = ?",
                    (*(rows[seq][c] for c in columns), after))
        raw.execute(f"UPDATE audit_event SET {assignments} WHERE seq = ?",
                    (*(rows[after][c] for c in columns), seq))
    assert verify_fails(worked).seq == seq


@pytest.mark.parametrize(("column", "value"), [("state", "publicity"), ("version", 99)])
def test_a_deliverable_edited_directly_is_caught_by_replay(
    worked: Campaign, db_path: Path, column: str, value: object
) -> None:
    item = worked.reads.deliverables()[0]
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"UPDATE deliverable SET {column} = ? WHERE id = ?", (value, item.id))
    error = verify_fails(worked)
    assert error.seq is None
    assert f"deliverable {item.id}" in str(error)


def test_a_rehashed_chain_passes_alone_but_not_against_the_kept_digest(
    worked: Campaign, db_path: Path
) -> None:
    digest = worked.audit.digest()
    assert digest is not None
    kept_seq = int(digest.split(":")[0])
    extra = drive(worked, "self_review")
    worked.moves.fire(extra.owner, extra.id, "submit", COMMENT)
    worked.audit.verify(digest)  # an older digest still verifies as the log grows
    seq = transition_in_the_middle(db_path)
    with tamper(db_path) as raw:
        raw.execute("UPDATE audit_event SET comment = '同意' WHERE seq = ?", (seq,))
        rehash_from(raw, seq)
    worked.audit.verify()  # consistent on its own: this is what the digest is for
    error = verify_fails(worked, digest)
    assert error.seq == kept_seq
    assert "digest" in str(error)


# -- digests --------------------------------------------------------------------------


def test_digest_is_the_last_seq_and_sha256_of_every_chains_head(
        worked: Campaign, db_path: Path) -> None:
    digest = worked.audit.digest()
    assert digest is not None
    assert re.fullmatch(r"[1-9][0-9]*:[0-9a-f]{64}", digest)
    rows = events(db_path)
    assert digest == heads_digest(rows) and digest.startswith(f"{len(rows)}:")
    assert worked.audit.verify(digest).digest == digest
    assert worked.audit.verify(digest.upper()).digest == digest


def test_a_digest_pins_every_chain_not_only_the_last_events(
        worked: Campaign, db_path: Path) -> None:
    """A chain rewritten before the kept digest — here one whose head is
    not the log's last event — fails against it."""
    digest = worked.audit.digest()
    rows = events(db_path)
    quiet = min(chains(rows).values(), key=lambda chain: chain[-1]["seq"])
    assert quiet[-1]["seq"] < rows[-1]["seq"]
    with tamper(db_path) as raw:
        raw.execute("UPDATE audit_event SET comment = '改写' WHERE seq = ?", (quiet[-1]["seq"],))
        rehash_from(raw, quiet[-1]["seq"])
    worked.audit.verify()
    assert "digest" in str(verify_fails(worked, digest))


def test_a_digest_kept_as_the_head_events_seq_and_hash_still_verifies(
        worked: Campaign, db_path: Path) -> None:
    """The form digests had before the log was partitioned (the head event's
    own ``seq:hash``) is still accepted for the event it names."""
    last = events(db_path)[-1]
    assert worked.audit.verify(f"{last['seq']}:{last['hash']}")


def test_a_digest_the_log_never_reached_fails(worked: Campaign) -> None:
    digest = worked.audit.digest()
    assert digest is not None
    seq, value = digest.split(":")
    assert verify_fails(worked, f"{int(seq) + 5}:{value}").seq == int(seq) + 5
    other = "f" * 64 if value != "f" * 64 else "e" * 64
    assert verify_fails(worked, f"{seq}:{other}").seq == int(seq)


@pytest.mark.parametrize("digest", [
    "abc", "12", "12:", "12:abc", ":" + "a" * 64, "x:" + "a" * 64, "-1:" + "a" * 64,
    "1:" + "a" * 63, "1:" + "a" * 65, "1 " + "a" * 64,
])
def test_a_malformed_digest_is_invalid_input(worked: Campaign, digest: str) -> None:
    with pytest.raises(InvalidInput) as info:
        worked.audit.verify(digest)
    assert info.value.exit_code == 7


def test_a_digest_that_is_not_hex_is_invalid_input(worked: Campaign) -> None:
    """A mistyped digest is the caller's error (7), not evidence of tampering (8)."""
    with pytest.raises(InvalidInput) as info:
        worked.audit.verify("1:" + "z" * 64)
    assert info.value.exit_code == 7


@pytest.mark.parametrize("seq", ["²", "①"])
def test_a_digest_with_a_non_decimal_digit_is_invalid_input(worked: Campaign, seq: str) -> None:
    assert seq.isdigit() and not seq.isdecimal()
    with pytest.raises(InvalidInput):
        worked.audit.verify(f"{seq}:" + "a" * 64)


# -- export ---------------------------------------------------------------------------


def exported(campaign: Campaign, fmt: str) -> str:
    return "".join(campaign.audit.export(fmt))


def check_rows(rows: list[dict[str, Any]], db_path: Path) -> None:
    """One row per event, in order, every hash recomputable from the row alone."""
    stored = events(db_path)
    assert len(rows) == len(stored)
    previous: dict[str, str] = {}
    for row, event in zip(rows, stored, strict=True):
        assert set(row) == set(EXPORT_FIELDS)
        assert row == event
        assert row["prev_hash"] == previous.get(row["chain"], GENESIS)
        assert event_hash(row) == row["hash"]
        previous[row["chain"]] = row["hash"]


def test_export_jsonl_round_trips(worked: Campaign, db_path: Path) -> None:
    text = exported(worked, "jsonl")
    assert "四个剖析" in text and "思想根源" in text  # Chinese kept as such, not \\u-escaped
    lines = text.splitlines()
    rows = [json.loads(line) for line in lines]
    check_rows(rows, db_path)
    assert REASON in {r["comment"] for r in rows}


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == EXPORT_FIELDS
    rows = []
    for raw in reader:
        row: dict[str, Any] = {k: (v if v != "" else None) for k, v in raw.items()}
        for number in ("seq", "deliverable_id", "chain_seq"):
            row[number] = int(row[number]) if row[number] is not None else None
        rows.append(row)
    return rows


def test_export_csv_round_trips(worked: Campaign, db_path: Path) -> None:
    text = exported(worked, "csv")
    assert "思想根源" in text
    rows = parse_csv(text)
    check_rows(rows, db_path)
    assert REASON in {r["comment"] for r in rows}


def test_export_csv_round_trips_after_a_blank_comment(campaign: Campaign, db_path: Path) -> None:
    """CSV cannot tell "" from NULL, so a blank comment must be stored as no comment."""
    item = drive(campaign, "self_review")
    event = campaign.moves.fire(item.owner, item.id, "submit", " \t ")
    assert event.comment is None
    check_rows(parse_csv(exported(campaign, "csv")), db_path)


def test_export_of_an_unknown_format_is_invalid_input(worked: Campaign) -> None:
    with pytest.raises(InvalidInput):
        exported(worked, "xml")
