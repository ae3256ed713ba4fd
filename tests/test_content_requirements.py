"""Content requirements: a ``content_complete`` move (submitting a self-review
material or a meeting plan) is refused while the latest revision lacks a
required section, naming every one it lacks.  A section is there when a heading
line — markdown ``#``, or the numbering 一、 / （一） / 1. — names one of its
keywords, or (the meeting's length) when a line matches its pattern.

Contents are built here from the spec (:func:`drive.complete_text`), one
section changed at a time.  Every refusal is checked to write nothing at all:
every row of every table, read behind the engine's back, stays as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from drive import (
    COMMENT,
    MEETING_LENGTH,
    SPECS,
    advance,
    all_rows,
    complete_content,
    complete_text,
    creators,
    refused,
)

import cli
from workflow import Campaign, from_text
from workflow.errors import TransitionNotAllowed
from workflow.spec.definition import SectionSpec, WorkflowSpec

#: The types whose submit checks the content, with every section they require.
CHECKED = ("meeting_plan", "mobilisation_speech", "rectification_plan", "research_report",
           "rules_review", "self_review", "summary_report")
SECTIONS = [(t, s.name) for t in CHECKED for s in SPECS[t].required_sections]


def test_the_shipped_requirements() -> None:
    """What the plan asks, as the definitions say it."""
    assert sorted(t for t, spec in SPECS.items()
                  if any(tr.content_complete for tr in spec.transitions)) == list(CHECKED)
    for type_id in CHECKED:
        checked = [tr for tr in SPECS[type_id].transitions if tr.content_complete]
        # Out of the draft, by the submit or by the principal's own road.
        assert {tr.trigger for tr in checked} <= {"submit", "to_supervisors"}
        assert all("draft" in tr.source for tr in checked)
    assert [s.label for s in SPECS["self_review"].required_sections] == [
        "存在的主要问题", "具体表现", "主观原因", "思想根源", "努力方向和改进措施"]
    assert [s.label for s in SPECS["meeting_plan"].required_sections] == [
        "征求意见", "谈心谈话", "情况通报", "会议时间不少于1天"]
    assert [s.label for s in SPECS["rectification_plan"].required_sections] == [
        "整改事项", "整改措施", "整改责任", "整改时限", "整改效果",
        "近期整改任务", "中长期整改安排"]
    assert [s.label for s in SPECS["summary_report"].required_sections] == [
        "基本做法", "基本成效", "基本经验", "意见和建议"]
    assert [s.label for s in SPECS["rules_review"].required_sections] == [
        "废止的制度", "修订的制度", "新立的制度", "长期坚持的制度"]


# -- helpers ---------------------------------------------------------------------------


def section(type_id: str, name: str) -> SectionSpec:
    return next(s for s in SPECS[type_id].required_sections if s.name == name)


def without(spec: WorkflowSpec, *names: str) -> WorkflowSpec:
    """``spec`` requiring all but the sections ``names`` (to build content lacking them)."""
    kept = tuple(s for s in spec.required_sections if s.name not in names)
    return spec.model_copy(update={"required_sections": kept})


def owner_of(type_id: str) -> str:
    return creators(SPECS[type_id])[0]


def new(campaign: Campaign, type_id: str, text: str) -> int:
    return campaign.deliverables.create(owner_of(type_id), type_id, "材料",
                                        content=from_text(text)).id


def refused_submit(campaign: Campaign, db_url: str, item_id: int) -> str:
    """``submit`` is refused (exit 4) and no row of any table changes."""
    before = all_rows(db_url)
    owner = campaign.reads.get(item_id).owner
    error = refused(campaign, db_url, TransitionNotAllowed,
                    lambda: campaign.moves.fire(owner, item_id, "submit", COMMENT))
    assert all_rows(db_url) == before
    assert campaign.reads.get(item_id).state == "draft"
    return str(error)


def submits(campaign: Campaign, item_id: int) -> None:
    event = campaign.moves.fire(campaign.reads.get(item_id).owner, item_id, "submit", COMMENT)
    assert (event.source, event.dest) == ("draft", "review")


def named(message: str, type_id: str) -> set[str]:
    """The labels of ``type_id``'s sections a refusal names."""
    return {s.label for s in SPECS[type_id].required_sections if s.label in message}


# -- what is missing is named ----------------------------------------------------------


@pytest.mark.parametrize("type_id", CHECKED)
def test_complete_content_is_submitted(campaign: Campaign, type_id: str) -> None:
    submits(campaign, new(campaign, type_id, complete_text(SPECS[type_id])))


@pytest.mark.parametrize(("type_id", "name"), SECTIONS, ids=[f"{t}-{n}" for t, n in SECTIONS])
def test_one_section_missing_is_refused_naming_exactly_it(
    campaign: Campaign, db_url: str, type_id: str, name: str
) -> None:
    text = complete_text(without(SPECS[type_id], name))
    message = refused_submit(campaign, db_url, new(campaign, type_id, text))
    assert named(message, type_id) == {section(type_id, name).label}
    assert "1 required section" in message


@pytest.mark.parametrize("type_id", CHECKED)
def test_every_missing_section_is_named(
    campaign: Campaign, db_url: str, type_id: str
) -> None:
    spec = SPECS[type_id]
    message = refused_submit(campaign, db_url,
                             new(campaign, type_id, "# 材料\n\n正文还没有写。\n"))
    assert named(message, type_id) == {s.label for s in spec.required_sections}
    assert f"{len(spec.required_sections)} required section" in message
    # in the definition's order
    positions = [message.index(s.label) for s in spec.required_sections]
    assert positions == sorted(positions)


def test_two_sections_missing_are_both_named_and_nothing_else(
    campaign: Campaign, db_url: str
) -> None:
    text = complete_text(without(SPECS["self_review"], "subjective_causes",
                                 "ideological_roots"))
    message = refused_submit(campaign, db_url, new(campaign, "self_review", text))
    assert named(message, "self_review") == {"主观原因", "思想根源"}
    assert "2 required section" in message


def test_the_latest_revision_is_what_is_checked(campaign: Campaign, db_url: str) -> None:
    spec = SPECS["self_review"]
    item_id = new(campaign, "self_review", complete_text(spec))
    owner = campaign.reads.get(item_id).owner
    campaign.deliverables.revise(owner, item_id, from_text(complete_text(without(spec,
                                                                                 "measures"))))
    assert named(refused_submit(campaign, db_url, item_id), "self_review") == {
        "努力方向和改进措施"}
    campaign.deliverables.revise(owner, item_id, complete_content(spec, body="补上改进措施"))
    submits(campaign, item_id)


def test_a_returned_material_is_checked_again(campaign: Campaign, db_url: str) -> None:
    spec = SPECS["self_review"]
    item_id = new(campaign, "self_review", complete_text(spec))
    submits(campaign, item_id)
    advance(campaign, item_id, "return")
    owner = campaign.reads.get(item_id).owner
    campaign.deliverables.revise(owner, item_id, from_text(complete_text(without(spec,
                                                                                 "problems"))))
    assert named(refused_submit(campaign, db_url, item_id), "self_review") == {"存在的主要问题"}


def test_types_without_the_rule_submit_whatever_they_hold(campaign: Campaign) -> None:
    """The four-winds list requires no sections: a bare text is submitted."""
    assert not SPECS["four_winds_list"].required_sections
    submits(campaign, new(campaign, "four_winds_list", "# “四风”具体表现\n\n正文\n"))


# -- what counts as a heading ----------------------------------------------------------


def with_heading(line: str) -> str:
    """A complete self-review whose 主观原因 section is headed by ``line``."""
    spec = SPECS["self_review"]
    text = complete_text(without(spec, "subjective_causes"))
    return f"{text}\n{line}\n\n对自身要求有所放松。\n"


@pytest.mark.parametrize("line", [
    "## 三、主观原因",
    "三、主观原因",
    "（三）主观原因",
    "# 主观原因",
    "###### 主观原因",
    "3. 主观原因",
    "3、主观原因",
    "十一、关于主观原因的剖析",
    "  （十二）主观原因分析",
])
def test_each_heading_form_counts(campaign: Campaign, line: str) -> None:
    submits(campaign, new(campaign, "self_review", with_heading(line)))


@pytest.mark.parametrize("line", [
    "在分析主观原因时，我认识到自己放松了学习。",  # a paragraph mentioning it
    "对主观原因剖析还不够深入。",
    "主观原因",  # the bare word on its own line is not a heading
    "####### 主观原因",  # seven #: not a markdown heading
    "- 主观原因",  # a list item
    "> 三、主观原因",  # quoted
])
def test_a_keyword_outside_a_heading_does_not_count(
    campaign: Campaign, db_url: str, line: str
) -> None:
    message = refused_submit(campaign, db_url, new(campaign, "self_review", with_heading(line)))
    assert named(message, "self_review") == {"主观原因"}


def test_one_heading_may_name_two_sections(campaign: Campaign) -> None:
    """存在的主要问题及具体表现 under one heading, as such materials often have it."""
    spec = SPECS["self_review"]
    text = complete_text(without(spec, "problems", "manifestations"))
    heading = "一、存在的主要问题及具体表现"
    submits(campaign, new(campaign, "self_review", f"{text}\n{heading}\n\n正文\n"))


def test_any_keyword_of_a_section_counts(campaign: Campaign) -> None:
    measures = section("self_review", "measures")
    assert len(measures.keywords) > 1
    spec = SPECS["self_review"]
    for keyword in measures.keywords:
        text = complete_text(without(spec, "measures"))
        submits(campaign, new(campaign, "self_review", f"{text}\n## 五、{keyword}\n\n正文\n"))


# -- the meeting's length --------------------------------------------------------------


def meeting_plan_saying(line: str) -> str:
    return complete_text(SPECS["meeting_plan"]).replace(MEETING_LENGTH, line)


@pytest.mark.parametrize("line", ["会议时间：1天", "会议时间：2天", "会议时间：一天",
                                  "会议时间：两天", "会议时间不少于1天", "会议时间：1 日"])
def test_a_meeting_of_a_day_or_more_is_accepted(campaign: Campaign, line: str) -> None:
    submits(campaign, new(campaign, "meeting_plan", meeting_plan_saying(line)))


@pytest.mark.parametrize("line", ["会议时间：半天", "会议时间：上午", "会议时间：待定",
                                  "会议时间："])
def test_a_meeting_without_a_day_is_refused(
    campaign: Campaign, db_url: str, line: str
) -> None:
    message = refused_submit(campaign, db_url,
                             new(campaign, "meeting_plan", meeting_plan_saying(line)))
    assert named(message, "meeting_plan") == {"会议时间不少于1天"}


def test_half_a_day_in_digits_is_refused(campaign: Campaign, db_url: str) -> None:
    refused_submit(campaign, db_url,
                   new(campaign, "meeting_plan", meeting_plan_saying("会议时间：0.5天")))


def test_a_date_is_not_a_length(campaign: Campaign, db_url: str) -> None:
    refused_submit(campaign, db_url,
                   new(campaign, "meeting_plan", meeting_plan_saying("会议时间：6月26日上午")))


# -- the command line ------------------------------------------------------------------


def test_submit_on_the_command_line_is_exit_4_naming_what_is_missing(
    campaign: Campaign, db_url: str, tmp_path: Path
) -> None:
    spec = SPECS["self_review"]
    draft = tmp_path / "初稿.md"
    draft.write_text(complete_text(without(spec, "manifestations", "ideological_roots")),
                     encoding="utf-8")
    owner = owner_of("self_review")
    base = ["--db", db_url, "--as", owner]
    created = CliRunner().invoke(cli.main, [*base, "new", "self_review", "--title", "材料",
                                            "--content", str(draft), "--json"])
    assert created.exit_code == 0, created.output
    before = all_rows(db_url)
    item_id = campaign.reads.deliverables()[-1].id

    result = CliRunner().invoke(cli.main, [*base, "do", str(item_id), "submit"])

    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("campaign: ")
    assert named(line, "self_review") == {"具体表现", "思想根源"}
    assert all_rows(db_url) == before
