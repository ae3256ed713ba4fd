"""Issue 9, findings 1–4: the report, ``list --overdue``, the gate checklist and
the campaign diagram agree with the log — on the responsible person, on
lateness (open or completed late), on forced advances — and what ``inbox`` and
``show`` offer is what the engine would accept.

Each test starts from the shipped plan started on the standard roster
(``c``, from conftest) and reads the engine's own records (the audit log, the
rectification fields, ``gate()``) to judge what the reports say.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest
from drive import at_day, complete_content
from plan_helpers import (
    LEAF_PATHS,
    LEAVES,
    SPEC,
    STANDARD,
    STARTER,
    drive_to,
    name_of,
    record_valid_events,
    satisfy,
    satisfy_phase,
)

from workflow import Campaign, from_text
from workflow.errors import TransitionNotAllowed
from workflow.render.campaign_diagrams import campaign_diagram, write_campaign_diagrams
from workflow.render.graph_output import render_graph
from workflow.render.json_shapes import next_moves
from workflow.render.phase_diagram import phase_graph
from workflow.render.report_build import build_report
from workflow.render.report_formats import FORMATS, render
from workflow.render.report_scope import overdue_items
from workflow.services.lateness import completed_on
from workflow.spec.plan import GateItem
from workflow.store.views import EventView

STUDY = "implementation.study_and_listen"
#: The renderings for people (JSON carries the same through its keys, checked apart).
DRAWN = [fmt for fmt in FORMATS if fmt != "json"]
REASON = "调研报告因汛期推迟，经督导组同意先行进入下一环节"


def dot_of(c: Campaign) -> str:
    """``campaign diagram --campaign --format dot`` of the running campaign."""
    data, _ = campaign_diagram(c, None, False, "dot")
    return data.decode("utf-8")


def node_line(dot: str, name: str) -> str:
    return next(line for line in dot.splitlines() if line.strip().startswith(f"{name} ["))


def table_rows(text: str, section: str) -> list[str]:
    """The Markdown table lines of one report section."""
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("| #")]


def leave_preparation(c: Campaign) -> list[str]:
    """Meet the preparation gate and leave it; returns its checklist's marks
    (what `phase status` showed) from just before leaving."""
    satisfy_phase(c, "preparation")
    marks = ["✓" if check.satisfied else "□" for check in c.plan.gate()]
    c.plan.advance(STARTER)
    return marks


def force_study(c: Campaign, items: Sequence[GateItem] = SPEC.leaf(STUDY).gate) -> str:
    """Meet ``items`` of the study phase's gate but one leader's field research,
    then force the phase with :data:`REASON`; returns who lacks the research."""
    lacking = [u.id for u in c.reads.users() if "leader" in u.roles][-1]
    for item in items:
        if item.event == "field_research":
            record_valid_events(c, SPEC.event("field_research"), skip=[lacking])
        else:
            satisfy(c, item)
    c.plan.advance(STARTER, force=True, reason=REASON)
    assert c.plan.phase() == LEAF_PATHS[LEAF_PATHS.index(STUDY) + 1]
    return lacking


# -- finding 1 ------------------------------------------------------------------------


def test_finding_1_report_names_the_rectification_responsible_person(c: Campaign) -> None:
    due = date(2014, 8, 31)
    item = c.deliverables.create("member1", "rectification_item", "精简会议文件", due=due,
                    content=from_text("# 整改\n\n措施\n"))
    c.rectification.set("member1", item.id, matter="文山会海", measures="精简会议文件",
                        responsible="leader2", deadline=due, effect="会议数量下降30%")
    drive_to(c, item.id, "in_progress")
    own = c.deliverables.create("leader1", "rectification_item", "自己负责的事项", due=due)
    today = due + timedelta(days=3)

    report = build_report(c, today)
    rows = {o.id: o for o in report.overdue}
    answers = c.rectification.get(item.id).responsible
    assert (rows[item.id].responsible, rows[item.id].owner) == (answers, "member1") == (
        "leader2", "member1")
    assert rows[own.id].responsible is None  # no 整改责任人: the owner answers for it
    assert overdue_items(c, today) == list(report.overdue)  # what `list --overdue` shows

    text = render(report, "markdown")
    (row,) = [r for r in table_rows(text, "逾期事项") if r.startswith(f"| #{item.id} |")]
    responsible_cell = row.split(" | ")[3]
    assert responsible_cell == f"{name_of(STANDARD, 'leader2')}（leader2）"
    assert "member1" not in row.split(" | ")[3]
    (own_row,) = [r for r in table_rows(text, "逾期事项") if r.startswith(f"| #{own.id} |")]
    assert own_row.split(" | ")[3] == f"{name_of(STANDARD, 'leader1')}（leader1）"
    # Both people are named, each as what they are, never one for the other.
    assert (f"整改责任人 {name_of(STANDARD, 'leader2')}（leader2），事项所有人 "
            f"{name_of(STANDARD, 'member1')}（member1）") in text
    for fmt in ("table", "html"):
        assert f"{name_of(STANDARD, 'leader2')}（leader2）" in render(report, fmt)
    # The unit table counts the item where its row says it belongs.
    units = {u.unit: u for u in report.by_unit}
    assert units[rows[item.id].unit].overdue >= 1


# -- finding 2 ------------------------------------------------------------------------


def test_finding_2_forced_phase_is_shown_with_reason_and_who(c: Campaign) -> None:
    leave_preparation(c)
    lacking = force_study(c)
    (event,) = [e for e in c.audit.events("phase") if e.action == "phase.force"]
    logged = json.loads(event.detail or "{}")["missing"]
    assert event.comment == REASON and len(logged) == 1 and lacking in logged[0]

    report = build_report(c, date(2014, 5, 10))
    phases = {p.path: p for p in report.phases}
    study = phases[STUDY]
    assert study.status == "forced" and phases["preparation"].status == "done"
    forced = study.forced
    assert forced is not None
    assert (forced.by, forced.by_name, forced.reason) == (
        event.actor, name_of(STANDARD, STARTER), REASON)
    assert forced.missing == tuple(logged)
    assert forced.still_missing == tuple(logged)  # still not recorded
    assert (forced.waived, forced.made_up) == (1, 0)
    assert study.complete < study.required and study.percent < 100

    done = report.completion
    assert done.required == done.materials_required + 1
    assert done.complete == done.materials_complete
    assert done.forced_phases == 1 and done.percent < 100

    data = json.loads(render(report, "json"))
    shown = next(p for p in data["phases"] if p["path"] == STUDY)["forced"]
    assert (shown["by"], shown["reason"], shown["missing"]) == (STARTER, REASON, logged)
    for fmt in DRAWN:
        text = render(report, fmt)
        assert "强制推进" in text
        assert f"{name_of(STANDARD, STARTER)}（{STARTER}）" in text
        assert REASON in text.replace("\n", "")
        assert lacking in text

    # Made up later: the phase stays forced, the missing entry is counted as done.
    record_valid_events(c, SPEC.event("field_research"),
                        skip=[u.id for u in c.reads.users() if u.id != lacking])
    again = build_report(c, date(2014, 5, 10))
    study = next(p for p in again.phases if p.path == STUDY)
    assert study.status == "forced" and study.forced is not None
    assert (study.forced.made_up, study.forced.still_missing) == (1, ())
    assert again.completion.complete == again.completion.materials_complete + 1


# -- finding 3 ------------------------------------------------------------------------


def _marks(note: str) -> list[str]:
    return re.findall(r"(✓|□) ", note)


def test_finding_3_campaign_diagram_ticks_met_gate_items(c: Campaign, tmp_path: Path) -> None:
    left = leave_preparation(c)
    study_gate = SPEC.leaf(STUDY).gate
    satisfy(c, study_gate[0])  # one item of the study phase met, the others not yet

    dot = dot_of(c)
    # Every line of the phase left ticked, as its checklist was when it was left.
    assert _marks(node_line(dot, "preparation__gate")) == left == ["✓"] * len(
        SPEC.leaf("preparation").gate)
    # The same lines, in the same order, as `phase status` (the gate checklist).
    expected = ["✓" if check.satisfied else "□" for check in c.plan.gate()]
    assert _marks(node_line(dot, "study_and_listen__gate")) == expected
    assert expected[0] == "✓" and "□" in expected
    report = build_report(c, date(2014, 4, 1))  # and the report's gate section says the same
    assert [(g.label, g.satisfied) for g in report.gate] == [
        (check.label, check.satisfied) for check in c.plan.gate()]

    force_study(c, study_gate[1:])
    dot = dot_of(c)
    phase, note = node_line(dot, "study_and_listen"), node_line(dot, "study_and_listen__gate")
    assert "强制推进" in phase and "强制推进" in note
    assert f"{name_of(STANDARD, STARTER)}（{STARTER}）" in note
    assert REASON in re.sub(r"<[^>]*>", "", note)  # wrapped over lines, each in a FONT
    advance = next(line for line in dot.splitlines() if "id=study_and_listen__advance" in line)
    assert "强制" in advance
    assert "□" in _marks(note)  # the unmet item stays unticked in a forced phase

    # The files a demo writes for the running campaign say the same.
    phases, calendar = write_campaign_diagrams(c, tmp_path, "dot")
    assert phases.read_text(encoding="utf-8") == dot
    assert calendar.name == f"{SPEC.id}-calendar.dot"
    # A plan file, not a campaign: nothing is claimed met.
    plain = render_graph(phase_graph(SPEC), "dot").decode("utf-8")
    assert "✓" not in plain and "强制" not in plain


# -- finding 4 ------------------------------------------------------------------------


def complete_in(type_id: str) -> str:
    """The first state every gate line on ``type_id`` accepts: where it is complete."""
    lines = [g for _, leaf in LEAVES for g in leaf.gate if g.deliverable == type_id]
    return next(s for s in lines[0].states if all(s in g.states for g in lines))


def test_finding_4_completed_late_items_are_shown_late(c: Campaign) -> None:
    (winds,) = c.reads.deliverables(type_id="four_winds_list")
    (plan,) = c.reads.deliverables(type_id="implementation_plan")
    assert winds.due == date(2014, 5, 20)
    at_day(c, date(2014, 2, 18))
    drive_to(c, plan.id, complete_in(plan.type))  # on time
    at_day(c, date(2014, 6, 16))
    drive_to(c, winds.id, complete_in(winds.type))  # 27 days after its due date

    today = date(2014, 7, 1)
    report = build_report(c, today)
    late = {o.id: o for o in report.completed_late}
    assert set(late) == {winds.id}
    assert (late[winds.id].completed_on, late[winds.id].days_late) == (date(2014, 6, 16), 27)
    assert winds.id not in {o.id for o in report.overdue}  # complete: not overdue
    assert winds.id not in {o.id for o in overdue_items(c, today)}  # `list --overdue`
    assert report.completion.completed_late == 1
    units = {u.unit: u for u in report.by_unit}
    assert units[late[winds.id].unit].completed_late == 1

    for fmt in DRAWN:
        text = render(report, fmt)
        assert "逾期完成" in text and "2014-06-16" in text
    (row,) = table_rows(render(report, "markdown"), "逾期完成")
    assert row.startswith(f"| #{winds.id} |") and row.endswith("| 27 |")
    assert json.loads(render(report, "json"))["completed_late"][0]["days_late"] == 27


def test_finding_4_completion_day_is_the_last_time_it_became_complete(c: Campaign) -> None:
    (winds,) = c.reads.deliverables(type_id="four_winds_list")

    def move(seq: int, source: str, dest: str, day: str) -> EventView:
        return EventView(seq=seq, at=f"{day}T04:00:00.000000Z", actor="x", role=None,
                         action="transition", deliverable_id=winds.id, trigger="t",
                         source=source, dest=dest, comment=None, revision=None,
                         prev_hash="", hash="")

    def accepts(_: object, state: str) -> bool:
        return state in {"publicity", "reported"}

    history = [move(1, "draft", "review", "2014-05-01"),
               move(2, "review", "publicity", "2014-05-10"),
               move(3, "publicity", "reported", "2014-05-20"),  # stays complete
               move(4, "reported", "review", "2014-06-01"),  # sent back
               move(5, "review", "publicity", "2014-06-16")]
    now = winds.model_copy(update={"state": "publicity"})
    assert completed_on(now, history[:3], accepts) == date(2014, 5, 10)
    assert completed_on(now, history, accepts) == date(2014, 6, 16)
    assert completed_on(winds, history, accepts) is None  # a draft is not complete


def _fire_all(c: Campaign, user: str) -> list[tuple[int, str]]:
    """Every (item, trigger) the user's inbox offers."""
    return [(i.deliverable.id, t) for i in c.reads.inbox(user) for t in i.triggers]


def test_finding_4_inbox_does_not_offer_moves_refused_for_missing_content(c: Campaign) -> None:
    (winds,) = c.reads.deliverables(type_id="four_winds_list")
    owner = winds.owner
    assert winds.revision is None
    with pytest.raises(TransitionNotAllowed, match="no content"):
        c.moves.fire(owner, winds.id, "submit")

    # Nobody is offered a move on it, nor `show` any: the engine refuses them all.
    for user in (u.id for u in c.reads.users()):
        assert all(item != winds.id for item, _ in _fire_all(c, user))
    assert next_moves(c, c.reads.get(winds.id)) == []
    # Its owner still sees it, with nothing to fire: it is theirs to revise.
    mine = {i.deliverable.id: i.triggers for i in c.reads.inbox(owner)}
    assert mine[winds.id] == ()
    others = [u.id for u in c.reads.users() if u.id != owner]
    assert all(winds.id not in {i.deliverable.id for i in c.reads.inbox(u)} for u in others)

    c.deliverables.revise(owner, winds.id, complete_content(c.registry.definition_for(winds)))
    assert "submit" in {m["trigger"] for m in next_moves(c, c.reads.get(winds.id))}
    assert (winds.id, "submit") in _fire_all(c, owner)
    c.moves.fire(owner, winds.id, "submit")  # offered, and accepted
    assert c.reads.get(winds.id).state == "review"
