"""The campaign report: overdue boundaries, completion arithmetic, targets, talks,
events, and every output format.

One campaign is built per module from a roster (a principal, three leaders,
the office, a supervisor, two branches) and the shipped 2014 plan, moved
forward a little, and then only read: reports for different days are pure
reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import BACKENDS, LATER, empty_database
from drive import complete_content
from plan_helpers import SPEC, valid_event_kwargs

from workflow import Campaign, from_text
from workflow.errors import InvalidInput
from workflow.render.report_build import build_report
from workflow.render.report_formats import FORMATS, render
from workflow.render.report_model import Report
from workflow.render.report_scope import overdue_items
from workflow.render.report_text import render_table
from workflow.services.lateness import days_late, is_complete, is_overdue
from workflow.services.plan_records import EventFacts
from workflow.spec.loader import load_plan, shipped_plan
from workflow.spec.roster import read_roster

TITLE = "绵阳市总工会党的群众路线教育实践活动"
ROSTER = """id,name,roles,unit
wangmin,王敏,office,群教办
lishuji,李书记,principal,党组
zhang,张三,leader,党组
liu,刘四,leader,党组
chen,陈五,leader,保障部
dudao,周督导,supervisor,市委督导组
zhibu1,机关第一支部,branch,机关第一支部
zhibu2,机关第二支部,branch,机关第二支部
"""
LEADERS = ("zhang", "liu", "chen")
#: The leadership team (per: team): the principal and the leaders.
TEAM = ("lishuji", *LEADERS)
RESEARCH_DUE = date(2014, 4, 20)
PREPARATION, STUDY = "preparation", "implementation.study_and_listen"
SCRIPT_TITLE = "<script>alert('x')</script>精简会议&文件"
JSON_KEYS = {"plan", "today", "current_phase", "phases", "completion", "by_type", "by_unit",
             "overdue", "completed_late", "targets", "talks", "events", "gate"}


def _drive(campaign: Campaign, item: int, owner: str) -> None:
    """draft → review → supervisor approval → publicity."""
    spec = campaign.registry.definition_for(campaign.reads.get(item))
    campaign.deliverables.revise(owner, item, complete_content(spec))
    campaign.moves.fire(owner, item, "submit")
    campaign.moves.fire("lishuji", item, "forward")
    campaign.moves.fire("dudao", item, "approve", "同意")


def _ids(campaign: Campaign, type_id: str, owner: str | None = None) -> list[int]:
    return [d.id for d in campaign.reads.deliverables(type_id=type_id, owner=owner)]


@pytest.fixture(scope="module", params=BACKENDS)
def campaign(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Campaign]:
    directory = tmp_path_factory.mktemp("report")
    roster = directory / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    with empty_database(request, request.param, directory) as url:
        # A fixed clock: every move and record here is stamped on one known day,
        # after every 2014 date (what is completed here is completed late), in a
        # year the working-day calendar knows should a move open a publicity window.
        engine = Campaign.open(url, clock=lambda: LATER)
        try:
            yield _started(engine, roster)
        finally:
            engine.store.engine.dispose()


def _started(engine: Campaign, roster: Path) -> Campaign:
    engine.deliverables.init()
    engine.plan.start("wangmin", load_plan(shipped_plan()), read_roster(roster))

    # What the preparation gate lists, as the plan lists it: its materials through
    # the supervisors into publicity, its events recorded keeping the plan's rules.
    for line in SPEC.leaf(PREPARATION).gate:
        if line.deliverable is not None:
            for item in engine.reads.deliverables(type_id=line.deliverable):
                _drive(engine, item.id, item.owner)
        elif line.event is not None:
            engine.records.event("wangmin", line.event,
                                 **valid_event_kwargs(SPEC.event(line.event)))
    _drive(engine, _ids(engine, "research_report", "zhang")[0], "zhang")
    winds = _ids(engine, "four_winds_list")[0]
    _drive(engine, winds, "wangmin")
    engine.moves.fire("wangmin", winds, "report")  # reported: the only state its gate accepts
    liu = _ids(engine, "research_report", "liu")[0]  # submitted, still under review
    engine.deliverables.revise("liu", liu,
                               complete_content(engine.registry.definition("research_report"),
                                               title="调研报告"))
    engine.moves.fire("liu", liu, "submit")
    engine.plan.advance("wangmin")  # the preparation gate holds: the plan is in publicity

    # An item tied to no plan, with a title that must be escaped.
    engine.deliverables.create("chen", "rectification_item", SCRIPT_TITLE, due=date(2014, 7, 1),
                  content=from_text("# 整改\n\n措施\n"))

    engine.records.target("wangmin", "job_fairs", 7, "3月招聘会台账")
    engine.records.target("wangmin", "employment_training", 300, "培训班花名册")
    engine.records.target("wangmin", "employment_training", -60, "重复登记，更正")

    talk = engine.records.talk("lishuji", "lishuji", "zhang", date(2014, 5, 5))
    engine.records.confirm_talk("zhang", talk.id)
    engine.records.talk("wangmin", "liu", "chen", date(2014, 5, 6))  # nobody confirmed yet

    # Late and uninvited; opened by the principal and noting what it must, so
    # those two rules are the only ones it breaks.
    meeting = SPEC.event("mobilisation_meeting")
    engine.records.event("wangmin", "mobilisation_meeting", date(2014, 3, 1), facts=EventFacts(
        opened_by="lishuji", covered=meeting.must_note))
    # Two of the four study sessions, each on a theme of the plan's.
    for day, theme in zip((3, 10), SPEC.event("study_session").themes, strict=False):
        engine.records.event("wangmin", "study_session", date(2014, 3, day), theme=theme)
    engine.records.event("wangmin", "field_research", date(2014, 3, 20), days=3, person="zhang")
    engine.records.event("wangmin", "field_research", date(2014, 3, 25), days=1, person="liu")
    return engine


def report_on(campaign: Campaign, today: date) -> Report:
    return build_report(campaign, today)


# -- overdue -------------------------------------------------------------------------------


def test_due_today_is_not_overdue(campaign: Campaign) -> None:
    report = report_on(campaign, RESEARCH_DUE)
    assert not any(o.due == RESEARCH_DUE for o in report.overdue)


def test_due_yesterday_is_one_day_late(campaign: Campaign) -> None:
    report = report_on(campaign, RESEARCH_DUE + timedelta(days=1))
    late = {o.owner: o for o in report.overdue if o.type == "research_report"}
    assert set(late) == set(TEAM) - {"zhang"}  # zhang's report is complete
    assert {o.days_late for o in late.values()} == {1}
    assert late["chen"].title == "陈五调研报告"
    assert late["chen"].owner_name == "陈五"
    assert late["chen"].unit == "保障部"
    assert late["liu"].state == "review"


def test_a_complete_item_is_never_overdue(campaign: Campaign) -> None:
    done = {_ids(campaign, "research_report", "zhang")[0], _ids(campaign, "four_winds_list")[0],
            _ids(campaign, "implementation_plan")[0], _ids(campaign, "mobilisation_speech")[0]}
    report = report_on(campaign, date(2014, 12, 31))
    assert not done & {o.id for o in report.overdue}
    for item in map(campaign.reads.get, done):
        assert is_complete(item, campaign.plan.spec())
        assert not is_overdue(item, campaign.plan.spec(), date(2030, 1, 1))
        assert days_late(item, date(2030, 1, 1)) > 0


def test_overdue_is_sorted_by_days_late_and_includes_items_without_a_plan(
    campaign: Campaign,
) -> None:
    today = date(2014, 7, 3)
    items = overdue_items(campaign, today)
    assert [o.days_late for o in items] == sorted((o.days_late for o in items), reverse=True)
    (extra,) = [o for o in items if campaign.reads.get(o.id).plan_id is None]
    assert (extra.type, extra.title, extra.days_late) == ("rectification_item", SCRIPT_TITLE, 2)
    assert items == list(report_on(campaign, today).overdue)


def test_overdue_items_without_a_campaign_use_final_states(empty_db: str) -> None:
    engine = Campaign.open(empty_db)
    engine.people.add_user(None, "wangmin", "王敏", ["office"], "群教办")
    item = engine.deliverables.create("wangmin", "rectification_item", "整改事项", due=date(2014, 7,
                                                                                        1))
    assert [o.id for o in overdue_items(engine, date(2014, 7, 2))] == [item.id]
    assert overdue_items(engine, date(2014, 7, 1)) == []
    engine.store.engine.dispose()


def test_gate_states_count_as_complete_before_a_final_state(campaign: Campaign) -> None:
    plan = campaign.reads.get(_ids(campaign, "implementation_plan")[0])
    assert plan.state == "publicity" and not plan.final
    assert is_complete(plan, campaign.plan.spec())
    assert not is_complete(plan, None)  # no plan: only a final state completes it


# -- arithmetic ------------------------------------------------------------------------------


def test_completion_counts_required_deliverables_only(campaign: Campaign) -> None:
    report = report_on(campaign, date(2014, 4, 21))
    # 1 plan + 1 speech + 4 即知即改 items + 4 research + 1 four-winds + 1 meeting
    # plan + 5 self-reviews + 5 rectification plans + 1 rules review + 1 summary
    # = 24 (the team's four each write their own); the hand-made item is extra.
    assert sum(len(TEAM) if r.per == "team" else 1 for r in SPEC.requirements) == 24
    # Complete: the plan, the speech, zhang's research, the four-winds list.
    assert (report.completion.required, report.completion.complete) == (24, 4)
    assert report.completion.percent == 16.7
    # Overdue since 04-20: three research reports and the team's four 即知即改 items.
    assert report.completion.overdue == len(report.overdue) == 3 + len(TEAM)
    phases = {p.path: p for p in report.phases}
    assert (phases[PREPARATION].complete, phases[PREPARATION].required) == (2, 2)
    assert phases[PREPARATION].percent == 100.0
    study = phases[STUDY]
    assert (study.complete, study.required, study.percent) == (1, 8, 12.5)
    assert phases["implementation.find_and_criticise"].complete == 1  # the four-winds list
    assert sum(t.total for t in report.by_type) == 25
    assert sum(u.total for u in report.by_unit) == 25
    research = next(t for t in report.by_type if t.type == "research_report")
    assert {s.state: s.count for s in research.states} == {"draft": 2, "review": 1,
                                                            "publicity": 1}  # chen, lishuji
    assert {s.label for s in research.states} >= {"草稿"}


def test_phases_and_current_phase(campaign: Campaign) -> None:
    report = report_on(campaign, date(2014, 4, 21))
    assert [p.status for p in report.phases] == ["done", "current"] + ["upcoming"] * 4
    current = report.current_phase
    assert current.path == STUDY
    assert (current.label, current.parent_label) == ("学习教育、听取意见", "具体实施")
    assert (current.days_left, current.days_past_end) == (9, None)
    assert report.phases[1].dates_from_plan is False and report.phases[0].dates_from_plan
    past = report_on(campaign, date(2014, 5, 2)).current_phase
    assert (past.days_left, past.days_past_end) == (None, 2)
    assert report_on(campaign, date(2014, 4, 30)).current_phase.days_left == 0


def test_targets_percent(campaign: Campaign) -> None:
    targets = {t.id: t for t in report_on(campaign, date(2014, 4, 21)).targets}
    assert (targets["job_fairs"].done, targets["job_fairs"].goal) == (7, 20)
    assert targets["job_fairs"].percent == 35.0
    assert targets["employment_training"].done == 240
    assert targets["employment_training"].percent == 20.0
    assert targets["hardship_visits"].percent == 0.0


def test_talks_are_counted_for_principal_and_leaders(campaign: Campaign) -> None:
    talks = report_on(campaign, date(2014, 5, 10)).talks
    assert talks is not None
    n = 1 + len(LEADERS)
    assert (talks.team, talks.required) == (n, n * (n - 1) // 2) == (4, 6)
    assert (talks.recorded, talks.confirmed) == (2, 1)
    assert len(talks.outstanding) == 5
    assert any("刘四–陈五" in o or "陈五–刘四" in o for o in talks.outstanding)


def test_events_required_valid_and_flagged(campaign: Campaign) -> None:
    events = {e.kind: e for e in report_on(campaign, date(2014, 4, 21)).events}
    meeting = events["mobilisation_meeting"]
    assert (meeting.required, meeting.records, meeting.valid, meeting.satisfied) == (1, 1, 0,
                                                                                     False)
    (record,) = meeting.flagged
    late, uninvited = record.flags
    assert "晚于规定时限 2014-02-28" in late and "督导组" in uninvited
    study = events["study_session"]
    assert (study.required, study.valid, study.met) == (4, 2, 2)
    research = events["field_research"]  # one each for the team, the principal too
    assert (research.required, research.records, research.valid, research.met) == (
        len(TEAM), 2, 1, 1)
    assert research.flagged[0].person == "刘四"
    assert events["organisational_life_meeting"].required == 2


def test_gate_is_the_current_phases_checklist(campaign: Campaign) -> None:
    report = report_on(campaign, date(2014, 4, 21))
    assert len(report.gate) == len(SPEC.leaf(STUDY).gate)
    assert [c.satisfied for c in report.gate] == [c.satisfied for c in campaign.plan.gate()]
    meeting = report.gate[0]
    assert not meeting.satisfied and meeting.flagged


# -- formats ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(campaign: Campaign) -> Report:
    return report_on(campaign, date(2014, 7, 3))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_the_title_and_an_overdue_item(report: Report, fmt: str) -> None:
    text = render(report, fmt)
    assert TITLE in text
    assert "刘四调研报告" in text


def test_json_has_the_documented_keys(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert set(data) == JSON_KEYS
    assert data["plan"]["title"] == TITLE
    assert data["today"] == "2014-07-03"
    assert {"id", "title", "type", "owner", "owner_name", "unit", "due", "days_late",
            "state", "state_label"} <= set(data["overdue"][0])
    assert {"done", "goal", "unit", "percent"} <= set(data["targets"][0])
    assert {"required", "recorded", "confirmed"} <= set(data["talks"])
    assert data == report.to_json()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.scripts += tag == "script"


def test_html_is_a_full_escaped_document(report: Report) -> None:
    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in page and '<meta charset="utf-8">' in page
    assert "Noto Sans CJK SC" in page and "Microsoft YaHei" in page
    assert page.rstrip().endswith("</html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;精简会议&amp;文件" in page
    parser = _Tags()
    parser.feed(page)
    assert parser.scripts == 0
    assert {"head", "style", "body", "table"} <= set(parser.tags)
    for section in ("当前阶段", "阶段进度", "材料进度", "逾期事项", "惠民行动目标", "谈心谈话",
                    "规定动作"):
        assert f"<h2>{section}" in page
    assert 'class="overdue"' in page and 'class="bar"' in page


def test_markdown_has_tables(report: Report) -> None:
    text = render(report, "markdown")
    assert text.startswith(f"# {TITLE}")
    assert "\n## 逾期事项 Overdue\n" in text
    assert "| 编号 | 材料 Title |" in text
    assert "\n|---|---|" in text
    assert "\\<script\\>" in text  # escaped, not raw HTML


def test_table_is_plain_text(report: Report) -> None:
    text = render(report, "table")
    assert "\x1b[" not in text
    assert "逾期事项" in text and "惠民行动目标" in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_paragraph_numbers_print_intact_and_ids_keep_a_line_of_their_own(
    campaign: Campaign,
) -> None:
    # The study phase's gate and events cite items such as 四（二）1（1）: an item
    # number in brackets is part of the citation, not a name's id.
    report = report_on(campaign, date(2014, 4, 21))
    cited = [c.provenance for c in report.gate] + [e.provenance for e in report.events]
    assert any("1（1）" in source for source in cited)
    lines = render_table(report, width=1000).splitlines()  # wide enough that nothing wraps
    for source in cited:
        assert any(source in line for line in lines), source
    # A type's or a person's id still goes below its name, whole.
    for name in ("rectification_item", "lishuji"):
        assert any(name in line for line in lines)
        assert not any(f"（{name}）" in line for line in lines)


def test_unknown_format_is_invalid_input(report: Report) -> None:
    with pytest.raises(InvalidInput, match="pdf"):
        render(report, "pdf")
