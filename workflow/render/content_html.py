"""A revision's content as HTML, for the dossier and the notice: markdown
rendered with raw HTML switched off (a revision holding ``<script>`` shows as
text), plain text kept as written, any other file described."""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from workflow.spec import content
from workflow.store.views import RevisionView


def render_content(revision: RevisionView, data: bytes, *, shift_headings: int = 0) -> str:
    """A revision as HTML: markdown rendered, plain text kept, other files described.

    ``shift_headings`` demotes the content's headings so they sit under the
    page's own."""
    if revision.media_type == "text/markdown":
        parser = _markdown()
        tokens = parser.parse(content.text_of(revision.media_type, data))
        if shift_headings:
            for token in tokens:
                if token.type in ("heading_open", "heading_close"):
                    token.tag = f"h{min(int(token.tag[1]) + shift_headings, 6)}"
        html: str = parser.renderer.render(tokens, parser.options, {})
        return html
    if content.has_text(revision.media_type):  # plain text, or a Word file's text
        return f'<div class="plain">{escape(content.text_of(revision.media_type, data))}</div>'
    return (f'<p class="muted">（非文本文件 {escape(revision.filename)}：'
            f"{escape(revision.media_type)}，{revision.size} 字节，sha256 "
            f'<span class="mono">{escape(revision.sha256)}</span>）</p>')


def _markdown() -> MarkdownIt:
    # js-default: CommonMark with tables and strikethrough, raw HTML off, and
    # links to javascript:/vbscript:/file: refused.
    # Line breaks are kept: these documents number their parts line by line
    # (一、… 二、…) without blank lines between them.
    return MarkdownIt("js-default", {"breaks": True})
