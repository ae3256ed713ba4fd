"""The audit log's chains: for every sequence of writes across units, each
chain is gapless and linked, every kept digest still verifies as the log
grows, and a chain rewritten before a kept digest fails against it —
whichever chain it is."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

import pytest
from drive import SPECS, complete_content
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow import Campaign
from workflow.errors import AuditVerificationFailed, CampaignError
from workflow.store.audit import CHAINED_FIELDS, GENESIS, event_hash
from workflow.store.views import EventView

#: Leaders of three units: each unit's deliverables go into a chain of their own.
LEADERS = {"lead_a": "甲单位", "lead_b": "乙单位", "lead_c": "丙单位"}

# A step: ("create", owner) | ("submit", index) | ("return", index)
#         | ("grant", user: grants or revokes a role) | ("digest", None).
STEPS = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(sorted(LEADERS))),
    st.tuples(st.sampled_from(["submit", "return"]), st.integers(0, 20)),
    st.tuples(st.just("grant"), st.sampled_from(["member1", "member2"])),
    st.tuples(st.just("digest"), st.none()),
)


@pytest.fixture
def units(campaign: Campaign) -> Campaign:
    for user_id, unit in LEADERS.items():
        campaign.people.add_user("office1", user_id, user_id, ["leader"], unit)
    return campaign


def _step(campaign: Campaign, items: list[int], step: tuple[str, object]) -> None:
    kind, value = step
    if kind == "create":
        owner = str(value)
        items.append(campaign.deliverables.create(
            owner, "self_review", "材料", content=complete_content(SPECS["self_review"])).id)
    elif kind in ("submit", "return") and items:
        item = campaign.reads.get(items[int(str(value)) % len(items)])
        actor = item.owner if kind == "submit" else "principal2"
        # Not allowed from its state now: refused, noted, nothing written.
        with suppress(CampaignError):
            campaign.moves.fire(actor, item.id, kind, "理由" if kind == "return" else None)
    elif kind == "grant":  # a role change: the global chain, the whole log held
        user = str(value)
        if "supervisor" in campaign.reads.user(user).roles:
            campaign.people.revoke_role("office1", user, "supervisor")
        else:
            campaign.people.grant_role("office1", user, "supervisor")


def _check_links(events: list[EventView]) -> dict[str, list[EventView]]:
    chains: dict[str, list[EventView]] = {}
    for event in events:
        assert event.chain is not None
        chains.setdefault(event.chain, []).append(event)
    for chain in chains.values():
        assert [e.chain_seq for e in chain] == list(range(1, len(chain) + 1))
        previous = GENESIS
        for event in chain:
            assert event.prev_hash == previous
            previous = event.hash
    return chains


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=25))
def test_every_chain_links_and_every_kept_digest_holds(
        units: Campaign, steps: list[tuple[str, object]]) -> None:
    """The database grows across examples: each starts where the last left off."""
    items: list[int] = []
    kept = [units.audit.digest()]
    for step in steps:
        if step[0] == "digest":
            kept.append(units.audit.digest())
        else:
            _step(units, items, step)
    chains = _check_links(units.audit.events())
    assert set(chains) >= {"global"}
    assert {f"unit:{LEADERS[units.reads.get(i).owner]}" for i in items} <= set(chains)
    assert units.audit.verify().digest == units.audit.digest()
    for digest in kept:
        assert units.audit.verify(digest)


def _rehash_chain(path: Path, chain: str) -> None:
    """A forger's rewrite of ``chain``: its first event edited, every hash after it recomputed."""
    columns = ", ".join(CHAINED_FIELDS)
    with sqlite3.connect(path, isolation_level=None) as raw:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("DROP TRIGGER audit_event_no_update")
        rows = raw.execute(f"SELECT {columns} FROM audit_event WHERE chain = ? ORDER BY "
                           "chain_seq", (chain,)).fetchall()
        previous = GENESIS
        for number, values in enumerate(rows):
            fields = dict(zip(CHAINED_FIELDS, values, strict=True))
            if number == 0:
                fields["host"] = "forged"
            fields["prev_hash"] = previous
            previous = event_hash(fields)
            raw.execute("UPDATE audit_event SET host = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                        (fields["host"], fields["prev_hash"], previous, fields["seq"]))
        raw.execute("COMMIT")
    raw.close()


@pytest.mark.parametrize("chain", ["global", "unit:甲单位", "unit:乙单位"])
def test_a_chain_rewritten_before_the_kept_digest_fails_against_it(
        units: Campaign, db_path: Path, chain: str) -> None:
    for owner in ("lead_a", "lead_b"):
        item = units.deliverables.create(owner, "self_review", "材料",
                                         content=complete_content(SPECS["self_review"]))
        units.moves.fire(owner, item.id, "submit")
    digest = units.audit.digest()
    assert digest is not None
    _rehash_chain(db_path, chain)
    units.audit.verify()  # consistent on its own
    with pytest.raises(AuditVerificationFailed, match="digest"):
        units.audit.verify(digest)
