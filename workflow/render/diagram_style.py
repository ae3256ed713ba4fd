"""How a type's diagram is laid out: direction, edge labels, legend, slide preset.

Kept apart from :mod:`workflow.render.diagram` (which builds the graph) so that the
sizes that make a diagram legible on a slide or a printed page sit in one
place.  Graphviz measures fonts in points; an SVG's user unit is the point,
so a label's size on screen is its font size times the scale it is shown at.
"""

from __future__ import annotations

from html import escape
from typing import NamedTuple

from workflow.errors import InvalidInput
from workflow.spec.definition import ROLE_LABELS, Role, Rule, TransitionSpec, WorkflowSpec

#: Installed by fonts-noto-cjk; with a Latin-only font Graphviz draws boxes (tofu).
CJK_FONT = "Noto Sans CJK SC"
LAYOUTS: tuple[str, ...] = ("lr", "tb")
LABELS: tuple[str, ...] = ("short", "full")

#: Shown under an edge (full labels) or in the legend so a reader sees the
#: rule without reading YAML.
RULE_MARKS: dict[Rule, str] = {
    Rule.OWNER_ONLY: "仅本人",
    Rule.NOT_OWNER: "不得自审",
    Rule.OWNER_OR_RESPONSIBLE: "本人或责任人",
    Rule.REQUIRES_COMMENT: "须说明理由",
    Rule.CONTENT_COMPLETE: "内容须完整",
}
#: A 16:9 slide (PowerPoint's 13.33 × 7.5 in); "!" scales the drawing up or
#: down, keeping its shape, until it fills the frame on one side; at dpi 144
#: that side of a PNG is 1920 or 1080 pixels.
SLIDE_SIZE = "13.333,7.5!"
SLIDE_DPI = "144"
#: Roles per legend line: six on one line would make the legend wider than the flow.
_ROLES_PER_LINE = 3


class Fonts(NamedTuple):
    """Font sizes in points; ``edge`` and ``legend`` are the smallest text."""

    title: int
    node: int
    edge: int
    legend: int


#: Page sizes: shown at its natural size (1 pt = 1.33 CSS px) the smallest text
#: is 13 px; a top to bottom diagram (the committed ones, the dossier's) fitted
#: into an A4 page's text area keeps it at 10 px or more.
PAGE_FONTS = Fonts(title=18, node=12, edge=10, legend=11)
#: With the slide fitted to 1920 × 1080 the smallest text is about 20 px; the
#: tests hold it at 14 px or more, legible from the back of a meeting room.
SLIDE_FONTS = Fonts(title=28, node=20, edge=18, legend=18)


class Style(NamedTuple):
    """A diagram's presentation: ``layout`` lr|tb, ``labels`` short|full, ``slide``."""

    layout: str = "lr"
    labels: str = "short"
    slide: bool = False

    @property
    def fonts(self) -> Fonts:
        return SLIDE_FONTS if self.slide else PAGE_FONTS

    @property
    def full(self) -> bool:
        return self.labels == "full"


def make_style(layout: str | None = None, labels: str = "short", slide: bool = False) -> Style:
    """A checked :class:`Style`.  Without ``layout`` a slide is top to bottom
    (a row of seven states is too long for 16:9 at a legible size; a column
    with the legend in two groups under it fits), anything else left to right."""
    chosen = layout if layout is not None else ("tb" if slide else "lr")
    if chosen not in LAYOUTS:
        raise InvalidInput(f"unknown layout {chosen!r} (use one of: {', '.join(LAYOUTS)})")
    if labels not in LABELS:
        raise InvalidInput(f"unknown labels {labels!r} (use one of: {', '.join(LABELS)})")
    return Style(chosen, labels, slide)


def graph_attrs(title: str, style: Style) -> dict[str, str]:
    attrs = {
        "rankdir": style.layout.upper(),
        "label": title,
        "labelloc": "t",
        "fontname": CJK_FONT,
        "fontsize": str(style.fonts.title),
        "bgcolor": "white",
        "nodesep": "0.5",
        "ranksep": "0.35" if style.layout == "tb" else "0.7",
    }
    if style.slide:
        # No ratio=fill: it spreads the states across the frame and leaves the
        # legend behind.  No dpi: Graphviz 2.43 would scale the SVG's width too
        # (see png_dpi).
        attrs.update(size=SLIDE_SIZE, pad="0.2")
    return attrs


def png_dpi(graph_attr: dict[str, str]) -> str:
    """A bitmap's resolution: a slide's is exactly 1920 × 1080, anything else crisp."""
    return graph_attr.get("dpi") or (SLIDE_DPI if graph_attr.get("size") == SLIDE_SIZE else "150")


def node_attrs(style: Style) -> dict[str, str]:
    return {
        "fontname": CJK_FONT,
        "fontsize": str(style.fonts.node),
        "shape": "box",
        "style": "rounded,filled",
        "margin": "0.18,0.08",
    }


def edge_attrs(style: Style, colour: str) -> dict[str, str]:
    size = str(style.fonts.edge)
    return {"fontname": CJK_FONT, "fontsize": size, "color": colour, "arrowsize": "0.8"}


# -- labels ------------------------------------------------------------------


def edge_label(transition: TransitionSpec, marks: str, style: Style) -> str:
    """Short: the Chinese name only (with the path's order marks); full: the
    bilingual name, the roles and the rules, one per line."""
    title = transition.label if not style.full else f"{transition.label} / {transition.label_en}"
    lines = [f"{marks} {title}" if marks else title]
    if style.full:
        lines.append("[" + "、".join(role_label(r) for r in transition.roles) + "]")
        rules = rule_marks(transition)
        if rules:
            lines.append(f"〔{rules}〕")
    return "\\n".join(lines)


def rule_marks(transition: TransitionSpec) -> str:
    return " · ".join(mark for rule, mark in RULE_MARKS.items() if rule in transition.rules)


def role_label(role: str) -> str:
    # Roles stay strings in specs so lint can report unknown ones; draw those as written.
    try:
        return ROLE_LABELS[Role(role)][0]
    except ValueError:
        return role


# -- the legend --------------------------------------------------------------

#: The cluster around the flow; its label, under the flow, is the legend.
#: (Packing the legend as a separate component would place it beside a top
#: to bottom flow, but Graphviz 2.43 then drops most edge labels.)
FLOW_CLUSTER = "cluster_flow"
_LEGEND_HEADS = ("动作 Move", "角色 Roles", "规则 Rules")
_TABLE = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" COLOR="#90a4ae">'


def legend_attrs(spec: WorkflowSpec, style: Style) -> dict[str, str]:
    """The flow's cluster, its label a table of every move's name, who may make
    it and its rules, so short edge labels lose nothing; no frame."""
    return {
        "label": f"<{legend_table(spec, 2 if style.slide else 1)}>",
        "labelloc": "b",
        "fontsize": str(style.fonts.legend),
        "peripheries": "0",
    }


def legend_table(spec: WorkflowSpec, groups: int = 1) -> str:
    """One row per move; with ``groups`` > 1 the moves are split into that many
    side-by-side column groups, so a slide's legend is wide rather than tall."""
    cells = [_legend_cells(t) for t in spec.transitions]
    per_group = -(-len(cells) // groups)
    head = "".join(f'<TD BGCOLOR="#eceff1"><B>{h}</B></TD>' for h in _LEGEND_HEADS)
    rows = [f"<TR>{head * min(groups, len(cells) or 1)}</TR>"]
    for i in range(per_group):
        row = [cells[j] for j in range(i, len(cells), per_group)]
        rows.append("<TR>" + "".join(row) + "</TR>")
    # A row a line keeps the committed .dot files' diffs readable.
    return "\n".join([_TABLE, *rows, "</TABLE>"])


def _legend_cells(transition: TransitionSpec) -> str:
    name = f"{escape(transition.label)}<BR/>{escape(transition.label_en)}"
    return (
        f'<TD ALIGN="LEFT" BALIGN="LEFT">{name}</TD>'
        f'<TD ALIGN="LEFT" BALIGN="LEFT">{_roles_cell(transition)}</TD>'
        f"<TD>{escape(rule_marks(transition)) or '—'}</TD>"
    )


def _roles_cell(transition: TransitionSpec) -> str:
    names = [escape(role_label(r)) for r in transition.roles]
    step = _ROLES_PER_LINE
    return "<BR/>".join("、".join(names[i : i + step]) for i in range(0, len(names), step))
