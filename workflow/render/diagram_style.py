"""How a diagram looks: direction, fonts, colours, the slide preset.

Kept apart from the modules that build graphs (:mod:`workflow.render.type_diagram`,
:mod:`workflow.render.phase_diagram`) so that the sizes and colours that make a
diagram legible on a slide or a printed page sit in one place.  Graphviz
measures fonts in points; an SVG's user unit is the point, so a label's size
on screen is its font size times the scale it is shown at.
"""

from __future__ import annotations

from typing import NamedTuple

from workflow.errors import InvalidInput

#: Installed by fonts-noto-cjk; with a Latin-only font Graphviz draws boxes (tofu).
CJK_FONT = "Noto Sans CJK SC"
LAYOUTS: tuple[str, ...] = ("lr", "tb")
LABELS: tuple[str, ...] = ("short", "full")

# Colours shared by the type and phase diagrams, so "where it is now" and
# "where it has been" look the same on both.
EDGE_COLOUR = "#546e7a"
PATH_COLOUR = "#c62828"
CURRENT_FILL = "#ffd54f"
VISITED_FILL = "#e3f2fd"
FINAL_FILL = "#e8f5e9"
PLAIN_FILL = "#ffffff"
#: A state or move (a gate line, an event) the plan does not prescribe: the
#: office's own configuration, drawn grey (and dashed) wherever it appears.
CONFIGURED_COLOUR = "#9e9e9e"

#: A 16:9 slide (PowerPoint's 13.33 × 7.5 in); "!" scales the drawing up or
#: down, keeping its shape, until it fills the frame on one side; at dpi 144
#: that side of a PNG is 1920 or 1080 pixels.
SLIDE_SIZE = "13.333,7.5!"
SLIDE_DPI = "144"


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
