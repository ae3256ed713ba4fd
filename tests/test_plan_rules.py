"""The whole plan as data (issue 13): each finding of the issue, as behaviour.

The principal is a member of the leadership team; the study, criticise and
rectify links keep the rules the plan gives their activities (order, who
opens, who is invited, what must be stated, every theme, make-up study);
the campaign cannot leave a link with what it requires undone; the summary
stage and the campaign's own window are there; and what the plan does not
name is marked as the office's own configuration.  Expectations are read
from the plan file, never from the engine's gate code.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from plan_helpers import (
    DEFINITIONS,
    SPEC,
    STARTER,
    drive_to,
    force_to,
    hold_all_talks,
    holders,
    record_prerequisites,
    record_valid_events,
    satisfy,
    talks_day,
    valid_event_kwargs,
)

from workflow import Campaign
from workflow.cli import main as cli
from workflow.errors import CampaignError, DefinitionError
from workflow.render.report_build import build_report
from workflow.render.report_model import EventProgress
from workflow.services.gates import Check
from workflow.services.plan_records import EventFacts
from workflow.spec.definition import WorkflowSpec
from workflow.spec.loader import load_file, parse_plan
from workflow.spec.plan import PlanSpec

#: Why the rules' runs on PostgreSQL are soaks, not the inner loop's.
SAME_RULES = ("a record's rules are judged by the same functions on both backends; the "
              "[sqlite] run checks each in the inner loop; the rest run on both, the facts' "
              "storage among them")
SOAK = pytest.mark.soak_on_postgresql(SAME_RULES)

STUDY = "implementation.study_and_listen"
CRITICISE = "implementation.find_and_criticise"
RECTIFY = "implementation.rectify_and_build"


def line(c: Campaign, key: str) -> Check:
    """The current gate's line checking ``key`` (``event:<kind>``, ``deliverable:<type>``)."""
    (check,) = [ch for ch in c.plan.gate() if ch.key == key]
    return check


def record(c: Campaign, kind: str, **changes: Any) -> tuple[str, ...]:
    """Record ``kind`` keeping every rule but ``changes``; its flags."""
    arguments = {**valid_event_kwargs(SPEC.event(kind)), **changes}
    return c.records.event(STARTER, kind, **arguments).flags


def report_row(c: Campaign, kind: str) -> EventProgress:
    """The report's line on the required event ``kind``."""
    (row,) = [e for e in build_report(c, date(2014, 4, 30)).events if e.kind == kind]
    return row


def facts(kind: str, **changes: Any) -> EventFacts:
    kept = valid_event_kwargs(SPEC.event(kind))["facts"]
    return EventFacts(**{**kept.__dict__, **changes})


# -- the principal is a member of the leadership team ------------------------------------


def test_finding_the_principal_is_a_member_of_the_leadership_team(c: Campaign) -> None:
    """Per-member duties are the principal's too: his own research report,
    self-review, rectification measures and 即知即改 item, and a field trip."""
    per_team = {r.deliverable for r in SPEC.requirements if r.per == "team"}
    assert per_team == {"research_report", "self_review", "rectification_plan",
                        "rectification_item"}
    owned = {d.type for d in c.reads.deliverables() if d.owner == "prin"}
    assert per_team <= owned
    force_to(c, STUDY)
    assert any("李书记（prin）" in m for m in line(c, "event:field_research").missing)


@SOAK
@pytest.mark.parametrize("type_id", ["research_report", "self_review", "rectification_plan",
                                     "rectification_item"])
def test_finding_the_principals_own_materials_reach_the_supervisors(
    c: Campaign, type_id: str
) -> None:
    """No second principal reads them first: he sends them on himself, and the
    supervision group judges them, as the plan has it judge the team's."""
    (own,) = [d for d in c.reads.deliverables(type_id=type_id) if d.owner == "prin"]
    drive_to(c, own.id, "supervisor_approval")
    moves = [e for e in c.reads.history(own.id) if e.trigger]
    assert [(e.trigger, e.actor) for e in moves] == [("to_supervisors", "prin")]


def test_finding_a_leader_cannot_take_the_principals_road(c: Campaign) -> None:
    (report,) = [d for d in c.reads.deliverables(type_id="research_report")
                 if d.owner == "leader1"]
    with pytest.raises(CampaignError) as refused:
        c.moves.fire("leader1", report.id, "to_supervisors")
    assert refused.value.exit_code == 3  # a permission: it is the principal's own road


# -- the study link ----------------------------------------------------------------------


@SOAK
@pytest.mark.parametrize("kind", [e.kind for e in SPEC.events if e.cover_themes
                                  and e.phase == "study_and_listen"])
def test_finding_every_theme_of_the_study_link_is_covered(c: Campaign, kind: str) -> None:
    """Themes (the four study sessions, the four special educations, whom the
    opinions come from, the four ways of hearing them…) each need a record."""
    spec = SPEC.event(kind)
    force_to(c, STUDY)
    first, *others = spec.themes
    for day in range(spec.min_count):
        assert record(c, kind, theme=first, held_on=date(2014, 4, 1) + timedelta(day)) == ()
    missing = line(c, f"event:{kind}").missing
    assert [m for m in missing if "尚无有效记录" in m] == [f"主题「{t}」尚无有效记录"
                                                          for t in others]
    assert not report_row(c, kind).satisfied  # the report judges it as the gate does
    for theme in others:
        record(c, kind, theme=theme)
    assert line(c, f"event:{kind}").satisfied
    assert report_row(c, kind).satisfied


@SOAK
@pytest.mark.parametrize(("kind", "per"), [("principal_lecture", "principal"),
                                           ("team_lecture", "team"),
                                           ("contact_point_exchange", "team")])
def test_finding_lectures_say_who_gives_them(c: Campaign, kind: str, per: str) -> None:
    """The principal's lecture to all members is his; every team member lectures
    and exchanges at the contact point; two experts lecture."""
    assert SPEC.event(kind).per == per
    force_to(c, STUDY)
    assert record(c, kind, person="member1")  # not the one the plan names
    for person in holders(c, per):
        assert record(c, kind, person=person) == ()
    assert line(c, f"event:{kind}").satisfied
    assert SPEC.event("expert_lecture").min_count == 2


def test_finding_the_democratic_appraisal_follows_the_mobilisation_meeting(
    c: Campaign
) -> None:
    """纪检组、组织部 appraise the team among those at the meeting, after it,
    and record the three things the plan names."""
    spec = SPEC.event("democratic_appraisal")
    assert spec.responsible == ("纪检组", "组织部") and len(spec.must_note) == 3
    force_to(c, STUDY)
    early = record(c, "democratic_appraisal", held_on=date(2014, 2, 25))
    assert any("须在动员大会之后举行" in f for f in early)
    assert record(c, "mobilisation_meeting") == ()
    assert record(c, "democratic_appraisal", held_on=date(2014, 2, 28)) == ()
    unstated = record(c, "democratic_appraisal", facts=facts("democratic_appraisal",
                                                              covered=()))
    assert any(spec.must_note[0] in f and "--covered" in f for f in unstated)


def test_finding_a_study_check_shortfall_needs_make_up_study(c: Campaign) -> None:
    """Whoever the spot check finds short needs the supervisors' make-up study,
    after the check; the gate line names them until then."""
    force_to(c, STUDY)
    check_day = date(2014, 4, 10)
    assert record(c, "study_check", held_on=check_day,
                  facts=facts("study_check", short=("member1",))) == ()
    (owed,) = line(c, "event:study_check").missing
    assert owed.startswith("赵一（member1）") and SPEC.event("makeup_study").label in owed
    record(c, "makeup_study", person="member1", held_on=check_day - timedelta(days=1))
    assert not line(c, "event:study_check").satisfied  # a make-up before the check is none
    record(c, "makeup_study", person="member1", held_on=check_day)
    assert line(c, "event:study_check").satisfied


@SOAK
def test_finding_each_member_names_problems_to_fix_at_once(c: Campaign) -> None:
    """即知即改: one item per team member, approved before the study link is
    left, and — like every rectification item — done and assessed before the
    rectify link is."""
    items = [d for d in c.reads.deliverables(type_id="rectification_item")]
    assert sorted(d.owner for d in items) == sorted(holders(c, "team"))
    force_to(c, STUDY)
    assert len(line(c, "deliverable:rectification_item").missing) == len(items)
    for item in items:
        drive_to(c, item.id, "in_progress")
    assert line(c, "deliverable:rectification_item").satisfied
    force_to(c, RECTIFY)
    assert len(line(c, "deliverable:rectification_item").missing) == len(items)


# -- the criticise link ------------------------------------------------------------------


def test_finding_the_four_winds_list_must_reach_the_leading_group_office(
    c: Campaign
) -> None:
    force_to(c, CRITICISE)
    (winds,) = c.reads.deliverables(type_id="four_winds_list")
    drive_to(c, winds.id, "publicity")
    assert not line(c, "deliverable:four_winds_list").satisfied
    drive_to(c, winds.id, "reported")
    assert line(c, "deliverable:four_winds_list").satisfied


def test_finding_the_democratic_life_meeting_keeps_its_order_guests_and_speaker(
    c: Campaign
) -> None:
    """After every talk; the upper discipline and organisation departments
    invited; the principal speaks first for the team."""
    force_to(c, CRITICISE)
    before = record(c, "democratic_life_meeting", held_on=talks_day())
    assert any("谈心谈话" in f for f in before)
    hold_all_talks(c)
    uninvited = record(c, "democratic_life_meeting", facts=facts(
        "democratic_life_meeting", invited=("上级纪检机关",)))
    assert any("未邀请党委组织部门" in f for f in uninvited)
    led_by_a_leader = record(c, "democratic_life_meeting", facts=facts(
        "democratic_life_meeting", opened_by="leader1"))
    assert any("须由党组书记带头" in f for f in led_by_a_leader)
    assert record(c, "democratic_life_meeting") == ()


def test_finding_branch_meetings_brief_the_democratic_life_meeting_after_it(
    c: Campaign
) -> None:
    """The 通报 is the organisational-life meeting's: held after the democratic
    life meeting, it briefs its outcome and posts the self-reviews."""
    spec = SPEC.event("organisational_life_meeting")
    assert "通报民主生活会情况" in spec.must_note
    force_to(c, CRITICISE)
    early = record(c, "organisational_life_meeting", person="branch1",
                   held_on=date(2014, 5, 2))
    assert any("须在专题民主生活会之后举行" in f for f in early)
    record_prerequisites(c, spec)
    silent = record(c, "organisational_life_meeting", person="branch1",
                    facts=facts("organisational_life_meeting", covered=()))
    assert any("通报民主生活会情况" in f for f in silent)
    assert record(c, "organisational_life_meeting", person="branch1") == ()


# -- the rectify link and the close ---------------------------------------------------------


def test_finding_the_rectify_link_needs_its_campaigns_rules_review_and_items_assessed(
    c: Campaign
) -> None:
    gate = {item.deliverable or item.event for item in SPEC.leaf(RECTIFY).gate}
    assert {"rectification_plan", "rectification_item", "rules_review",
            "special_rectification"} <= gate
    assert [i.states for i in SPEC.leaf(RECTIFY).gate
            if i.deliverable == "rectification_item"] == [("done",)]
    assert len(SPEC.event("special_rectification").themes) == 4


@SOAK
def test_finding_the_campaign_cannot_close_with_an_item_unassessed(c: Campaign) -> None:
    force_to(c, RECTIFY)
    for item in SPEC.leaf(RECTIFY).gate:
        if item.deliverable != "rectification_item":
            satisfy(c, item)
    *fixes, last = c.reads.deliverables(type_id="rectification_item")
    for fix in fixes:
        drive_to(c, fix.id, "done")
    drive_to(c, last.id, "verification")  # carried out, not yet assessed
    (missing,) = line(c, "deliverable:rectification_item").missing
    assert f"#{last.id}" in missing
    with pytest.raises(CampaignError):
        c.plan.advance(STARTER)
    drive_to(c, last.id, "done")
    c.plan.advance(STARTER)
    assert c.plan.phase() == "summary"


@pytest.mark.parametrize(("section", "label"), [
    ("rectification_plan", "近期整改任务"), ("rectification_plan", "中长期整改安排"),
    ("rules_review", "废止的制度"), ("rules_review", "修订的制度"), ("rules_review", "新立的制度"),
    ("research_report", "对落实八项规定等的总体评价"), ("summary_report", "基本经验"),
])
def test_finding_what_a_document_must_contain_is_the_plans(section: str, label: str) -> None:
    """The sections the plan prescribes, each with its paragraph, required on submit."""
    spec = load_file(DEFINITIONS / f"{section}.yaml").spec
    (found,) = [s for s in spec.required_sections if s.label == label]
    assert found.paragraph.startswith("四") and found.from_plan
    assert any(t.content_complete for t in spec.transitions_from("draft"))


def test_finding_the_summary_stage_and_the_campaigns_own_window() -> None:
    assert SPEC.window is not None
    assert SPEC.window.start == date(2014, 1, 15) < SPEC.start  # 1月中旬, before 02-10
    assert SPEC.window.end == date(2014, 9, 30) and "1月中旬" in SPEC.window.paragraph
    meeting = SPEC.event("summary_meeting")
    assert meeting.opened_by == "principal" and meeting.supervisors_invited
    gate = {i.deliverable or i.event for i in SPEC.leaf("summary").gate}
    assert gate == {"summary_report", "summary_meeting", "situation_report"}


@SOAK
@pytest.mark.parametrize(("kind", "noted"), [
    ("leading_group", "领导小组组成人员"), ("migrant_wage_action", "畅通“12351”维权热线"),
    ("volunteer_service", "县级党员领导干部每月不少于4小时"),
])
def test_finding_the_leading_group_and_the_unnumbered_actions_are_recorded(
    c: Campaign, kind: str, noted: str
) -> None:
    spec = SPEC.event(kind)
    assert noted in spec.must_note and spec.paragraph
    force_to(c, SPEC.leaf_path(spec.phase))
    assert any(noted in f for f in record(c, kind, facts=facts(kind, covered=())))
    record_valid_events(c, spec)
    assert line(c, f"event:{kind}").satisfied


# -- where each step comes from ------------------------------------------------------------


@pytest.mark.parametrize(("type_id", "state"), [
    ("four_winds_list", "review"), ("meeting_plan", "review"), ("summary_report", "review"),
    ("rectification_plan", "supervisor_approval"),
])
def test_finding_steps_the_plan_does_not_name_are_the_offices(type_id: str, state: str) -> None:
    spec = load_file(DEFINITIONS / f"{type_id}.yaml").spec
    assert not spec.state(state).from_plan
    assert "本单位配置" in spec.state(state).provenance


@pytest.mark.parametrize("type_id", ["self_review", "rectification_plan", "rectification_item"])
def test_finding_the_five_day_window_is_the_offices(type_id: str) -> None:
    publicity = load_file(DEFINITIONS / f"{type_id}.yaml").spec.publicity
    assert publicity is not None and not publicity.from_plan


def test_every_item_of_the_plan_names_its_paragraph() -> None:
    items: list[Any] = [*SPEC.phases, *SPEC.requirements, *SPEC.events, *SPEC.targets,
                        SPEC.talks, SPEC.window]
    items += [g for _, phase in SPEC.leaves() for g in phase.gate]
    assert [i for i in items if not i.paragraph] == []


# -- the rules themselves ---------------------------------------------------------------------


def plan_with(**event: Any) -> dict[str, Any]:
    document = SPEC.model_dump(mode="json", exclude_defaults=True)
    document["events"] = [*document["events"], {
        "kind": "extra", "label": "加试", "label_en": "Extra", "phase": "summary", **event}]
    return document


@pytest.mark.parametrize(("event", "problem"), [
    ({"after": ["nothing_like_it"]}, "unknown event kind 'nothing_like_it'"),
    ({"follow_up": "extra"}, "unknown event kind 'extra'"),
    ({"cover_themes": True}, "cover_themes needs themes"),
    ({"opened_by": "chairman"}, "unknown role 'chairman'"),
    ({"per": "committee"}, "unknown role or group 'committee'"),
])
def test_a_rule_naming_nothing_is_refused_with_the_plan(
    event: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        PlanSpec.model_validate(plan_with(**event))


def test_event_facts_are_audited_and_an_empty_one_is_refused(c: Campaign) -> None:
    force_to(c, STUDY)
    record(c, "mobilisation_meeting")
    (event,) = [e for e in c.audit.events("event.record") if e.action == "event.record"]
    assert "分管领导具体安排部署" in (event.detail or "")
    with pytest.raises(CampaignError, match="cannot be empty"):
        EventFacts(covered=(" ",))
    with pytest.raises(CampaignError):
        c.records.event(STARTER, "mobilisation_meeting", date(2014, 2, 27),
                        facts=EventFacts(opened_by="nobody"))


def test_a_definition_step_carries_its_paragraph_or_is_marked() -> None:
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        spec = load_file(path).spec
        for state in spec.states:
            assert state.paragraph or not state.from_plan or state.name == "draft", (
                path.stem, state.name)
    with pytest.raises(DefinitionError):
        load_file_with(DEFINITIONS / "meeting_plan.yaml", "    from_plan: false\n",
                       "    from_plan: maybe\n")


def load_file_with(path: Path, old: str, new: str) -> WorkflowSpec:
    """``path`` loaded with its first ``old`` replaced by ``new``."""
    text = path.read_text(encoding="utf-8").replace(old, new, 1)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / path.name
        copy.write_text(text, encoding="utf-8")
        return load_file(copy).spec


@pytest.mark.parametrize("name", ["mianyang-2014", "sanyan-sanshi-2015"])
def test_definitions_lint_checks_a_plan_file_as_a_plan(name: str, tmp_path: Path) -> None:
    """A plan given to ``definitions lint`` is loaded as a plan: the shipped ones
    pass, and a rule naming an unknown kind is found at its line."""
    plan = DEFINITIONS / "campaigns" / f"{name}.yaml"
    assert invoke_lint(plan) == (0, "ok")
    text = plan.read_text(encoding="utf-8")
    kind = next(e for e in load_plan_text(text).events if e.after).after[0]
    broken = tmp_path / plan.name
    broken.write_text(text.replace(f"after: [{kind}]", "after: [no_such_kind]", 1),
                      encoding="utf-8")
    code, out = invoke_lint(broken)
    assert code == 7 and "unknown event kind 'no_such_kind'" in out
    line = next(n for n, row in enumerate(broken.read_text(encoding="utf-8").splitlines(), 1)
                if "no_such_kind" in row)
    assert f"{broken}:{line}: events." in out


def invoke_lint(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["definitions", "lint", str(path)])
    return result.exit_code, result.stdout.strip()


def load_plan_text(text: str) -> PlanSpec:
    return parse_plan(text, "plan.yaml").spec
