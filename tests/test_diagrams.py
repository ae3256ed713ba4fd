"""Diagrams drawn from the definitions: content, highlighting, formats, freshness."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest

from workflow.errors import CampaignError, InvalidInput
from workflow.render.committed_diagrams import regenerate, stale
from workflow.render.diagram_style import CJK_FONT
from workflow.render.graph_output import dot_sha256
from workflow.render.type_diagram import Step, render
from workflow.spec.definition import ROLE_LABELS, Role, WorkflowSpec
from workflow.spec.loader import load_directory, shipped_definitions_dir

SHIPPED = [loaded.spec for loaded in load_directory(shipped_definitions_dir())]
DIAGRAMS_DIR = shipped_definitions_dir().parent / "diagrams"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"

# A rectification item returned once, then through to a failed effect check.
RECTIFICATION_PATH = (
    Step("draft", "submit", "review"),
    Step("review", "return", "draft"),
    Step("draft", "submit", "review"),
    Step("review", "forward", "supervisor_approval"),
    Step("supervisor_approval", "approve", "publicity"),
    Step("publicity", "start", "in_progress"),
    Step("in_progress", "claim_done", "verification"),
    Step("verification", "reopen", "in_progress"),
)


@pytest.fixture(params=SHIPPED, ids=lambda s: s.id)
def spec(request: pytest.FixtureRequest) -> WorkflowSpec:
    shipped: WorkflowSpec = request.param
    return shipped


@pytest.fixture
def rectification() -> WorkflowSpec:
    return next(s for s in SHIPPED if s.id == "rectification_item")


def dot_of(
    spec: WorkflowSpec,
    *,
    current: str | None = None,
    path: Sequence[Step] = (),
    labels: str = "short",
) -> str:
    return render(spec, "dot", current=current, path=path, labels=labels).decode("utf-8")


def edges(dot: str) -> dict[str, str]:
    """Edge id (``source__trigger``) → its DOT line."""
    found = {}
    for line in dot.splitlines():
        match = re.search(r"\bid=(\w+)", line)
        if "->" in line and match:
            found[match.group(1)] = line
    return found


def node_line(dot: str, name: str) -> str:
    return next(line for line in dot.splitlines() if line.strip().startswith(f"{name} ["))


# -- committed diagrams ------------------------------------------------------


def test_committed_diagrams_are_up_to_date() -> None:
    outdated = stale(DIAGRAMS_DIR, SHIPPED)
    assert not outdated, f"diagrams out of date for {outdated}: run `make diagrams`"


def test_stale_notices_changes_and_missing_files(tmp_path: Path, needs_dot: None) -> None:
    specs = SHIPPED[:2]
    written = regenerate(tmp_path, specs)
    assert sorted(p.name for p in written) == sorted(
        f"{s.id}.{ext}" for s in specs for ext in ("dot", "svg")
    )
    assert stale(tmp_path, specs) == []
    first, second = specs
    changed = first.model_copy(update={"title": first.title + "（修订）"})
    assert stale(tmp_path, [changed, second]) == [first.id]
    (tmp_path / f"{second.id}.svg").unlink()
    assert stale(tmp_path, specs) == [second.id]


def test_svg_is_stamped_with_the_dot_hash(spec: WorkflowSpec, needs_dot: None) -> None:
    svg = render(spec, "svg").decode("utf-8")
    prolog, stamp = svg.splitlines()[:2]
    assert prolog.startswith("<?xml")
    assert stamp == f"<!-- campaign-dot-sha256: {dot_sha256(dot_of(spec))} -->"


# -- content -----------------------------------------------------------------


def test_dot_is_deterministic(spec: WorkflowSpec) -> None:
    reloaded = WorkflowSpec.model_validate(spec.model_dump())
    assert render(spec, "dot") == render(reloaded, "dot")


def test_every_state_label_and_transition_role_is_drawn(spec: WorkflowSpec) -> None:
    # Full labels put the roles on the arrows (short ones, the default, in a
    # legend: tests/test_slide_diagrams.py).
    dot = dot_of(spec, labels="full")
    for state in spec.states:
        assert state.label in node_line(dot, state.name)
        assert state.label_en in node_line(dot, state.name)
    drawn = edges(dot)
    for transition in spec.transitions:
        for source in transition.source:
            line = drawn[f"{source}__{transition.trigger}"]
            assert transition.label in line
            for role in transition.roles:
                assert ROLE_LABELS[Role(role)][0] in line


def test_rules_are_marked_on_edges(spec: WorkflowSpec) -> None:
    drawn = edges(dot_of(spec, labels="full"))
    for transition in spec.transitions:
        line = drawn[f"{transition.source[0]}__{transition.trigger}"]
        assert ("仅本人" in line) == transition.owner_only
        assert ("不得自审" in line) == transition.not_owner
        assert ("须说明理由" in line) == transition.requires_comment
        assert ("内容须完整" in line) == transition.content_complete


def test_final_and_initial_states_are_marked(spec: WorkflowSpec) -> None:
    dot = dot_of(spec)
    for state in spec.states:
        assert ("peripheries=2" in node_line(dot, state.name)) == state.final
    assert re.search(rf"^\s*__start__ -> {spec.initial}\b", dot, re.MULTILINE)
    assert "shape=point" in node_line(dot, "__start__")


def test_every_element_uses_the_cjk_font(spec: WorkflowSpec) -> None:
    dot = dot_of(spec)
    for kind in ("graph", "node", "edge"):
        assert f'fontname="{CJK_FONT}"' in node_line(dot, kind)
    title = f"{spec.title} / {spec.title_en}".replace('"', '\\"')  # as DOT quotes it
    assert f'label="{title}"' in node_line(dot, "graph")


def test_the_diagram_font_resolves_to_a_cjk_font() -> None:
    if shutil.which("fc-match") is None:
        pytest.skip("fc-match (fontconfig) is not installed; cannot check the CJK font")
    result = subprocess.run(
        ["fc-match", "--format=%{family}|%{lang}", CJK_FONT],
        capture_output=True,
        text=True,
        check=True,
    )
    family, _, langs = result.stdout.partition("|")
    assert "zh-cn" in langs.split("|"), (
        f"{CJK_FONT!r} resolves to {family!r}, which has no Chinese glyphs: "
        "install fonts-noto-cjk (make setup)"
    )


def test_svg_contains_the_chinese_labels_as_text(spec: WorkflowSpec, needs_dot: None) -> None:
    root = ET.fromstring(render(spec, "svg"))
    texts = {el.text for el in root.iter(f"{SVG_NS}text")}
    assert f"{spec.title} / {spec.title_en}" in texts
    for state in spec.states:
        assert state.label in texts
    for transition in spec.transitions:
        assert any(t and transition.label in t for t in texts), transition.label


# -- highlighting ------------------------------------------------------------


def test_highlighted_path_marks_exactly_the_edges_taken(rectification: WorkflowSpec) -> None:
    dot = dot_of(rectification, current="in_progress", path=RECTIFICATION_PATH)
    drawn = edges(dot)
    bold = {edge_id for edge_id, line in drawn.items() if "penwidth" in line}
    assert bold == {f"{s.source}__{s.trigger}" for s in RECTIFICATION_PATH}
    # Order marks: submit was taken first and third.
    assert "①③ 提交审阅" in drawn["draft__submit"]
    assert "⑧ " in drawn["verification__reopen"]
    assert "①" not in drawn["verification__verify"]


def test_highlight_fills_current_and_tints_visited_states(rectification: WorkflowSpec) -> None:
    plain = dot_of(rectification)
    dot = dot_of(rectification, current="in_progress", path=RECTIFICATION_PATH)

    def fill(text: str, name: str) -> str:
        match = re.search(r'fillcolor="([^"]+)"', node_line(text, name))
        assert match
        return match.group(1)

    current, visited = fill(dot, "in_progress"), fill(dot, "draft")
    assert current != visited
    assert visited != fill(plain, "draft")
    assert current != fill(plain, "in_progress")
    assert [n for n in ("draft", "in_progress", "done") if "penwidth" in node_line(dot, n)] == [
        "in_progress"
    ]
    # Not on the path: unchanged.
    assert node_line(dot, "done") == node_line(plain, "done")


def test_current_alone_highlights_one_state(rectification: WorkflowSpec) -> None:
    dot = dot_of(rectification, current="verification")
    assert not any("penwidth" in line for line in edges(dot).values())
    assert "penwidth" in node_line(dot, "verification")


def test_highlights_that_do_not_exist_are_refused(rectification: WorkflowSpec) -> None:
    with pytest.raises(InvalidInput, match="no state"):
        render(rectification, "dot", current="nowhere")
    with pytest.raises(InvalidInput, match="no move"):
        render(rectification, "dot", path=[Step("draft", "approve", "publicity")])


# -- formats -----------------------------------------------------------------


def test_unknown_format_is_invalid_input(spec: WorkflowSpec) -> None:
    with pytest.raises(InvalidInput, match="pdf"):
        render(spec, "pdf")


def test_png_is_a_png(rectification: WorkflowSpec, needs_dot: None) -> None:
    assert render(rectification, "png", current="draft").startswith(PNG_MAGIC)


def test_missing_dot_says_run_make_setup(
    rectification: WorkflowSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot`
    with pytest.raises(CampaignError, match="make setup") as caught:
        render(rectification, "svg")
    assert "\n" not in str(caught.value)
    assert render(rectification, "dot").startswith(b"digraph")  # DOT needs no Graphviz
