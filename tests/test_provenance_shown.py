"""Where each rule and step comes from is shown: the type diagrams set the
office's own steps (``from_plan: false``) apart and put every step's paragraph
in its tooltip; the calendar draws the campaign's own window; the report and
``phase status``'s gate rows name each gate line's paragraph (or 本单位配置),
the report's header gives the window, and its required events spell out their
rules and what a listed record states."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from plan_helpers import SPEC, STANDARD, STARTER, new_db, roster

from workflow import Campaign
from workflow.render.calendar_diagram import calendar_graph
from workflow.render.diagram_style import CONFIGURED_COLOUR
from workflow.render.gate_lines import gate_line_text, status_gate
from workflow.render.phase_diagram import phase_graph
from workflow.render.report_build import build_report
from workflow.render.report_formats import render
from workflow.render.report_text import render_table
from workflow.render.type_diagram import render as render_type
from workflow.services.plan_records import EventFacts
from workflow.spec.definition import WorkflowSpec
from workflow.spec.loader import LoadedPlan, load_directory, load_plan, shipped_definitions_dir
from workflow.spec.plan import PlanSpec

SHIPPED = {loaded.spec.id: loaded.spec for loaded in load_directory(shipped_definitions_dir())}
TITLES = {spec_id: spec.title for spec_id, spec in SHIPPED.items()}
#: The shipped gate line the test plan turns into the office's own configuration.
OWN_EVENT = "staff_training"
OWN_PARAGRAPH = "四（一）进行工作培训"


def _configured_move(spec: WorkflowSpec) -> tuple[str, str] | None:
    """(source, trigger) of a move the plan does not prescribe, if ``spec`` has one."""
    move = next((t for t in spec.transitions if not t.from_plan), None)
    return (move.source[0], move.trigger) if move else None


CONFIGURED_TYPES = [spec for spec in SHIPPED.values() if _configured_move(spec)]


def _edge(dot: str, edge_id: str) -> str:
    return next(line for line in dot.splitlines() if f"id={edge_id}" in line)


# -- type diagrams -----------------------------------------------------------------


@pytest.mark.parametrize("spec", CONFIGURED_TYPES, ids=lambda s: s.id)
def test_a_move_the_plan_does_not_prescribe_is_grey_dashed_marked_and_in_the_legend(
    spec: WorkflowSpec,
) -> None:
    found = _configured_move(spec)
    assert found is not None
    source, trigger = found
    move = spec.transition(source, trigger)
    assert move is not None
    dot = render_type(spec, "dot").decode("utf-8")
    edge = _edge(dot, f"{source}__{trigger}")
    assert re.search(r"style=\"?[a-z,]*dashed", edge)
    assert f'color="{CONFIGURED_COLOUR}"' in edge
    assert f'tooltip="{move.label}：{move.provenance}"' in edge
    assert move.provenance.startswith("本单位配置")
    # The legend says what grey and dashed mean, and the move's row says it.
    assert "灰色虚线" in dot and "方案未作规定" in dot
    row = next(r for r in dot.split("<TR>") if f"{move.label}<BR/>" in r)
    assert "本单位配置" in row
    # Full labels carry the mark on the arrow itself.
    full = _edge(render_type(spec, "dot", labels="full").decode("utf-8"), f"{source}__{trigger}")
    assert "（本单位配置）" in full


def test_a_move_from_the_plan_is_drawn_plain_with_its_paragraph_as_tooltip() -> None:
    spec = SHIPPED["self_review"]
    move = next(t for t in spec.transitions
                if t.from_plan and t.paragraph and not t.requires_comment)
    dot = render_type(spec, "dot").decode("utf-8")
    edge = _edge(dot, f"{move.source[0]}__{move.trigger}")
    assert "dashed" not in edge and CONFIGURED_COLOUR not in edge
    assert f'tooltip="{move.label}：方案{move.paragraph}"' in edge


def test_a_state_the_plan_does_not_prescribe_is_framed_dashed_and_marked_in_full_labels(
) -> None:
    spec = next(s for s in SHIPPED.values() if any(not st.from_plan for st in s.states))
    state = next(st for st in spec.states if not st.from_plan)
    line = next(x for x in render_type(spec, "dot").decode("utf-8").splitlines()
                if x.strip().startswith(f"{state.name} [label="))
    assert "dashed" in line and CONFIGURED_COLOUR in line and "（本单位配置）" not in line
    assert f"tooltip=\"{state.label}：{state.provenance}\"" in line
    full = next(x for x in render_type(spec, "dot", labels="full").decode("utf-8").splitlines()
                if x.strip().startswith(f"{state.name} [label="))
    assert "（本单位配置）" in full


def test_the_tooltip_reaches_the_svg(needs_dot: None) -> None:
    spec = CONFIGURED_TYPES[0]
    found = _configured_move(spec)
    assert found is not None
    move = spec.transition(*found)
    assert move is not None
    svg = render_type(spec, "svg").decode("utf-8")
    assert f'xlink:title="{move.label}：{move.provenance}"' in svg


# -- plan diagrams ---------------------------------------------------------------------


def test_the_calendar_draws_the_campaigns_window_before_its_first_phase() -> None:
    assert SPEC.window is not None and SPEC.window.start < SPEC.start
    dot = calendar_graph(SPEC, TITLES).source
    assert "活动起止" in dot and "Campaign window · 01-15 – 09-30" in dot
    assert f"Calendar {SPEC.window.start} – {SPEC.window.end}" in dot
    assert "<B>1月</B>" in dot  # the calendar now opens in January


def _plan_with_own_gate_line(tmp_path: Path) -> LoadedPlan:
    """The shipped plan with one preparation gate line (and its event) made the
    office's own configuration."""
    data = yaml.safe_load((shipped_definitions_dir() / "campaigns" / "mianyang-2014.yaml")
                          .read_text(encoding="utf-8"))
    for item in data["phases"][0]["gate"]:
        if item.get("event") == OWN_EVENT:
            item.update(from_plan=False, paragraph=OWN_PARAGRAPH)
    for event in data["events"]:
        if event["kind"] == OWN_EVENT:
            event.update(from_plan=False, paragraph=OWN_PARAGRAPH)
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_plan(path)


def test_the_phase_diagram_marks_a_gate_line_the_plan_does_not_prescribe(
    tmp_path: Path,
) -> None:
    plan: PlanSpec = _plan_with_own_gate_line(tmp_path).spec
    note = next(line for line in phase_graph(plan, TITLES).source.splitlines()
                if line.strip().startswith("preparation__gate"))
    label = plan.event(OWN_EVENT).label
    assert f'<FONT COLOR="{CONFIGURED_COLOUR}">{label}</FONT>' in note
    assert "（本单位配置）" in note
    assert "方案四（一）" in note  # the other lines name their paragraph
    assert f"{label}：本单位配置（{OWN_PARAGRAPH}）" in note  # the tooltip


# -- reports -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    directory = tmp_path_factory.mktemp("provenance")
    engine = new_db(directory / "campaign.db")
    engine.plan.start(STARTER, _plan_with_own_gate_line(directory), roster(directory, STANDARD))
    # A mobilisation meeting opened by a leader, not the secretary: kept, flagged,
    # and listed with what it states.
    engine.records.event(STARTER, "mobilisation_meeting", date(2014, 2, 25),
                         supervisors_invited=True,
                         facts=EventFacts(invited=("上级纪检机关",), opened_by="leader1",
                                          covered=("分管领导具体安排部署",)))
    try:
        yield engine
    finally:
        engine.store.engine.dispose()


def test_phase_status_rows_name_each_gate_lines_paragraph(campaign: Campaign) -> None:
    plan = campaign.plan.spec()
    phase = plan.leaf(campaign.plan.phase())
    rows = status_gate(campaign.plan.gate())
    by_event = {item.event: row for item, row in zip(phase.gate, rows, strict=True)}
    meeting = by_event["party_group_meeting"]
    assert meeting["from_plan"] and meeting["provenance"] == f"方案{meeting['paragraph']}"
    assert gate_line_text(meeting).endswith(f"〔方案{meeting['paragraph']}〕")
    own = by_event[OWN_EVENT]
    assert not own["from_plan"]
    assert gate_line_text(own).endswith(f"〔本单位配置（{OWN_PARAGRAPH}）〕")


@pytest.mark.parametrize("fmt", ["table", "markdown", "html", "json"])
def test_the_report_shows_each_gate_lines_source_and_the_window(
    campaign: Campaign, fmt: str
) -> None:
    report = build_report(campaign, date(2014, 2, 15))
    # A terminal wide enough that no cell is folded over lines.
    text = render_table(report, width=400) if fmt == "table" else render(report, fmt)
    meeting = SPEC.event("party_group_meeting").paragraph
    for shown in (f"方案{meeting}", f"本单位配置（{OWN_PARAGRAPH}）"):
        assert shown in text, (fmt, shown)
    if fmt != "json":
        assert "活动起止：2014-01-15 至 2014-09-30（方案四、实施步骤" in text


def test_the_report_header_carries_the_window_and_the_json_its_fields(
    campaign: Campaign,
) -> None:
    report = build_report(campaign, date(2014, 2, 15))
    assert report.plan.window is not None
    assert (report.plan.window.start, report.plan.window.end) == (date(2014, 1, 15),
                                                                  date(2014, 9, 30))
    gate = {line.label: line for line in report.gate}
    own = next(line for label, line in gate.items() if f"({OWN_EVENT})" in label)
    assert (own.from_plan, own.paragraph) == (False, OWN_PARAGRAPH)
    page = render(report, "html")
    header = page[page.index("<header>") : page.index("</header>")]
    assert "活动起止：2014-01-15 至 2014-09-30" in header


def test_the_report_spells_out_an_events_rules(campaign: Campaign) -> None:
    report = build_report(campaign, date(2014, 2, 15))
    events = {e.kind: e for e in report.events}
    meeting = events["mobilisation_meeting"]
    assert {"群教办、办公室负责", "02-28前", "邀请市委督导组", "由党组书记带头",
            "须记录分管领导具体安排部署"} <= set(meeting.rules)
    assert "在动员大会之后" in events["democratic_appraisal"].rules
    markdown = render(report, "markdown")
    assert "由党组书记带头" in markdown and "规则 Rules" in markdown
    assert events[OWN_EVENT].provenance == f"本单位配置（{OWN_PARAGRAPH}）"


def test_a_listed_record_shows_what_it_states(campaign: Campaign) -> None:
    report = build_report(campaign, date(2014, 2, 15))
    flagged = next(e for e in report.events if e.kind == "mobilisation_meeting").flagged
    assert flagged and flagged[0].opened_by == "张副主席"
    assert flagged[0].invited == ("上级纪检机关",)
    line = next(x for x in render(report, "markdown").splitlines() if "动员大会 记录 #" in x)
    assert "须由党组书记带头" in line
    assert "记录所载：邀请：上级纪检机关；带头：张副主席；已记录：分管领导具体安排部署" in line
