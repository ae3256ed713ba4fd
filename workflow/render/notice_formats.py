"""A notice drawn as HTML (to print and post) or Markdown, around the
approved revision's content.  The notice keeps its own heading: the
content's headings are demoted one level under it."""

from __future__ import annotations

from html import escape

from workflow.render.content_html import render_content
from workflow.render.html_parts import page
from workflow.render.notice_wording import NoticeParts
from workflow.spec import content
from workflow.store.views import RevisionView

NOTICE_CSS = """
body{font-family:"Noto Serif CJK SC","Noto Sans CJK SC","Source Han Serif SC","SimSun",
 "Microsoft YaHei",serif;color:#111;margin:0 auto;max-width:800px;padding:32px 40px;
 line-height:1.9;font-size:16px}
h1{text-align:center;color:#b71c1c;font-size:24px;margin:0 0 24px}
.window{font-weight:bold}
.content{border-top:1px solid #999;border-bottom:1px solid #999;padding:8px 0;margin:16px 0}
.plain{white-space:pre-wrap}
.signature{text-align:right;margin-top:36px}
.signature p{margin:2px 0}
@page{size:A4;margin:20mm}
@media print{body{padding:0}}
"""


def notice_html(parts: NoticeParts, revision: RevisionView, data: bytes) -> str:
    body = [
        f"<h1>{escape(parts.heading)}</h1>",
        f"<p>{escape(parts.intro)}</p>",
        f'<p class="window">{escape(parts.window)}</p>',
        f'<div class="content">{render_content(revision, data, shift_headings=1)}</div>',
        f"<p>{escape(parts.objection)}</p>" if parts.objection else "",
        '<div class="signature">' + "".join(f"<p>{escape(line)}</p>" for line in parts.signature)
        + "</div>",
    ]
    return page(parts.heading, NOTICE_CSS, [b for b in body if b])


def notice_markdown(parts: NoticeParts, revision: RevisionView, data: bytes) -> str:
    body = _markdown_body(revision, data)
    out = [f"# {md_escape(parts.heading)}", "", md_escape(parts.intro), "",
           f"**{md_escape(parts.window)}**", "", "---", "", body.rstrip(), "", "---", ""]
    if parts.objection:
        out += [md_escape(parts.objection), ""]
    for line in parts.signature:  # one paragraph each, as the HTML signature's lines
        out += [md_escape(line), ""]
    return "\n".join(out[:-1]) + "\n"


def _markdown_body(revision: RevisionView, data: bytes) -> str:
    """Markdown as written (headings demoted), other text fenced, a file described."""
    if revision.media_type == "text/markdown":
        return _shift_markdown_headings(content.text_of(revision.media_type, data))
    if content.has_text(revision.media_type):  # plain text, or a Word file's text
        text = content.text_of(revision.media_type, data)
        fence = "`" * max(3, _longest_run(text, "`") + 1)
        return f"{fence}text\n{text.rstrip()}\n{fence}"
    return md_escape(f"（附件 {revision.filename}：{revision.media_type}，{revision.size} "
                     f"字节，sha256 {revision.sha256}）")


def md_escape(text: str) -> str:
    """Plain text for a markdown paragraph: no line breaks, markup characters escaped."""
    text = " ".join(text.split())
    for char in "\\`*_[]<>#|!":
        text = text.replace(char, "\\" + char)
    return text


def _shift_markdown_headings(text: str) -> str:
    """Demote ATX headings by one level (outside fenced code) so the notice keeps its own."""
    out, fence = [], ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
        elif stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif stripped.startswith("#") and stripped.lstrip("#")[:1] in (" ", "") and \
                len(stripped) - len(stripped.lstrip("#")) < 6:
            line = "#" + stripped
        out.append(line)
    return "\n".join(out)


def _longest_run(text: str, char: str) -> int:
    longest = current = 0
    for c in text:
        current = current + 1 if c == char else 0
        longest = max(longest, current)
    return longest
