"""A built Graphviz graph as bytes, and as a committed ``.dot``/``.svg`` pair.

The DOT text is deterministic (same spec, same bytes), so the committed
``diagrams/*.dot`` can be compared with what the current definitions produce.
SVGs carry the DOT's sha256 in a comment because the SVG bytes themselves
depend on the installed Graphviz version.  Every diagram, of a type or of a
plan, goes out through here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import graphviz

from workflow.errors import CampaignError, InvalidInput
from workflow.render.diagram_style import png_dpi

FORMATS: tuple[str, ...] = ("svg", "png", "dot")
_SHA_COMMENT = "<!-- campaign-dot-sha256: {} -->"


def render_graph(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Any diagram as ``svg`` (stamped with its DOT's hash), ``png`` or ``dot`` bytes."""
    check_format(fmt)
    source: str = graph.source
    if fmt == "dot":
        return source.encode("utf-8")
    if fmt == "png":
        # Slides want a crisp bitmap; dpi only affects this copy, not the stamped DOT.
        graph = graph.copy()
        graph.attr(dpi=png_dpi(graph.graph_attr))
    output = _pipe(graph, fmt)
    return _stamp_svg(output, source) if fmt == "svg" else output


def check_format(fmt: str) -> None:
    """Refuse an unknown format before any drawing is done."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown diagram format {fmt!r} (use one of: {', '.join(FORMATS)})")


def _pipe(graph: graphviz.Digraph, fmt: str) -> bytes:
    try:
        output: bytes = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise CampaignError(
            "Graphviz 'dot' executable not found; run `make setup` to install it"
        ) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise CampaignError(
            f"Graphviz failed to render {graph.name}: {detail[0] if detail else exc}"
        ) from None
    return output


def dot_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _stamp_svg(svg: bytes, source: str) -> bytes:
    """Put the DOT's hash right after the XML prolog (or first, if there is none)."""
    comment = (_SHA_COMMENT.format(dot_sha256(source)) + "\n").encode("ascii")
    end = svg.find(b"?>") if svg.startswith(b"<?xml") else -1
    if end == -1:
        return comment + svg
    cut = end + 2
    if svg[cut : cut + 1] == b"\n":
        cut += 1
    return svg[:cut] + comment + svg[cut:]


def write_pair(directory: Path, name: str, graph: graphviz.Digraph) -> list[Path]:
    """Write ``<name>.dot`` and its stamped ``<name>.svg``; return both paths."""
    svg = render_graph(graph, "svg")  # before writing, so a failure leaves no half pair
    dot_file, svg_file = directory / f"{name}.dot", directory / f"{name}.svg"
    dot_file.write_bytes(render_graph(graph, "dot"))
    svg_file.write_bytes(svg)
    return [dot_file, svg_file]


def pair_up_to_date(directory: Path, name: str, graph: graphviz.Digraph) -> bool:
    """Whether ``<name>.dot`` is ``graph``'s DOT and ``<name>.svg`` carries its hash."""
    source: str = graph.source
    try:
        dot = (directory / f"{name}.dot").read_bytes()
        svg = (directory / f"{name}.svg").read_bytes()
    except FileNotFoundError:
        return False
    stamp = _SHA_COMMENT.format(dot_sha256(source)).encode("ascii")
    return dot == source.encode("utf-8") and stamp in svg
