"""Pictures of the campaign plan: phases, calendar, state counts, freshness."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import pytest

from workflow.errors import InvalidInput
from workflow.render import committed_diagrams, type_diagram
from workflow.render.calendar_diagram import calendar_graph
from workflow.render.committed_diagrams import regenerate_plan, stale_plan
from workflow.render.diagram_style import CJK_FONT, CURRENT_FILL, VISITED_FILL
from workflow.render.graph_output import dot_sha256, render_graph
from workflow.render.phase_diagram import phase_graph, shipped_titles
from workflow.render.type_diagram import state_counts_graph
from workflow.spec.definition import WorkflowSpec
from workflow.spec.loader import load_directory, load_plan, shipped_definitions_dir, shipped_plan
from workflow.spec.plan import PlanSpec

LOADED = load_plan(shipped_plan())
PLAN = LOADED.spec
SPECS = {loaded.spec.id: loaded.spec for loaded in load_directory(shipped_definitions_dir())}
TITLES = {type_id: spec.title for type_id, spec in SPECS.items()}
DIAGRAMS_DIR = shipped_definitions_dir().parent / "diagrams"
SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NESTED = [(parent, child) for parent in PLAN.phases for child in parent.phases]


def phases_dot(current: str | None = None) -> str:
    return render_graph(phase_graph(PLAN, TITLES, current=current), "dot").decode("utf-8")


def calendar_dot() -> str:
    return render_graph(calendar_graph(PLAN, TITLES), "dot").decode("utf-8")


def node_line(dot: str, name: str) -> str:
    return next(line for line in dot.splitlines() if line.strip().startswith(f"{name} ["))


def svg_texts(data: bytes) -> list[str]:
    return [el.text or "" for el in ET.fromstring(data).iter(f"{SVG_NS}text")]


# -- committed pictures ------------------------------------------------------


def test_committed_plan_diagrams_are_up_to_date() -> None:
    outdated = stale_plan(DIAGRAMS_DIR, LOADED, TITLES)
    assert not outdated, f"plan diagrams out of date: {outdated}: run `make diagrams`"


def test_stale_plan_notices_changes_and_missing_files(tmp_path: Path, needs_dot: None) -> None:
    written = regenerate_plan(tmp_path, PLAN, TITLES)
    assert sorted(p.name for p in written) == sorted(
        f"mianyang-2014-{kind}.{ext}" for kind in ("phases", "calendar") for ext in ("dot", "svg")
    )
    assert stale_plan(tmp_path, PLAN, TITLES) == []
    renamed = PLAN.model_copy(update={"title": PLAN.title + "（修订）"})
    both = ["mianyang-2014-phases", "mianyang-2014-calendar"]
    assert stale_plan(tmp_path, renamed, TITLES) == both
    (tmp_path / "mianyang-2014-calendar.svg").unlink()
    assert stale_plan(tmp_path, PLAN, TITLES) == ["mianyang-2014-calendar"]


def test_diagram_main_checks_and_writes_the_plan_pictures(
    tmp_path: Path, needs_dot: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert committed_diagrams.main(["--check", str(tmp_path)]) == 1
    assert "stale diagram: mianyang-2014-phases (run `make diagrams`)" in capsys.readouterr().out
    assert committed_diagrams.main([str(tmp_path)]) == 0
    assert (tmp_path / "mianyang-2014-calendar.svg").is_file()
    assert (tmp_path / "self_review.dot").is_file()
    assert committed_diagrams.main(["--check", str(tmp_path)]) == 0


def test_svg_is_stamped_and_carries_the_chinese_text(needs_dot: None) -> None:
    graph = phase_graph(PLAN, TITLES)
    svg = render_graph(graph, "svg")
    assert f"campaign-dot-sha256: {dot_sha256(graph.source)}".encode() in svg
    texts = svg_texts(svg)
    for _, phase in PLAN.leaves():
        assert phase.label in texts
    assert any("谈心谈话" in t for t in texts)
    calendar = svg_texts(render_graph(calendar_graph(PLAN, TITLES), "svg"))
    assert any("动员大会" in t for t in calendar)
    assert "检查总结" in calendar


def test_png_and_unknown_formats(needs_dot: None) -> None:
    assert render_graph(calendar_graph(PLAN, TITLES), "png").startswith(PNG_MAGIC)
    with pytest.raises(InvalidInput, match="pdf"):
        render_graph(phase_graph(PLAN, TITLES), "pdf")


# -- the phase machine -------------------------------------------------------


def test_every_phase_label_and_dates_appear() -> None:
    dot = phases_dot()
    for _, phase in PLAN.leaves():
        line = node_line(dot, phase.name)
        assert phase.label in line and phase.label_en in line
        if phase.start and phase.end:
            assert f"{phase.start:%m-%d} – {phase.end:%m-%d}" in line
        assert ("(工作安排)" in line) == (not phase.dates_from_plan)
    for parent, _ in NESTED:
        assert parent.label in dot and f"{parent.start:%m-%d} – {parent.end:%m-%d}" in dot


def test_nested_links_are_inside_a_cluster() -> None:
    dot = phases_dot()
    for parent in {parent for parent, _ in NESTED}:
        start = dot.index(f"subgraph cluster_{parent.name} {{")
        depth, end = 0, start
        for end in range(start, len(dot)):  # the cluster's matching brace
            depth += {"{": 1, "}": -1}.get(dot[end], 0)
            if depth == 0 and dot[end] == "}":
                break
        inside, outside = dot[start:end], dot[:start] + dot[end:]
        for child in parent.phases:
            assert f"\t{child.name} [label=" in inside
            assert f"\t{child.name} [label=" not in outside
        assert f'label=<<B>{parent.label}</B>' in inside
    for _, phase in PLAN.leaves():
        if not any(phase is child for _, child in NESTED):
            assert f"subgraph cluster_{phase.name}" not in dot


def test_advance_edges_in_order_with_start_and_final_marked() -> None:
    dot = phases_dot()
    leaves = [phase.name for _, phase in PLAN.leaves()]
    drawn = re.findall(r"^\s*(\w+) -> (\w+) \[id=(\w+)__advance", dot, re.MULTILINE)
    assert drawn == [(a, b, a) for a, b in pairwise(leaves)]
    entry = next(line for line in dot.splitlines() if "id=preparation__advance" in line)
    assert "lhead=cluster_implementation" in entry  # the arrow enters the phase itself
    assert re.search(rf"^\s*__start__ -> {leaves[0]}\b", dot, re.MULTILINE)
    for _, phase in PLAN.leaves():
        assert ("peripheries=2" in node_line(dot, phase.name)) == phase.final


def test_gates_list_their_items() -> None:
    dot = phases_dot()
    for _, phase in PLAN.leaves():
        if not phase.gate:
            assert f"{phase.name}__gate" not in dot
            continue
        note = node_line(dot, f"{phase.name}__gate")
        assert "shape=note" in note and "推进条件" in note
        assert note.count("□") == len(phase.gate)
        for item in phase.gate:
            if item.deliverable:
                assert TITLES[item.deliverable] in note
            elif item.event:
                assert PLAN.event(item.event).label in note
            else:
                assert "谈心谈话" in note
        assert re.search(rf"^\s*{phase.name} -> {phase.name}__gate \[.*dashed", dot, re.MULTILINE)
    assert "动员大会（02-28 前）" in node_line(dot, "study_and_listen__gate")


def test_current_phase_is_highlighted_and_earlier_ones_tinted() -> None:
    plain = phases_dot()
    dot = phases_dot("implementation.find_and_criticise")
    assert phases_dot("find_and_criticise") == dot  # a leaf's own name will do
    highlighted = [n for _, p in PLAN.leaves() if "penwidth" in node_line(dot, n := p.name)]
    assert highlighted == ["find_and_criticise"]
    assert CURRENT_FILL in node_line(dot, "find_and_criticise")
    for name in ("preparation", "study_and_listen"):
        assert VISITED_FILL in node_line(dot, name)
    assert node_line(dot, "summary") == node_line(plain, "summary")
    for wrong in ("implementation", "nowhere", "summary.find_and_criticise"):
        with pytest.raises(InvalidInput, match="no phase"):
            phase_graph(PLAN, TITLES, current=wrong)


def test_dot_is_deterministic_and_uses_the_cjk_font() -> None:
    reloaded = PlanSpec.model_validate(PLAN.model_dump())
    assert phase_graph(reloaded, dict(TITLES)).source == phase_graph(PLAN, TITLES).source
    assert calendar_graph(reloaded, dict(TITLES)).source == calendar_dot()
    assert phase_graph(PLAN).source == phase_graph(PLAN, shipped_titles()).source
    for dot in (phases_dot(), calendar_dot()):
        assert f'fontname="{CJK_FONT}"' in node_line(dot, "graph")
        assert f'fontname="{CJK_FONT}"' in node_line(dot, "node")
    assert f'fontname="{CJK_FONT}"' in node_line(phases_dot(), "edge")


# -- the calendar ------------------------------------------------------------


def test_calendar_has_every_due_date_and_deadline() -> None:
    dot = calendar_dot()
    for requirement in PLAN.requirements:
        assert f"{requirement.due:%m-%d} " in dot, requirement.title
    assert "02-28 动员大会" in dot
    assert PLAN.talks and f"{PLAN.talks.due:%m-%d} 谈心谈话" in dot
    assert "市总工会教育实践活动实施意见和工作方案" in dot
    assert "{name}" not in dot  # per-person titles name no one
    for month in range(2, 10):
        assert f"<B>{month}月</B>" in dot


def test_calendar_bars_are_proportional_and_rows_align() -> None:
    dot = calendar_dot()
    rows = re.findall(r"<TABLE[^>]*><TR>(<TD WIDTH.*?)</TR></TABLE>", dot)
    widths = [[int(w) for w in re.findall(r'WIDTH="(\d+)"', row)] for row in rows]
    assert len({sum(row) for row in widths}) == 1  # every row spans the same days
    coloured = [
        sum(int(w) for w in re.findall(r'<TD WIDTH="(\d+)"[^>]*BGCOLOR', row))
        for row in rows
        if "BGCOLOR" in row
    ]
    phases = [p for top in PLAN.phases for p in (top, *top.phases) if p.start and p.end]
    # The campaign's own window is the first bar, above its phases.
    assert PLAN.window is not None
    spans = [(PLAN.window.start, PLAN.window.end)] + [
        (p.start, p.end) for p in phases if p.start and p.end]
    days = [(end - start).days + 1 for start, end in spans]
    assert len(coloured) == len(days)
    assert len({width / n for width, n in zip(coloured, days, strict=True)}) == 1
    # The calendar runs from the window's first day (before the first phase) to its last.
    first, last = min(PLAN.window.start, PLAN.start), max(PLAN.window.end, PLAN.end)
    total_days = (last - first).days + 1
    assert sum(widths[0]) / total_days == coloured[0] / days[0]


# -- state counts ------------------------------------------------------------


@pytest.fixture
def self_review() -> WorkflowSpec:
    return SPECS["self_review"]


def test_state_counts_show_the_numbers(self_review: WorkflowSpec) -> None:
    counts = {"draft": 3, "publicity": 5}
    dot = render_graph(state_counts_graph(self_review, counts), "dot").decode("utf-8")
    for state in self_review.states:
        line = node_line(dot, state.name)
        number = counts.get(state.name, 0)
        assert f"{state.label}\\n{state.label_en}\\n{number} 份" in line
        assert ("penwidth" in line) == bool(number)
        assert ("fontcolor" in line) == (not number)  # empty states are pale
    assert "共 8 份" in dot
    plain = type_diagram.render(self_review, "dot").decode("utf-8")
    assert "份" not in plain  # the committed type diagrams are unchanged


def test_state_counts_refuse_unknown_states(self_review: WorkflowSpec) -> None:
    with pytest.raises(InvalidInput, match="no state"):
        state_counts_graph(self_review, {"nowhere": 1})
    with pytest.raises(InvalidInput, match="negative"):
        state_counts_graph(self_review, {"draft": -1})


def test_state_counts_svg_has_chinese(self_review: WorkflowSpec, needs_dot: None) -> None:
    texts = svg_texts(render_graph(state_counts_graph(self_review, {"draft": 2}), "svg"))
    assert "2 份" in texts and "草稿" in texts


def test_long_flows_are_stacked_so_they_fit_a_slide() -> None:
    counted = {
        type_id: render_graph(state_counts_graph(spec, {}), "dot").decode("utf-8")
        for type_id, spec in SPECS.items()
    }
    assert "rankdir=TB" in counted["rectification_item"]  # seven states
    assert "rankdir=TB" not in counted["self_review"]  # five: a row fits
