"""`start`: every deliverable the plan requires, with its owner, title, due date,
plan and phase, in its initial state; the campaign in its first phase; an
audit event for each user, for the start and for each creation; and a log
that verifies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PEOPLE
from plan_helpers import (
    DEFINITIONS,
    LEAF_PATHS,
    PLAN,
    PLAN_ID,
    SPEC,
    STANDARD,
    STARTER,
    P,
    audit_rows,
    db_state,
    open_db,
    roster,
)

from workflow import Campaign
from workflow.errors import InvalidInput
from workflow.spec.loader import load_file

INITIAL = {t: load_file(DEFINITIONS / f"{t}.yaml").spec.initial
           for t in {r.deliverable for r in SPEC.requirements}}

#: A roster where owner_role order matters: office2 comes before office1,
#: the principal is also a leader (领导班子及成员), and a second principal follows.
ORDERED: tuple[P, ...] = (
    P("office2", "孙丽", ("office",), "组织部"),
    P("leader2", "刘副主席", ("leader",), "党组"),
    P("prin", "李书记", ("principal", "leader"), "党组"),
    P("office1", "王敏", ("office",), "群教办"),
    P("leader1", "张副主席", ("leader",), "党组"),
    P("prin2", "吴书记", ("principal",), "党组"),
    P("sup1", "陈督导", ("supervisor",), "市委督导组"),
    P("member1", "赵一", ("member",), "保障部"),
    P("branch1", "机关第一支部", ("branch",), None),
)
ROSTERS = {"standard": STANDARD, "ordered": ORDERED, "reversed": ORDERED[::-1]}


def expected(people: tuple[P, ...]) -> list[tuple[object, ...]]:
    """(type, owner, title, due, phase) for every requirement, worked out from the plan
    file alone: `per` → one per holder in roster order, `owner_role` → its first holder."""
    out: list[tuple[object, ...]] = []
    for req in SPEC.requirements:
        if req.per == "team":  # the leadership team: the principal(s) and the leaders
            owners = [p for p in people if {"principal", "leader"} & set(p.roles)]
        elif req.per:
            owners = [p for p in people if req.per in p.roles]
        else:
            owners = [next(p for p in people if req.owner_role in p.roles)]
        out += [(req.deliverable, p.id, req.title.replace("{name}", p.name), req.due, req.phase)
                for p in owners]
    return out


@pytest.fixture
def fresh(empty_db: str) -> Iterator[Campaign]:
    campaign = open_db(empty_db)
    yield campaign
    campaign.store.engine.dispose()


def start(campaign: Campaign, work: Path, people: tuple[P, ...]) -> list[int]:
    starter = STARTER if any(p.id == STARTER for p in people) else "office2"
    return campaign.plan.start(starter, PLAN, roster(work, people))


@pytest.mark.parametrize("which", ROSTERS)
def test_start_creates_every_required_deliverable(
    fresh: Campaign, work: Path, which: str
) -> None:
    people = ROSTERS[which]
    ids = start(fresh, work, people)
    made = fresh.reads.deliverables()
    assert ids == [d.id for d in made]
    assert [(d.type, d.owner, d.title, d.due, d.phase) for d in made] == expected(people)
    assert {d.plan_id for d in made} == {PLAN_ID}


def test_per_member_titles_carry_each_team_members_name(fresh: Campaign, work: Path) -> None:
    """``per: team``: every principal and leader, each once (prin holds both roles)."""
    start(fresh, work, ORDERED)
    leaders = {p.id: p.name for p in ORDERED if {"leader", "principal"} & set(p.roles)}
    assert set(leaders) == {"leader2", "prin", "leader1", "prin2"}
    per_team = [r for r in SPEC.requirements if r.per == "team"]
    assert {r.deliverable for r in per_team} == {
        "research_report", "self_review", "rectification_plan", "rectification_item"}
    for req in per_team:
        assert "{name}" in req.title
        items = [d for d in fresh.reads.deliverables(type_id=req.deliverable) if d.owner in leaders]
        assert sorted(d.owner for d in items) == sorted(leaders)
        for d in items:
            assert leaders[d.owner] in d.title
            assert d.title == req.title.format(name=leaders[d.owner])
            assert (d.due, d.phase) == (req.due, req.phase)


def test_owner_role_goes_to_the_first_holder_in_roster_order(
    fresh: Campaign, work: Path
) -> None:
    start(fresh, work, ORDERED)
    team_items = [d for d in fresh.reads.deliverables()
                  if not any(p.name in d.title for p in ORDERED)]
    owners = {d.type: d.owner for d in team_items}
    assert owners["implementation_plan"] == "office2"  # before office1 in the file
    assert owners["summary_report"] == "prin"  # before prin2


def test_everything_starts_in_its_initial_state_with_no_content(
    fresh: Campaign, work: Path
) -> None:
    start(fresh, work, STANDARD)
    for d in fresh.reads.deliverables():
        assert d.state == INITIAL[d.type]
        assert d.version == 1
        assert d.revision is None
        assert not d.final


def test_the_campaign_is_in_its_first_phase(fresh: Campaign, work: Path) -> None:
    start(fresh, work, STANDARD)
    assert fresh.plan.plan_ids() == [PLAN_ID]
    assert fresh.plan.phase() == LEAF_PATHS[0] == "preparation"
    assert fresh.plan.spec().id == PLAN_ID
    assert fresh.plan.event_records() == []
    assert fresh.plan.talks() == []
    assert all(t.done == 0 and t.entries == 0 for t in fresh.plan.targets())
    assert [t.id for t in fresh.plan.targets()] == [t.id for t in SPEC.targets]


def test_the_roster_becomes_the_users(fresh: Campaign, work: Path) -> None:
    start(fresh, work, ORDERED)
    users = {u.id: u for u in fresh.reads.users()}
    assert set(users) == {p.id for p in ORDERED}
    for p in ORDERED:
        assert (users[p.id].name, set(users[p.id].roles), users[p.id].unit) == (
            p.name, set(p.roles), p.unit)


def test_start_is_audited_user_by_user_then_start_then_each_creation(
    fresh: Campaign, work: Path
) -> None:
    loads = len(audit_rows(fresh))
    ids = start(fresh, work, STANDARD)
    rows = audit_rows(fresh)[loads:]
    n = len(STANDARD)

    assert [r["action"] for r in rows] == ["user.add"] * n + ["plan.start"] + ["create"] * len(ids)
    assert [r["detail"]["user"] for r in rows[:n]] == [p.id for p in STANDARD]
    assert all(r["actor"] == STARTER for r in rows)

    plan_start = rows[n]
    assert plan_start["dest"] == "preparation"
    assert plan_start["detail"]["plan"] == PLAN_ID
    assert plan_start["detail"]["sha256"] == PLAN.sha256

    creations = rows[n + 1:]
    assert [r["deliverable_id"] for r in creations] == ids
    for row in creations:
        item = fresh.reads.get(row["deliverable_id"])
        assert row["dest"] == INITIAL[item.type]
        assert row["detail"]["owner"] == item.owner
        assert row["detail"]["plan"] == PLAN_ID
        assert row["detail"]["due"] == item.due.isoformat()  # type: ignore[union-attr]


def test_the_log_verifies_after_start(fresh: Campaign, work: Path) -> None:
    ids = start(fresh, work, ORDERED)
    report = fresh.audit.verify()
    assert report.deliverables == len(ids)
    assert report.events == len(audit_rows(fresh))
    assert report.digest == fresh.audit.digest()


def test_start_on_a_populated_db_reuses_existing_users(
    campaign: Campaign, work: Path
) -> None:
    people = tuple(P(*p) for p in PEOPLE)
    loads = len(audit_rows(campaign))
    users_before = campaign.reads.users()
    ids = campaign.plan.start("office1", PLAN, roster(work, people))

    assert campaign.reads.users() == users_before
    actions = [r["action"] for r in audit_rows(campaign)[loads:]]
    assert actions == ["plan.start"] + ["create"] * len(ids)
    made = campaign.reads.deliverables()
    assert [(d.type, d.owner, d.title, d.due, d.phase) for d in made] == expected(people)
    campaign.audit.verify()


@pytest.mark.parametrize(("field", "value"), [("name", "改名者"), ("unit", "别的部门")])
def test_an_existing_user_with_another_name_or_unit_is_refused(
    campaign: Campaign, db_url: str, work: Path, field: str, value: str
) -> None:
    # Else the user would keep the stored name while the per-leader titles
    # were formatted with the roster's.
    people = tuple(P(*p)._replace(**{field: value}) if p[0] == "leader1" else P(*p)
                   for p in PEOPLE)
    before = db_state(db_url)
    with pytest.raises(InvalidInput) as info:
        campaign.plan.start("office1", PLAN, roster(work, people))
    assert "leader1" in str(info.value)
    assert db_state(db_url) == before
    assert campaign.reads.user("leader1").name == dict((p[0], p[1]) for p in PEOPLE)["leader1"]
