"""Phase gates: each item of each leaf phase's gate blocks `advance` and is named
in the refusal and in `gate()`; with everything satisfied the campaign walks
preparation → implementation.study_and_listen → … → closed; records breaking
a plan rule are kept, flagged and do not count; forcing needs the office and a
reason and is audited; a refused advance writes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from plan_helpers import (
    FORCE_REASON,
    LEAF_PATHS,
    LEAVES,
    PLAN_ID,
    SPEC,
    STARTER,
    audit_rows,
    db_state,
    dependants,
    drive_to,
    execute,
    force_to,
    hold_all_talks,
    holders,
    item_id,
    item_name,
    record_prerequisites,
    record_valid_events,
    satisfy,
    satisfy_phase,
    talks_day,
    valid_event_kwargs,
)

from workflow import Campaign
from workflow.errors import (
    AuditVerificationFailed,
    CampaignError,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.services.gates import Check

GATE_ITEMS = [(path, i) for path, phase in LEAVES for i in range(len(phase.gate))]
GATE_IDS = [f"{path}-{item_id(SPEC.leaf(path).gate[i])}" for path, i in GATE_ITEMS]
GATED = [path for path, phase in LEAVES if phase.gate]


def check_of(c: Campaign, leaf: str, **kind: Any) -> Check:
    """The current gate's line for the item of ``leaf`` matching ``kind`` (event=…, talks=…)."""
    gate = SPEC.leaf(leaf).gate
    (index,) = [i for i, item in enumerate(gate)
                if all(getattr(item, k) == v for k, v in kind.items())]
    assert c.plan.phase() == leaf
    return c.plan.gate()[index]


def missing_lines(checks: list[Check]) -> list[str]:
    return [f"{check.label}: {m}" for check in checks for m in check.missing]


def refused_advance(
    c: Campaign, db: str, error: type[CampaignError], actor: str = STARTER, **kwargs: Any
) -> CampaignError:
    """`advance` must raise exactly ``error`` and leave the database as it was."""
    before, phase, head = db_state(db), c.plan.phase(), c.audit.digest()
    with pytest.raises(CampaignError) as info:
        c.plan.advance(actor, **kwargs)
    assert type(info.value) is error, repr(info.value)
    assert info.value.exit_code == {TransitionNotAllowed: 4, PermissionDenied: 3}[error]
    assert c.plan.phase() == phase
    assert c.audit.digest() == head
    after = db_state(db)
    assert after.audit_hashes == before.audit_hashes
    assert after.plan_runs == before.plan_runs
    assert after == before
    return info.value


# -- every gate item blocks, is named, and unblocks ------------------------------------


#: Why the per-item gate runs on PostgreSQL are soaks, not the inner loop's.
SAME_GATES = ("a gate is judged by the same functions over the same reads on both backends; "
              "the [sqlite] run checks every item in the inner loop, and the walk to closed "
              "passes every gate on the server")


@pytest.mark.soak_on_postgresql(SAME_GATES)
@pytest.mark.parametrize(("leaf", "index"), GATE_ITEMS, ids=GATE_IDS)
def test_each_gate_item_blocks_advance_until_satisfied(
    c: Campaign, db: str, leaf: str, index: int
) -> None:
    force_to(c, leaf)
    gate = SPEC.leaf(leaf).gate
    for j, other in enumerate(gate):
        if j != index:
            satisfy(c, other)

    # What follows the item in time cannot be valid before it: those lines wait too.
    waiting = {index} | dependants(gate, index)
    checks = c.plan.gate()
    assert len(checks) == len(gate)
    assert [bool(check.missing) for check in checks] == [j in waiting for j in range(len(gate))]
    blocking = checks[index]
    name = item_name(gate[index])
    assert name in blocking.label

    error = refused_advance(c, db, TransitionNotAllowed)
    message = str(error)
    assert name in message
    for line in missing_lines(checks):
        assert line in message
    assert SPEC.leaf(leaf).label in message

    satisfy(c, gate[index])  # the records that waited for it are valid now
    assert all(check.satisfied for check in c.plan.gate())
    c.plan.advance(STARTER)
    assert c.plan.phase() == LEAF_PATHS[LEAF_PATHS.index(leaf) + 1]


def test_nothing_done_lists_every_item_of_the_first_gate(c: Campaign, db: str) -> None:
    checks = c.plan.gate()
    assert len(checks) == len(SPEC.leaf("preparation").gate)
    message = str(refused_advance(c, db, TransitionNotAllowed))
    assert "implementation_plan" in message
    plan_item = next(d for d in c.reads.deliverables() if d.type == "implementation_plan")
    assert f"#{plan_item.id}" in message


def test_a_deliverable_gate_names_each_item_not_yet_there(c: Campaign, db: str) -> None:
    force_to(c, "implementation.study_and_listen")
    for item in SPEC.leaf("implementation.study_and_listen").gate:
        if item.deliverable != "research_report":
            satisfy(c, item)
    reports = c.reads.deliverables(type_id="research_report")
    assert len(reports) == len(holders(c, "team")) == 3  # the principal's own too
    *done, last = reports
    for report in done:
        drive_to(c, report.id, "publicity")

    (check,) = [ch for ch in c.plan.gate() if ch.missing]
    assert check.missing == (check.missing[0],)
    assert f"#{last.id}" in check.missing[0]
    assert last.title in check.missing[0]
    message = str(refused_advance(c, db, TransitionNotAllowed))
    assert all(f"#{report.id}" not in message for report in done)


def test_a_per_person_event_gate_names_who_has_none(c: Campaign, db: str) -> None:
    force_to(c, "implementation.study_and_listen")
    spec = SPEC.event("field_research")
    record_valid_events(c, spec, skip=["leader2"])
    check = check_of(c, "implementation.study_and_listen", event="field_research")
    assert len(check.missing) == 1
    assert "leader2" in check.missing[0] and "刘副主席" in check.missing[0]


# -- the walk through every phase ------------------------------------------------------


def test_satisfying_every_gate_walks_the_campaign_to_closed(c: Campaign, db: str) -> None:
    walked = [c.plan.phase()]
    actors = ["prin", STARTER]
    for step, leaf in enumerate(GATED):
        assert c.plan.phase() == leaf
        satisfy_phase(c, leaf)
        assert all(check.satisfied for check in c.plan.gate())
        event = c.plan.advance(actors[step % 2])
        assert (event.action, event.source, event.trigger) == ("phase.advance", leaf, "advance")
        assert event.actor == actors[step % 2]
        walked.append(c.plan.phase())
        assert event.dest == c.plan.phase()

    assert walked == [
        "preparation",
        "implementation.study_and_listen",
        "implementation.find_and_criticise",
        "implementation.rectify_and_build",
        "summary",
        "closed",
    ]
    assert c.plan.gate() == []
    refused_advance(c, db, TransitionNotAllowed)
    refused_advance(c, db, TransitionNotAllowed, force=True, reason=FORCE_REASON)
    c.audit.verify()
    advances = [r for r in audit_rows(c) if r["action"].startswith("phase.")]
    assert [r["action"] for r in advances] == ["phase.advance"] * 5
    assert [r["dest"] for r in advances] == walked[1:]
    assert all(r["detail"] == {"plan": PLAN_ID, "missing": []} for r in advances)


def test_leaving_preparation_enters_the_first_link_of_implementation(c: Campaign) -> None:
    satisfy_phase(c, "preparation")
    event = c.plan.advance(STARTER)
    assert event.dest == c.plan.phase() == "implementation.study_and_listen"


@pytest.mark.parametrize("actor", ["leader1", "sup1", "member1", "branch1"])
def test_only_office_or_principal_advance(c: Campaign, db: str, actor: str) -> None:
    satisfy_phase(c, "preparation")
    refusals = len(c.audit.refusals())
    refused_advance(c, db, PermissionDenied, actor=actor)
    assert len(c.audit.refusals()) == refusals + 1
    c.plan.advance("prin")
    assert c.plan.phase() == "implementation.study_and_listen"


# -- flagged records -------------------------------------------------------------------

FLAGGED = {
    # case: (event kind, arguments breaking one rule, fragment of the flag)
    "field trip of one day": (
        "field_research", {"person": "leader1", "days": 1}, "少于规定的 2 天"),
    "mobilisation after the deadline": (
        "mobilisation_meeting", {"held_on": date(2014, 3, 1)}, "晚于规定时限 2014-02-28"),
    "mobilisation without supervisors": (
        "mobilisation_meeting", {"supervisors_invited": False}, "未邀请市委督导组"),
    "discussion off the five themes": (
        "discussion_meeting", {"theme": "如何开好会"}, "主题「如何开好会」"),
    "discussion with no theme": (
        "discussion_meeting", {"theme": None}, "未注明主题（--theme）"),
    "democratic life meeting of half a day": (
        "democratic_life_meeting", {"days": 0.5}, "少于规定的 1 天"),
    "democratic life meeting without supervisors": (
        "democratic_life_meeting", {"supervisors_invited": False}, "未邀请市委督导组"),
    "branch meeting for a non-branch": (
        "organisational_life_meeting", {"person": "member1"}, "党支部"),
}


@pytest.mark.parametrize(("kind", "broken", "fragment"), FLAGGED.values(), ids=FLAGGED.keys())
def test_a_record_breaking_a_rule_is_kept_flagged_and_does_not_count(
    c: Campaign, kind: str, broken: dict[str, Any], fragment: str
) -> None:
    spec = SPEC.event(kind)
    leaf = SPEC.leaf_path(spec.phase)
    force_to(c, leaf)
    # Everything the gate item needs bar one record; the flagged one is recorded instead.
    record_prerequisites(c, spec)
    fixed: dict[str, Any] = {}
    if spec.per:
        owed = sorted(holders(c, spec.per))[0]
        record_valid_events(c, spec, skip=[owed])
        fixed = {"person": owed}
    else:
        for i in range(spec.min_count - 1):
            c.records.event(STARTER, kind, **valid_event_kwargs(spec, i + 1))
    record = c.records.event(STARTER, kind, **{**valid_event_kwargs(spec), **fixed, **broken})

    assert record.flags and any(fragment in f for f in record.flags), record.flags
    assert record in c.plan.event_records()  # kept
    check = check_of(c, leaf, event=kind)
    assert spec.label in check.label
    assert any(f"#{record.id}" in f and fragment in f for f in check.flagged)
    assert not check.satisfied
    if spec.per:
        assert [m for m in check.missing if fixed["person"] in m]

    # The same record keeping the rule satisfies the item: the flag was what blocked.
    assert c.records.event(STARTER, kind, **valid_event_kwargs(spec), **fixed).flags == ()
    check = check_of(c, leaf, event=kind)
    assert check.satisfied
    assert check.flagged  # the flagged record stays on the list


def test_the_plans_limits_themselves_are_not_flagged(c: Campaign) -> None:
    """On the boundary: held on the deadline, exactly the minimum days, on the
    day the last talk was held."""
    mobilisation = SPEC.event("mobilisation_meeting")
    assert c.records.event(STARTER, "mobilisation_meeting", date(2014, 2, 28),
                          supervisors_invited=True,
                          facts=valid_event_kwargs(mobilisation)["facts"]).flags == ()
    assert c.records.event(STARTER, "field_research", date(2014, 3, 5), days=2,
                          person="leader1").flags == ()
    hold_all_talks(c)
    meeting = SPEC.event("democratic_life_meeting")
    assert c.records.event(STARTER, "democratic_life_meeting", talks_day(), days=1,
                          supervisors_invited=True,
                          facts=valid_event_kwargs(meeting)["facts"]).flags == ()
    for theme in SPEC.event("discussion_meeting").themes:
        assert c.records.event(STARTER, "discussion_meeting", date(2014, 3, 5),
                              theme=theme).flags == ()


def test_flagged_records_alone_block_the_study_gate(c: Campaign, db: str) -> None:
    force_to(c, "implementation.study_and_listen")
    for item in SPEC.leaf("implementation.study_and_listen").gate:
        if item.event != "mobilisation_meeting":
            satisfy(c, item)
    facts = valid_event_kwargs(SPEC.event("mobilisation_meeting"))["facts"]
    c.records.event(STARTER, "mobilisation_meeting", date(2014, 3, 1), supervisors_invited=True,
                    facts=facts)
    c.records.event(STARTER, "mobilisation_meeting", date(2014, 2, 25), facts=facts)
    message = str(refused_advance(c, db, TransitionNotAllowed))
    assert "动员大会" in message and "有效记录 0 次，规定 1 次" in message


# Who records what: the office records any event; anyone else only an event the
# plan wants per person, and only their own.
RECORDERS = [
    # (actor, kind, person, allowed)
    (STARTER, "study_session", None, True),
    (STARTER, "field_research", "leader1", True),
    ("leader1", "field_research", "leader1", True),
    ("branch1", "organisational_life_meeting", "branch1", True),
    ("leader1", "field_research", "leader2", False),
    ("leader1", "field_research", None, False),
    ("branch1", "organisational_life_meeting", "branch2", False),
    ("member1", "study_session", "member1", False),
    ("leader1", "mobilisation_meeting", "leader1", False),
    ("prin", "democratic_life_meeting", "prin", False),
    ("prin", "discussion_meeting", None, False),
    ("sup1", "mobilisation_meeting", None, False),
]


@pytest.mark.parametrize(("actor", "kind", "person", "allowed"), RECORDERS,
                         ids=[f"{a}-{k}-{p}" for a, k, p, _ in RECORDERS])
def test_who_may_record_an_event(
    c: Campaign, db: str, actor: str, kind: str, person: str | None, allowed: bool
) -> None:
    arguments = {**valid_event_kwargs(SPEC.event(kind)), "person": person}
    if allowed:
        record = c.records.event(actor, kind, **arguments)
        assert (record.recorded_by, record.person) == (actor, person)
        assert audit_rows(c)[-1]["action"] == "event.record"
        return
    before, refusals = db_state(db), len(c.audit.refusals())
    with pytest.raises(PermissionDenied) as info:
        c.records.event(actor, kind, **arguments)
    assert info.value.exit_code == 3
    assert db_state(db) == before
    assert len(c.audit.refusals()) == refusals + 1


def test_a_member_cannot_satisfy_a_team_event_by_naming_themselves(c: Campaign) -> None:
    force_to(c, "implementation.study_and_listen")
    spec = SPEC.event("study_session")
    for i in range(spec.min_count):
        with pytest.raises(PermissionDenied):
            c.records.event("member1", "study_session", person="member1",
                           **valid_event_kwargs(spec, i))
    assert not check_of(c, "implementation.study_and_listen", event="study_session").satisfied


# -- forcing -----------------------------------------------------------------------------


def test_the_principal_cannot_force(c: Campaign, db: str) -> None:
    refusals = len(c.audit.refusals())
    error = refused_advance(c, db, PermissionDenied, actor="prin", force=True,
                            reason=FORCE_REASON)
    assert "prin" in str(error)
    assert len(c.audit.refusals()) == refusals + 1
    assert c.audit.refusals()[-1].actor == "prin"


def test_the_principal_cannot_force_even_a_satisfied_gate(c: Campaign, db: str) -> None:
    satisfy_phase(c, "preparation")
    refused_advance(c, db, PermissionDenied, actor="prin", force=True, reason=FORCE_REASON)


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_forcing_needs_a_reason(c: Campaign, db: str, reason: str | None) -> None:
    error = refused_advance(c, db, TransitionNotAllowed, force=True, reason=reason)
    assert "reason" in str(error)


@pytest.mark.parametrize("leaf", GATED)
def test_a_forced_advance_is_audited_with_reason_and_missing_items(
    c: Campaign, leaf: str
) -> None:
    force_to(c, leaf)
    missing = missing_lines(c.plan.gate())
    assert missing
    reason = "督导组同意：材料后补"
    event = c.plan.advance("office2", force=True, reason=f"  {reason}  ")
    assert c.plan.phase() == LEAF_PATHS[LEAF_PATHS.index(leaf) + 1]

    row = audit_rows(c)[-1]
    assert row["seq"] == event.seq
    assert (row["action"], row["actor"], row["role"]) == ("phase.force", "office2", "office")
    assert row["comment"] == reason
    assert (row["source"], row["dest"]) == (leaf, c.plan.phase())
    assert row["detail"] == {"plan": PLAN_ID, "missing": missing}
    c.audit.verify()


def test_forcing_a_satisfied_gate_is_still_a_forced_advance(c: Campaign) -> None:
    satisfy_phase(c, "preparation")
    c.plan.advance(STARTER, force=True, reason=FORCE_REASON)
    row = audit_rows(c)[-1]
    assert row["action"] == "phase.force"
    assert row["detail"]["missing"] == []


def test_the_talks_gate_item_is_satisfied_by_all_pairs(c: Campaign) -> None:
    force_to(c, "implementation.find_and_criticise")
    leaf = "implementation.find_and_criticise"
    check = check_of(c, leaf, talks=True)
    assert "谈心谈话" in check.label and not check.satisfied
    hold_all_talks(c)
    assert check_of(c, leaf, talks=True).satisfied


# -- the audit replays the campaign's phases --------------------------------------------


def test_verify_replays_the_phase_moves(c: Campaign, db: str) -> None:
    force_to(c, "implementation.find_and_criticise")
    assert c.audit.verify().events > 0
    execute(db, "UPDATE plan_run SET phase = 'summary'")  # no longer what its events say
    with pytest.raises(AuditVerificationFailed, match="stored in phase 'summary'"):
        c.audit.verify()
