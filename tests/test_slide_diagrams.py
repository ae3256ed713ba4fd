"""Finding 16: the type diagrams fit a slide and a printed page with legible labels.

"Legible" is measured, not eyeballed: an SVG's text is drawn at its
``font-size`` (in user units) times the group's ``scale()`` times the pixels
per user unit it is shown at.  Shown fitted into a box (a 1920 × 1080 slide,
the text width of an A4 page) that is ``min(box width / viewBox width, box
height / viewBox height)``.
"""

from __future__ import annotations

import html
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workflow import Campaign
from workflow.errors import InvalidInput
from workflow.render import dossier
from workflow.render.diagram_style import CJK_FONT
from workflow.render.labels import RULE_MARKS
from workflow.render.type_diagram import render
from workflow.spec.definition import ROLE_LABELS, Role, WorkflowSpec
from workflow.spec.loader import load_directory, shipped_definitions_dir

SHIPPED = [loaded.spec for loaded in load_directory(shipped_definitions_dir())]
DIAGRAMS_DIR = Path(__file__).resolve().parent.parent / "diagrams"
SVG_NS = "{http://www.w3.org/2000/svg}"
CSS_PX_PER_PT = 96 / 72
#: An A4 page with the dossier's 14 mm margins: 182 mm of text width, in CSS px.
A4_TEXT_WIDTH_PX = 182 / 25.4 * 96
#: The dossier caps its diagram at 260 mm so a tall flow stays on one page.
DOSSIER_MAX_HEIGHT_PX = 260 / 25.4 * 96
SLIDE_PX = (1920, 1080)
SLIDE_PT = (960, 540)  # 13.33 × 7.5 in


@pytest.fixture(params=SHIPPED, ids=lambda s: s.id)
def spec(request: pytest.FixtureRequest) -> WorkflowSpec:
    shipped: WorkflowSpec = request.param
    return shipped


# -- measuring an SVG --------------------------------------------------------


def points(value: str) -> float:
    return float(value.removesuffix("pt"))


def size_pt(root: ET.Element) -> tuple[float, float]:
    return points(root.get("width", "0")), points(root.get("height", "0"))


def view_box(root: ET.Element) -> tuple[float, float]:
    _, _, width, height = (float(n) for n in root.get("viewBox", "").split())
    return width, height


def smallest_font(root: ET.Element) -> float:
    """The smallest text's size in user units, after the graph's own scale()."""
    group = root.find(f"{SVG_NS}g")
    assert group is not None
    match = re.search(r"scale\(([\d.]+)", group.get("transform", ""))
    scale = float(match.group(1)) if match else 1.0
    sizes = [float(text.get("font-size", "0")) for text in root.iter(f"{SVG_NS}text")]
    assert sizes, "no text in the diagram"
    return min(sizes) * scale


def fitted_px(root: ET.Element, box_width: float, box_height: float) -> float:
    """The smallest text in pixels with the SVG fitted into a box of that size."""
    width, height = view_box(root)
    return smallest_font(root) * min(box_width / width, box_height / height)


def aspect(root: ET.Element) -> float:
    width, height = size_pt(root)
    return width / height


def svg_root(svg: bytes | str) -> ET.Element:
    return ET.fromstring(svg)


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    return width, height


# -- the committed diagrams --------------------------------------------------


def test_finding_16_shipped_diagrams_fit_a_page(spec: WorkflowSpec) -> None:
    root = svg_root((DIAGRAMS_DIR / f"{spec.id}.svg").read_bytes())
    ratio = aspect(root)
    # No strip (they were 8-14 times wider than tall), and not a ribbon the other way.
    assert 1 / 2.1 <= ratio <= 2, f"{spec.id}: width/height {ratio:.2f}"
    # Fitted into the text area of an A4 page, the smallest label stays legible.
    px = fitted_px(root, A4_TEXT_WIDTH_PX, DOSSIER_MAX_HEIGHT_PX)
    assert px >= 10, f"{spec.id}: smallest label {px:.1f} px on an A4 page"
    # Short labels: the roles are in the legend, not on the arrows.
    texts = {el.text for el in root.iter(f"{SVG_NS}text")}
    assert "角色 Roles" in texts


# -- layout ------------------------------------------------------------------


def test_finding_16_layout_tb_is_taller_than_wide_or_close(
    spec: WorkflowSpec, needs_dot: None
) -> None:
    tb = svg_root(render(spec, "svg", layout="tb"))
    lr = svg_root(render(spec, "svg", layout="lr"))
    assert aspect(tb) <= 1.2, f"{spec.id}: tb is {aspect(tb):.2f}:1"
    assert aspect(tb) < aspect(lr)
    assert "rankdir=TB" in render(spec, "dot", layout="tb").decode("utf-8")
    assert "rankdir=LR" in render(spec, "dot").decode("utf-8")  # lr stays the default


def test_finding_16_unknown_layout_or_labels_are_invalid_input(spec: WorkflowSpec) -> None:
    with pytest.raises(InvalidInput, match="layout 'rl'"):
        render(spec, "dot", layout="rl")
    with pytest.raises(InvalidInput, match="labels 'none'"):
        render(spec, "dot", labels="none")


# -- short labels and the legend ---------------------------------------------


def edge_labels(dot: str) -> dict[str, str]:
    """Edge id (``source__trigger``) → its label as written in the DOT."""
    found = {}
    for line in dot.splitlines():
        match = re.search(r'-> \w+ \[label="((?:[^"\\]|\\.)*)".*\bid=(\w+)', line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def legend_rows(dot: str) -> list[str]:
    start = dot.find("subgraph cluster_flow")
    assert start >= 0, "no legend cluster"
    table = dot[start : dot.index("</TABLE>", start)]
    return table.split("<TR>")[2:]  # past the table tag and the heading


def test_finding_16_short_labels_by_default_with_a_legend(spec: WorkflowSpec) -> None:
    dot = render(spec, "dot").decode("utf-8")
    labels = edge_labels(dot)
    rows = legend_rows(dot)
    assert len(rows) == len(spec.transitions)
    for transition in spec.transitions:
        for source in transition.source:
            assert labels[f"{source}__{transition.trigger}"] == transition.label
        name = f"{html.escape(transition.label)}<BR/>{html.escape(transition.label_en)}"
        row = next(r for r in rows if name in r)
        for role in transition.roles:
            assert ROLE_LABELS[Role(role)][0] in row
        for rule, mark in RULE_MARKS.items():
            assert (mark in row) == (rule in transition.rules), (transition.trigger, mark)
    # On request the arrows carry everything again, and no legend repeats it.
    full = render(spec, "dot", labels="full").decode("utf-8")
    assert "cluster_flow" not in full
    for transition in spec.transitions:
        label = edge_labels(full)[f"{transition.source[0]}__{transition.trigger}"]
        assert transition.label_en in label
        assert all(ROLE_LABELS[Role(role)][0] in label for role in transition.roles)


def test_finding_16_the_legend_is_drawn_in_the_cjk_font(
    spec: WorkflowSpec, needs_dot: None
) -> None:
    root = svg_root(render(spec, "svg"))
    texts = list(root.iter(f"{SVG_NS}text"))
    drawn = {el.text for el in texts}
    for transition in spec.transitions:
        assert transition.label_en in drawn
        assert any(ROLE_LABELS[Role(r)][0] in t for r in transition.roles for t in drawn if t)
    assert {el.get("font-family") for el in texts} == {CJK_FONT}


# -- the slide preset --------------------------------------------------------


def test_finding_16_slide_preset_keeps_labels_legible(spec: WorkflowSpec, needs_dot: None) -> None:
    root = svg_root(render(spec, "svg", slide=True))
    width, height = size_pt(root)
    # Within a 16:9 frame of 13.33 × 7.5 in, filling it on one side.
    assert width <= SLIDE_PT[0] + 0.5 and height <= SLIDE_PT[1] + 0.5, (width, height)
    assert max(width / SLIDE_PT[0], height / SLIDE_PT[1]) > 0.99
    px = fitted_px(root, *SLIDE_PX)
    assert px >= 14, f"{spec.id}: smallest label {px:.1f} px on a 1920 × 1080 slide"
    assert {el.get("font-family") for el in root.iter(f"{SVG_NS}text")} == {CJK_FONT}
    # The bitmap for the slide: at most 1920 × 1080, one side exactly.
    png_width, png_height = png_size(render(spec, "png", slide=True))
    assert png_width <= SLIDE_PX[0] and png_height <= SLIDE_PX[1]
    assert SLIDE_PX[0] - png_width <= 2 or SLIDE_PX[1] - png_height <= 2


def test_finding_16_slide_preset_is_top_to_bottom_unless_asked(spec: WorkflowSpec) -> None:
    assert "rankdir=TB" in render(spec, "dot", slide=True).decode("utf-8")
    assert "rankdir=LR" in render(spec, "dot", slide=True, layout="lr").decode("utf-8")
    assert "fontsize=18" in render(spec, "dot", slide=True, labels="full").decode("utf-8")


# -- the dossier -------------------------------------------------------------


def test_finding_16_dossier_diagram_labels_are_legible(
    campaign: Campaign, needs_dot: None
) -> None:
    # The tallest flow: seven states, ten moves.
    item = campaign.deliverables.create("leader1", "rectification_item",
                                        "整改学习制度落实不到位").id
    page, _ = dossier.dossier(campaign, item)
    start = page.index('<div class="diagram"><svg')
    svg = page[page.index("<svg", start) : page.index("</svg>", start) + len("</svg>")]
    root = svg_root(svg)
    assert "max-height:260mm" in root.get("style", "")
    width_pt, _ = size_pt(root)
    box_width, box_height = view_box(root)
    # Printed: shown at most at its natural size (CSS max-width:100%), within
    # the page's text width and the 260 mm cap.
    px_per_unit = min(
        width_pt * CSS_PX_PER_PT / box_width,
        A4_TEXT_WIDTH_PX / box_width,
        DOSSIER_MAX_HEIGHT_PX / box_height,
    )
    px = smallest_font(root) * px_per_unit
    assert px >= 10, f"smallest label {px:.1f} px on an A4 page (it was about 5)"
    assert "角色 Roles" in {el.text for el in root.iter(f"{SVG_NS}text")}
