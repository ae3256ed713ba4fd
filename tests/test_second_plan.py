"""A second, different campaign plan (definitions/campaigns/sanyan-sanshi-2015.yaml)
starts and runs with no code change: found by its name among the shipped plans,
started on its own roster, walked through every phase to the final one by
satisfying each gate for real, side by side with the Mianyang plan in one
database, and its own rules (after, follow_up, after_talks) flag and block.

What each gate should list is computed here from the loaded plan and the
roster (the team is the principal and the leaders, a ``per`` event wants one
record per holder, a counted event its count and themes, the talks every team
pair), never by asking the engine's gate code, so the tests judge the engine.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from datetime import date, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from drive import complete_content, day_allowing, make_move, prepare
from plan_helpers import PLAN as MIANYANG
from plan_helpers import may_fire, new_db

from workflow import Campaign
from workflow.cli import main as cli
from workflow.errors import InvalidInput, NotFound, TransitionNotAllowed
from workflow.render.notices import notice
from workflow.services.gates import Check
from workflow.services.plan_records import EventFacts
from workflow.spec.definition import TransitionSpec
from workflow.spec.loader import find_plan, shipped_plans
from workflow.spec.plan import EventSpec, GateItem, PlanSpec
from workflow.spec.roster import Person, read_roster

PLAN_NAME = "sanyan-sanshi-2015"
LOADED = find_plan(PLAN_NAME)  # by name, as `campaign start sanyan-sanshi-2015` finds it
SPEC: PlanSpec = LOADED.spec
ROSTER = Path(__file__).resolve().parent.parent / "examples" / f"{PLAN_NAME}-roster.csv"
PEOPLE: list[Person] = read_roster(ROSTER)
OFFICE = next(p.id for p in PEOPLE if "office" in p.roles)
PRINCIPAL = next(p.id for p in PEOPLE if "principal" in p.roles)
MEMBER = next(p.id for p in PEOPLE if "member" in p.roles)
REASON = "测试：直接进入该阶段"

#: The leaf phases that have a gate, in order, from the plan file.
GATED = [path for path, phase in SPEC.leaves() if phase.gate]

#: Talks are held this many days into their phase; events from EVENTS_AFTER on,
#: each a few days after the events it must follow.
TALKS_AFTER, EVENTS_AFTER = 5, 10


# -- who is who, from the roster and the plan file alone -------------------------------


def group(per: str) -> list[str]:
    """The roster's holders of ``per``: a role, or the team (principal and leaders)."""
    roles = {"principal", "leader"} if per == "team" else {per}
    return [p.id for p in PEOPLE if roles & set(p.roles)]


def name_of(user_id: str) -> str:
    return next(p.name for p in PEOPLE if p.id == user_id)


def team_pairs() -> list[tuple[str, str]]:
    return [(a, b) for a, b in combinations(sorted(group("team")), 2)]


# -- satisfying gates for real ----------------------------------------------------------


def depth(plan: PlanSpec, spec: EventSpec) -> int:
    """How many events must precede ``spec`` by its ``after`` rules."""
    return max((1 + depth(plan, plan.event(k)) for k in spec.after), default=0)


def phase_start(plan: PlanSpec, phase: str) -> date:
    start = plan.leaf(plan.leaf_path(phase)).start
    assert start is not None
    return start


def held_on(plan: PlanSpec, spec: EventSpec, index: int = 0) -> date:
    """A day that keeps ``spec``'s order rules: after the talks, a few days after
    each event it must follow, and by its deadline."""
    day = phase_start(plan, spec.phase) + timedelta(days=EVENTS_AFTER + 3 * depth(plan, spec)
                                                    + index)
    assert spec.deadline is None or day <= spec.deadline, f"{spec.kind}: past its deadline"
    return day


def valid_record(plan: PlanSpec, spec: EventSpec, index: int = 0) -> dict[str, Any]:
    """Arguments for a record of ``spec`` keeping every rule the plan gives it."""
    opener = next(p.id for p in PEOPLE if spec.opened_by in p.roles) if spec.opened_by else None
    return {
        "held_on": held_on(plan, spec, index),
        "days": spec.min_days or 0.5,
        "supervisors_invited": spec.supervisors_invited,
        "theme": spec.themes[index % len(spec.themes)] if spec.themes else None,
        "facts": EventFacts(invited=spec.invited, covered=spec.must_note, opened_by=opener),
    }


def record_event(c: Campaign, plan: PlanSpec, kind: str) -> None:
    """Enough valid records of ``kind`` for its gate: one per holder, or its count."""
    spec = plan.event(kind)
    if spec.per:
        for person in group(spec.per):
            c.records.event(OFFICE, kind, person=person, plan_id=plan.id,
                            **valid_record(plan, spec))
    else:
        for i in range(spec.min_count):
            c.records.event(OFFICE, kind, plan_id=plan.id, **valid_record(plan, spec, i))


def hold_talks(c: Campaign, plan: PlanSpec) -> None:
    """Every team pair talks, recorded by one and confirmed by the other."""
    assert plan.talks is not None
    day = phase_start(plan, plan.talks.phase) + timedelta(days=TALKS_AFTER)
    for a, b in team_pairs():
        talk = c.records.talk(a, a, b, day, plan_id=plan.id)
        c.records.confirm_talk(b, talk.id)


def path_to(c: Campaign, deliverable_id: int, target: str) -> list[tuple[TransitionSpec, str]]:
    """A shortest path from the deliverable's state to ``target`` through moves
    someone on the roster may make (the spec's roles and owner rules), each
    with the first such person."""
    item = c.reads.get(deliverable_id)
    spec = c.registry.definition_for(item)
    users = c.reads.users()
    came: dict[str, tuple[str, TransitionSpec, str] | None] = {item.state: None}
    queue = deque([item.state])
    while queue:
        state = queue.popleft()
        for transition in spec.transitions_from(state):
            actor = next((u.id for u in users
                          if may_fire(u.id, u.roles, item.owner, transition)), None)
            if actor is not None and transition.dest not in came:
                came[transition.dest] = (state, transition, actor)
                queue.append(transition.dest)
    assert target in came, f"#{deliverable_id} ({item.type}): nobody can bring it to {target}"
    steps = []
    step = came[target]
    while step is not None:
        state, transition, actor = step
        steps.append((transition, actor))
        step = came[state]
    return steps[::-1]


def drive(c: Campaign, deliverable_id: int, target: str) -> None:
    """The owner writes complete content; each move is made on a day its
    publicity window allows, after what it needs beyond the spec."""
    item = c.reads.get(deliverable_id)
    if item.revision is None:
        spec = c.registry.definition_for(item)
        c.deliverables.revise(item.owner, deliverable_id, complete_content(spec, title=item.title))
    for transition, actor in path_to(c, deliverable_id, target):
        prepare(c, deliverable_id, transition.trigger)
        make_move(c, actor, deliverable_id, transition.trigger,
                  today=day_allowing(c, deliverable_id, transition.trigger))
    assert c.reads.get(deliverable_id).state == target


def own(c: Campaign, plan: PlanSpec, type_id: str) -> list[Any]:
    """The campaign's own deliverables of ``type_id`` (another campaign's are not)."""
    return [d for d in c.reads.deliverables(type_id=type_id) if d.plan_id == plan.id]


def satisfy(c: Campaign, plan: PlanSpec, item: GateItem) -> None:
    if item.deliverable is not None:
        for d in own(c, plan, item.deliverable):
            if d.state not in item.states:
                drive(c, d.id, item.states[0])
    elif item.event is not None:
        record_event(c, plan, item.event)
    else:
        hold_talks(c, plan)


# -- what a gate must list --------------------------------------------------------------


def key(item: GateItem) -> str:
    if item.deliverable is not None:
        return f"deliverable:{item.deliverable}"
    return f"event:{item.event}" if item.event is not None else "talks"


def assert_lists_what_the_plan_asks(c: Campaign, plan: PlanSpec, checks: list[Check],
                                    gate: Iterable[GateItem]) -> None:
    """Before anything of the phase is done: one line per gate item, in the
    file's order, each missing exactly what the plan and the roster say."""
    gate = list(gate)
    assert [check.key for check in checks] == [key(item) for item in gate]
    for check, item in zip(checks, gate, strict=True):
        assert not check.flagged, check
        if item.deliverable is not None:
            short = [d for d in own(c, plan, item.deliverable) if d.state not in item.states]
            assert short, f"{item.deliverable}: nothing to do at the start of its phase"
            assert len(check.missing) == len(short)
            for d, line in zip(short, check.missing, strict=True):
                assert line.startswith(f"#{d.id} {d.title}")
            assert f"({item.deliverable}: {' / '.join(item.states)})" in check.label
        elif item.event is not None:
            spec = plan.event(item.event)
            assert spec.label in check.label and f"({spec.kind})" in check.label
            if spec.per:
                holders = group(spec.per)
                assert len(check.missing) == len(holders)
                for person in holders:
                    assert any(f"（{person}）" in line for line in check.missing)
            else:
                themes = spec.themes if spec.cover_themes else ()
                assert len(check.missing) == 1 + len(themes)
                assert check.missing[0] == f"有效记录 0 次，规定 {spec.min_count} 次"
                for theme, line in zip(themes, check.missing[1:], strict=True):
                    assert theme in line
        else:
            pairs = team_pairs()
            assert len(check.missing) == len(pairs)
            for (a, b), line in zip(pairs, check.missing, strict=True):
                assert {name_of(a), name_of(b)} <= set(line.split("：")[0].split("–"))


def missing_of(checks: list[Check], kind: str) -> tuple[str, ...]:
    return next(c for c in checks if c.key == kind).missing


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def c(tmp_path: Path) -> Campaign:
    """A new SQLite database with the second plan started on its own roster."""
    campaign = new_db(tmp_path / "campaign.db")
    campaign.plan.start(OFFICE, LOADED, PEOPLE)
    return campaign


def force_to(c: Campaign, leaf: str, plan_id: str = SPEC.id) -> None:
    while c.plan.phase(plan_id) != leaf:
        c.plan.advance(OFFICE, force=True, reason=REASON, plan_id=plan_id)


# -- the plan file -----------------------------------------------------------------------


def test_the_second_plan_is_shipped_and_found_by_name() -> None:
    assert {"mianyang-2014", PLAN_NAME} <= set(shipped_plans())
    assert SPEC.id == PLAN_NAME != MIANYANG.spec.id
    with pytest.raises(NotFound) as info:
        find_plan("no-such-plan")
    assert PLAN_NAME in str(info.value) and "mianyang-2014" in str(info.value)


def test_the_plan_says_it_is_written_for_the_engine_and_cites_its_own_paragraphs() -> None:
    assert LOADED.source.startswith("# 本文件是为本引擎编写的示例方案，不是真实印发的文件。")
    assert "非真实来源文件" in SPEC.source
    items: list[Any] = [SPEC.window, SPEC.talks, *SPEC.requirements, *SPEC.events,
                        *SPEC.targets]
    for phase in SPEC.phases:
        items += [phase, *phase.gate]
        for child in phase.phases:
            items += [child, *child.gate]
    assert all(item.paragraph for item in items)
    # Paragraphs of this plan (chapters 一 to 三), none of the 2014 plan's 四 to 六.
    assert all(item.paragraph[0] in "一二三" for item in items)
    assert any(not item.from_plan for item in items)
    # Its own shape: two nested phases of two links each, then the final one.
    assert [path for path, _ in SPEC.leaves()] == [
        "study.launch", "study.seminars",
        "meetings_and_rectification.life_meetings", "meetings_and_rectification.rectify",
        "closed",
    ]
    assert [len(p.phases) for p in SPEC.phases] == [2, 2, 0]
    rules = {name for e in SPEC.events for name in ("per", "after", "after_talks", "invited",
                                                     "opened_by", "must_note", "cover_themes",
                                                     "follow_up") if getattr(e, name)}
    assert rules == {"per", "after", "after_talks", "invited", "opened_by", "must_note",
                     "cover_themes", "follow_up"}


# -- the walk -------------------------------------------------------------------------


def test_starting_creates_each_requirement_for_its_owners(c: Campaign) -> None:
    created = [d for d in c.reads.deliverables() if d.plan_id == SPEC.id]
    assert len(created) == SPEC.required_count([p.roles for p in PEOPLE])
    expected = set()
    for req in SPEC.requirements:
        owners = (group(req.per) if req.per else
                  [next(p.id for p in PEOPLE if req.owner_role in p.roles)])
        expected |= {(req.deliverable, req.phase, o, req.title.format(name=name_of(o)), req.due)
                     for o in owners}
    assert {(d.type, d.phase, d.owner, d.title, d.due) for d in created} == expected
    assert ("summary_report", "rectify", PRINCIPAL, "市总工会“三严三实”专题教育总结报告",
            date(2016, 1, 25)) in expected
    assert c.plan.phase() == "study.launch"


def test_satisfying_every_gate_walks_the_second_plan_to_closed(c: Campaign) -> None:
    walked = [c.plan.phase()]
    for leaf in GATED:
        assert c.plan.phase() == leaf
        gate = SPEC.leaf(leaf).gate
        before = c.plan.gate()
        assert_lists_what_the_plan_asks(c, SPEC, before, gate)
        with pytest.raises(TransitionNotAllowed) as refused:
            c.plan.advance(OFFICE)
        assert SPEC.leaf(leaf).label in str(refused.value)
        assert c.plan.phase() == leaf

        for item in gate:
            satisfy(c, SPEC, item)
        after = c.plan.gate()
        assert [check.key for check in after] == [key(item) for item in gate]
        assert [(check.missing, check.flagged) for check in after] == [((), ())] * len(gate)

        event = c.plan.advance(PRINCIPAL)  # the principal may advance a gate that holds
        assert (event.action, event.source) == ("phase.advance", leaf)
        walked.append(c.plan.phase())
        assert event.dest == walked[-1]

    assert walked == [path for path, _ in SPEC.leaves()]
    assert walked[-1] == "closed" and SPEC.leaf("closed").final
    assert c.plan.gate() == []
    # A few of the plan's own lines, spelled out.
    last_gate = [check.label for check in before]  # the rectify link's, before it was met
    assert "向市委专题教育领导小组报送情况：至少 1 次 (situation_report)" in last_gate
    assert ("“不严不实”问题专项整治：3 项主题全覆盖，至少 3 次 (special_rectification)"
            in last_gate)
    # Every required deliverable ended where its last gate line wants it.
    rectified = own(c, SPEC, "rectification_item")
    assert rectified and {d.state for d in rectified} == {"done"}
    assert {d.state for d in own(c, SPEC, "summary_report")} == {"publicity"}
    c.audit.verify()


def test_the_first_gates_name_the_plans_own_lines(c: Campaign) -> None:
    labels = [check.label for check in c.plan.gate()]
    assert "党组书记讲专题党课：至少 1 次 (party_lecture)" in labels
    assert ("班子成员到分管部门和联系点讲党课：每名领导班子成员（含主要负责同志）各 1 次 "
            "(team_lecture)") in labels
    force_to(c, "study.seminars")
    labels = [check.label for check in c.plan.gate()]
    assert "专题学习研讨：3 项主题全覆盖，至少 3 次 (seminar)" in labels
    assert any(label.startswith("整改事项：全部达到") and "(rectification_item: in_progress / "
               "verification / done)" in label for label in labels)


# -- its rules flag and block for real ---------------------------------------------------


def test_a_lecture_before_the_secretarys_is_flagged_and_does_not_count(c: Campaign) -> None:
    lecture = SPEC.event("party_lecture")
    early = held_on(SPEC, lecture) - timedelta(days=1)
    leader = next(p for p in group("team") if p != PRINCIPAL)
    flagged = c.records.event(OFFICE, "team_lecture", early, person=leader)
    assert flagged.flags == ("须在党组书记讲专题党课之后举行（尚无记录）",)
    record_event(c, SPEC, "party_group_meeting")
    record_event(c, SPEC, "party_lecture")
    (flagged,) = [r for r in c.plan.event_records() if r.id == flagged.id]
    assert flagged.flags == (f"须在党组书记讲专题党课之后举行（首次 {held_on(SPEC, lecture)}）",)
    missing = missing_of(c.plan.gate(), "event:team_lecture")
    assert any(f"（{leader}）" in line for line in missing)

    late = c.records.event(OFFICE, "team_lecture", held_on(SPEC, lecture), person=leader)
    assert late.flags == ()
    assert not any(f"（{leader}）" in line for line in missing_of(c.plan.gate(),
                                                                "event:team_lecture"))


def test_someone_found_short_blocks_the_seminars_until_a_make_up_after_it(c: Campaign) -> None:
    force_to(c, "study.seminars")
    for item in SPEC.leaf("study.seminars").gate:
        if item.event != "study_check":
            satisfy(c, SPEC, item)
    check_day = held_on(SPEC, SPEC.event("study_check"))
    spot = c.records.event(OFFICE, "study_check", check_day,
                           facts=EventFacts(covered=SPEC.event("study_check").must_note,
                                            short=(MEMBER,)))
    assert spot.flags == () and spot.short == (MEMBER,)
    # Who is named is not asserted here (test_a_person_found_short_is_named_by_name).
    owed = f"（{MEMBER}）：#{spot.id} 未达标，尚无补学记录"
    (line,) = missing_of(c.plan.gate(), "event:study_check")
    assert line.endswith(owed)
    with pytest.raises(TransitionNotAllowed) as refused:
        c.plan.advance(OFFICE)
    assert owed in str(refused.value)

    c.records.event(OFFICE, "makeup_study", check_day - timedelta(days=1), person=MEMBER)
    (line,) = missing_of(c.plan.gate(), "event:study_check")  # held before the check: no
    assert line.endswith(owed)
    c.records.event(OFFICE, "makeup_study", check_day, person=MEMBER)
    assert all(check.satisfied for check in c.plan.gate())
    c.plan.advance(OFFICE)
    assert c.plan.phase() == "meetings_and_rectification.life_meetings"


def test_a_person_found_short_is_named_by_name(c: Campaign) -> None:
    force_to(c, "study.seminars")
    record_event(c, SPEC, "seminar")
    spot = c.records.event(OFFICE, "study_check", held_on(SPEC, SPEC.event("study_check")),
                           facts=EventFacts(covered=SPEC.event("study_check").must_note,
                                            short=(MEMBER,)))
    assert missing_of(c.plan.gate(), "event:study_check") == (
        f"{name_of(MEMBER)}（{MEMBER}）：#{spot.id} 未达标，尚无补学记录",)


def test_the_life_meeting_before_the_talks_or_without_its_guests_is_flagged(
    c: Campaign,
) -> None:
    force_to(c, "meetings_and_rectification.life_meetings")
    record_event(c, SPEC, "opinion_gathering")
    meeting = SPEC.event("democratic_life_meeting")
    early = c.records.event(OFFICE, meeting.kind, plan_id=SPEC.id, **valid_record(SPEC, meeting))
    assert early.flags == ("须在谈心谈话全部完成之后举行：谈心谈话尚未全部完成",)
    hold_talks(c, SPEC)
    (early,) = [r for r in c.plan.event_records() if r.id == early.id]
    assert early.flags == ()

    kwargs = valid_record(SPEC, meeting)
    kwargs["facts"] = EventFacts(invited=meeting.invited[:1], covered=meeting.must_note,
                                 opened_by=next(p for p in group("leader")))
    unguided = c.records.event(OFFICE, meeting.kind, **kwargs)
    assert unguided.flags == (f"未邀请{meeting.invited[1]}（--invited）",
                              "须由党组书记带头（--opened-by）")


# -- side by side with the 2014 plan --------------------------------------------------------


def test_both_campaigns_run_side_by_side_in_one_database(c: Campaign) -> None:
    c.plan.start(OFFICE, MIANYANG, PEOPLE)  # the same federation, the same people
    mianyang = MIANYANG.spec.id
    assert sorted(c.plan.plan_ids()) == sorted([SPEC.id, mianyang])
    with pytest.raises(InvalidInput, match="several campaigns"):
        c.plan.gate()
    assert c.plan.phase(SPEC.id) == "study.launch"
    assert c.plan.phase(mianyang) == "preparation"
    theirs = c.plan.gate(mianyang)
    assert_lists_what_the_plan_asks(c, MIANYANG.spec, theirs, MIANYANG.spec.leaf("preparation")
                                    .gate)

    # Both plans know a party-group meeting and an implementation plan: doing
    # them in one campaign leaves the other's gate exactly as it was.
    record_event(c, SPEC, "party_group_meeting")
    (plan_item,) = own(c, SPEC, "implementation_plan")
    drive(c, plan_item.id, "publicity")
    ours = c.plan.gate(SPEC.id)
    assert missing_of(ours, "event:party_group_meeting") == ()
    assert missing_of(ours, "deliverable:implementation_plan") == ()
    assert c.plan.gate(mianyang) == theirs
    assert missing_of(theirs, "event:party_group_meeting") == ("有效记录 0 次，规定 1 次",)
    assert [r.kind for r in c.plan.event_records(mianyang)] == []

    # A kind only the other plan has is refused; the talks are each campaign's own.
    with pytest.raises(InvalidInput, match="unknown event kind"):
        c.records.event(OFFICE, "staff_training", date(2015, 5, 10), plan_id=SPEC.id)
    a, b = team_pairs()[0]
    c.records.talk(a, a, b, date(2015, 11, 6), plan_id=SPEC.id)
    assert len(c.plan.talks(SPEC.id)) == 1 and c.plan.talks(mianyang) == []

    # Each campaign's notice speaks for its own office.
    ours_notice = notice(c, plan_item.id, "markdown")
    assert "“三严三实”专题教育领导小组办公室" in ours_notice
    assert "已经市委第五督导组审核" in ours_notice
    (their_item,) = own(c, MIANYANG.spec, "implementation_plan")
    drive(c, their_item.id, "publicity")
    their_notice = notice(c, their_item.id, "markdown")
    assert "群教办" in their_notice and "三严三实" not in their_notice

    # Moving one campaign on leaves the other where it was.
    c.plan.advance(OFFICE, plan_id=SPEC.id, force=True, reason=REASON)
    assert c.plan.phase(SPEC.id) == "study.seminars"
    assert c.plan.phase(mianyang) == "preparation"
    c.audit.verify()


def test_the_plans_own_targets(c: Campaign) -> None:
    days = c.records.target(OFFICE, "grassroots_days", 1.5, "张副主席到县总工会调研")
    assert (days.done, days.goal, days.unit) == (1.5, 60, "天")
    with pytest.raises(InvalidInput, match="whole"):
        c.records.target(OFFICE, "hardship_pairs", 0.5, "半户")
    with pytest.raises(InvalidInput, match="unknown target"):
        c.records.target(OFFICE, "job_fairs", 1, "2014年的指标")


def test_the_command_line_names_the_campaign_with_plan(c: Campaign, tmp_path: Path) -> None:
    """With two campaigns in a database, ``--plan ID`` picks one for the campaign
    commands; without it they name both and ask which (exit 7), writing nothing."""
    c.plan.start(OFFICE, MIANYANG, PEOPLE)
    url = f"sqlite:///{tmp_path / 'campaign.db'}"

    def run(*argv: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", url, "--as", OFFICE, *argv])

    asked = run("phase", "status")
    assert asked.exit_code == 7
    assert SPEC.id in asked.stderr and MIANYANG.spec.id in asked.stderr
    assert "--plan" in asked.stderr
    for plan in (SPEC, MIANYANG.spec):
        status = run("--plan", plan.id, "phase", "status", "--format", "json")
        assert status.exit_code == 0, status.output
        assert json.loads(status.stdout)["plan"] == plan.id
    recorded = run("--plan", SPEC.id, "events", "record", "party_group_meeting",
                   "--date", "2015-05-10")
    assert recorded.exit_code == 0, recorded.output
    assert [r.kind for r in c.plan.event_records(SPEC.id)] == ["party_group_meeting"]
    assert c.plan.event_records(MIANYANG.spec.id) == []
    report = run("--plan", MIANYANG.spec.id, "report", "--format", "json")
    assert report.exit_code == 0 and json.loads(report.stdout)["plan"]["id"] == MIANYANG.spec.id
