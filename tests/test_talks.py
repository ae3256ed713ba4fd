"""Heart-to-heart talks (谈心谈话): every pair of the leadership team talks once,
confirmed by both; the talks gate names each pair not recorded or not
confirmed; only the parties (or the office) record, only the parties confirm."""

from __future__ import annotations

from datetime import date
from itertools import combinations
from pathlib import Path

import pytest
from plan_helpers import (
    PLAN,
    STANDARD,
    STARTER,
    P,
    audit_rows,
    db_state,
    force_to,
    open_db,
    roster,
)

from workflow import Campaign
from workflow.errors import (
    CampaignError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.services.gates import Check

TALKS_PHASE = "implementation.find_and_criticise"
HELD = date(2014, 6, 1)
NAMES = ["李书记", "张副主席", "刘副主席", "王副主席", "陈副主席", "杨副主席", "赵副主席"]


def team_roster(n: int, *, principal_is_leader: bool = True) -> tuple[P, ...]:
    """Office, supervisor, a member, and a team of n: the principal and n-1 leaders."""
    principal_roles = ("principal", "leader") if principal_is_leader else ("principal",)
    team = [P("t0", NAMES[0], principal_roles, "党组")]
    team += [P(f"t{i}", NAMES[i], ("leader",), "党组") for i in range(1, n)]
    return (P("office1", "王敏", ("office",)), *team, P("sup1", "陈督导", ("supervisor",)),
            P("member1", "赵一", ("member",)))


def talks_check(c: Campaign) -> Check:
    gate = PLAN.spec.leaf(TALKS_PHASE).gate
    (index,) = [i for i, item in enumerate(gate) if item.talks]
    assert c.plan.phase() == TALKS_PHASE
    return c.plan.gate()[index]


def refused(c: Campaign, db: str, error: type[CampaignError], call: object) -> CampaignError:
    before = db_state(db)
    with pytest.raises(CampaignError) as info:
        call()  # type: ignore[operator]
    assert type(info.value) is error, repr(info.value)
    assert db_state(db) == before
    return info.value


# -- how many pairs ------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 8))
def test_a_team_of_n_owes_n_times_n_minus_1_over_2_talks(
    empty_db: str, work: Path, n: int
) -> None:
    people = team_roster(n)
    c = open_db(empty_db)
    c.plan.start(STARTER, PLAN, roster(work, people))
    force_to(c, TALKS_PHASE)
    team = [p for p in people if p.id.startswith("t")]
    pairs = list(combinations(team, 2))
    assert len(pairs) == n * (n - 1) // 2

    check = talks_check(c)
    assert len(check.missing) == len(pairs)
    for a, b in pairs:
        (line,) = [m for m in check.missing if a.name in m and b.name in m]
        assert "未记录" in line

    talks = [c.records.talk(a.id, a.id, b.id, HELD) for a, b in pairs]
    for (_, b), talk in zip(pairs[:-1], talks, strict=False):
        c.records.confirm_talk(b.id, talk.id)
    if pairs:
        (line,) = talks_check(c).missing  # the last one is still waiting
        assert f"待{pairs[-1][1].name}确认" in line
        c.records.confirm_talk(pairs[-1][1].id, talks[-1].id)
    assert talks_check(c).satisfied
    assert len(c.plan.talks()) == len(pairs)
    c.store.engine.dispose()


def test_a_principal_who_is_not_a_leader_is_in_the_team(
    empty_db: str, work: Path
) -> None:
    c = open_db(empty_db)
    c.plan.start(STARTER, PLAN, roster(work, team_roster(3, principal_is_leader=False)))
    force_to(c, TALKS_PHASE)
    assert len(talks_check(c).missing) == 3
    c.store.engine.dispose()


def test_members_offices_supervisors_and_branches_owe_no_talks(c: Campaign) -> None:
    force_to(c, TALKS_PHASE)
    missing = talks_check(c).missing
    assert len(missing) == 3  # prin, leader1, leader2
    outsiders = [p.name for p in STANDARD if not {"principal", "leader"} & set(p.roles)]
    assert not [m for m in missing for name in outsiders if name in m]


# -- recording and confirming ----------------------------------------------------------


@pytest.mark.parametrize(("recorder", "first", "second"), [
    ("leader1", "leader1", "leader2"),
    ("leader1", "leader2", "leader1"),
    ("leader2", "leader1", "leader2"),
    ("prin", "prin", "leader2"),
])
def test_a_party_who_records_confirms_their_own_side(
    c: Campaign, recorder: str, first: str, second: str
) -> None:
    talk = c.records.talk(recorder, first, second, HELD, notes="交心谈心")
    assert {talk.first, talk.second} == {first, second}
    mine, theirs = ((talk.first_confirmed_at, talk.second_confirmed_at) if talk.first == recorder
                    else (talk.second_confirmed_at, talk.first_confirmed_at))
    assert mine is not None and theirs is None
    assert not talk.confirmed
    assert c.plan.talks() == [talk]


def test_the_office_records_and_both_parties_confirm(c: Campaign, db: str) -> None:
    talk = c.records.talk(STARTER, "leader1", "leader2", HELD)
    assert (talk.first_confirmed_at, talk.second_confirmed_at) == (None, None)
    assert c.records.confirm_talk("leader2", talk.id).second_confirmed_at is not None
    done = c.records.confirm_talk("leader1", talk.id)
    assert done.confirmed
    assert c.plan.talks() == [done]


def test_the_other_party_confirms(c: Campaign) -> None:
    talk = c.records.talk("leader2", "leader2", "prin", HELD)
    assert not talk.confirmed
    confirmed = c.records.confirm_talk("prin", talk.id)
    assert confirmed.confirmed
    assert c.plan.talks() == [confirmed]
    last = audit_rows(c)[-1]
    assert (last["action"], last["actor"]) == ("talk.confirm", "prin")
    assert last["detail"]["talk"] == talk.id


@pytest.mark.parametrize("outsider", ["leader1", "prin", STARTER, "member1", "sup1"])
def test_a_third_person_cannot_confirm(c: Campaign, db: str, outsider: str) -> None:
    pair = [u for u in ("prin", "leader1", "leader2") if u != outsider][:2]
    talk = c.records.talk(pair[0], pair[0], pair[1], HELD)
    refusals = len(c.audit.refusals())
    error = refused(c, db, PermissionDenied, lambda: c.records.confirm_talk(outsider, talk.id))
    assert error.exit_code == 3
    assert len(c.audit.refusals()) == refusals + 1
    assert not c.plan.talks()[0].confirmed


@pytest.mark.parametrize("who", ["recorder", "other"])
def test_confirming_twice_is_refused(c: Campaign, db: str, who: str) -> None:
    talk = c.records.talk("leader1", "leader1", "leader2", HELD)
    if who == "other":
        c.records.confirm_talk("leader2", talk.id)
    actor = "leader1" if who == "recorder" else "leader2"
    error = refused(c, db, TransitionNotAllowed, lambda: c.records.confirm_talk(actor, talk.id))
    assert error.exit_code == 4


def test_confirming_an_unknown_talk_is_not_found(c: Campaign, db: str) -> None:
    refused(c, db, NotFound, lambda: c.records.confirm_talk("leader1", 999))


@pytest.mark.parametrize(("first", "second"), [("leader1", "leader2"), ("leader2", "leader1")])
def test_a_pair_is_recorded_once_in_either_order(
    c: Campaign, db: str, first: str, second: str
) -> None:
    c.records.talk(STARTER, "leader1", "leader2", HELD)
    error = refused(c, db, InvalidInput,
                    lambda: c.records.talk(second, first, second, date(2014, 6, 2)))
    assert "already" in str(error)


@pytest.mark.parametrize(("first", "second"), [
    ("leader1", "member1"), ("office1", "prin"), ("sup1", "leader2"), ("leader1", "branch1"),
    ("leader1", "leader1"),
])
def test_only_two_different_team_members_talk(
    c: Campaign, db: str, first: str, second: str
) -> None:
    error = refused(c, db, InvalidInput, lambda: c.records.talk(STARTER, first, second, HELD))
    assert error.exit_code == 7


def test_a_leader_cannot_record_a_talk_between_two_others(c: Campaign, db: str) -> None:
    refused(c, db, PermissionDenied, lambda: c.records.talk("leader1", "prin", "leader2", HELD))


def test_every_talk_write_is_audited(c: Campaign) -> None:
    before = len(audit_rows(c))
    talk = c.records.talk("leader1", "leader1", "leader2", HELD)
    c.records.confirm_talk("leader2", talk.id)
    rows = audit_rows(c)
    assert len(rows) == before + 2
    assert [(r["action"], r["actor"]) for r in rows[-2:]] == [
        ("talk.record", "leader1"), ("talk.confirm", "leader2")]
    assert rows[-2]["detail"]["between"] == ["leader1", "leader2"]
    c.audit.verify()


# -- the gate names pairs ----------------------------------------------------------------


def test_the_talks_gate_names_unrecorded_and_unconfirmed_pairs(c: Campaign, db: str) -> None:
    force_to(c, TALKS_PHASE)
    # prin–leader1: confirmed by both; prin–leader2: waiting for 刘副主席;
    # leader1–leader2: not recorded.
    done = c.records.talk("prin", "prin", "leader1", HELD)
    c.records.confirm_talk("leader1", done.id)
    c.records.talk("prin", "prin", "leader2", HELD)

    missing = talks_check(c).missing
    assert len(missing) == 2
    (unrecorded,) = [m for m in missing if "张副主席" in m]
    assert "刘副主席" in unrecorded and "未记录" in unrecorded
    (waiting,) = [m for m in missing if "李书记" in m]
    assert "刘副主席" in waiting and "待刘副主席确认" in waiting
    assert "李书记" not in waiting.split("：", 1)[1]

    message = str(refused(c, db, TransitionNotAllowed, lambda: c.plan.advance(STARTER)))
    assert unrecorded in message and waiting in message
