"""Documents made from a deliverable's record: the publicity notice (公示) a unit
posts, and the dossier (档案) that keeps everything about it in one file.

Both are self-contained: the HTML carries its own CSS, the diagram is inline
SVG, nothing is fetched.  Every value from the database is escaped; markdown
content is rendered with raw HTML switched off, so a title or a revision
holding ``<script>`` shows as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from html import escape
from typing import TYPE_CHECKING

from workflow.campaign import Campaign
from workflow.errors import (
    AuditVerificationFailed,
    CampaignError,
    ContentIntegrityError,
    InvalidInput,
    TransitionNotAllowed,
)
from workflow.machine import publicity
from workflow.render.local_time import local_time
from workflow.services.documents import DiffResult, describe
from workflow.spec import content
from workflow.spec.plan import NoticeSpec
from workflow.store.clock import campaign_zone
from workflow.store.views import DeliverableView, EventView, OpinionView, RevisionView, WindowView

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment
    from markdown_it import MarkdownIt

NOTICE_FORMATS: tuple[str, ...] = ("html", "markdown")
OUTCOMES = {"objection": "有异议，退回审核", "ended": "期满无异议"}

CSS = """
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Noto Serif CJK SC","Microsoft YaHei",
 "PingFang SC","SimSun",sans-serif;color:#222;margin:0 auto;max-width:1100px;
 padding:24px 32px;line-height:1.6;font-size:14px}
h1{color:#b71c1c;font-size:24px;margin:0 0 6px}
h2{font-size:18px;border-left:5px solid #b71c1c;padding-left:8px;margin:26px 0 8px}
h2 small{color:#777;font-weight:normal;font-size:13px;margin-left:6px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr{page-break-inside:avoid}
.mono,code,pre{font-family:"Noto Sans Mono CJK SC","DejaVu Sans Mono",monospace}
td.mono{font-size:11px;word-break:break-all}
.verdict{padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:bold}
.verdict.ok{background:#e8f5e9;border:2px solid #2e7d32;color:#1b5e20}
.verdict.failed{background:#ffebee;border:4px solid #b71c1c;color:#b71c1c;font-size:18px}
.content{border:1px solid #ddd;border-radius:6px;padding:8px 20px;background:#fffdf7}
.plain{white-space:pre-wrap}
details{border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:4px 10px}
summary{cursor:pointer;font-weight:bold}
pre.diff{white-space:pre-wrap;font-size:12px;margin:6px 0}
pre.diff .add{background:#e8f5e9;color:#1b5e20}
pre.diff .del{background:#ffebee;color:#b71c1c}
pre.diff .hunk{color:#6a1b9a}
.diagram svg{max-width:100%;height:auto}
.muted{color:#777}
footer{margin-top:24px;color:#777;font-size:12px}
@page{size:A4;margin:14mm}
@media print{body{padding:0;font-size:12px}h2{page-break-after:avoid}details{border:none}
 details::details-content{content-visibility:visible;display:block}
 .verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

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


# -- shared pieces ---------------------------------------------------------------------


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _when(at: str | datetime | None) -> str:
    """A moment of the record in the campaign's zone, to the second, with its
    offset (``2014-06-16 09:04:33 +08:00``): not UTC with microseconds."""
    return local_time(at, seconds=True)


def local_day(at: str) -> date:
    """The campaign's calendar day of an audit timestamp (stored in UTC)."""
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment.astimezone(campaign_zone()).date()


def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # js-default: CommonMark with tables and strikethrough, raw HTML off, and
    # links to javascript:/vbscript:/file: refused.
    # Line breaks are kept: these documents number their parts line by line
    # (一、… 二、…) without blank lines between them.
    return MarkdownIt("js-default", {"breaks": True})


def render_content(revision: RevisionView, data: bytes, *, shift_headings: int = 0) -> str:
    """A revision as HTML: markdown rendered, plain text kept, other files described."""
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


def _page(title: str, css: str, body: list[str]) -> str:
    return ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _table(headers: list[str], rows: list[list[str]], mono: tuple[int, ...] = ()) -> str:
    """A table of already escaped cells; columns in ``mono`` are drawn small and fixed."""
    if not rows:
        return '<p class="muted">（无）</p>'
    out = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in headers)
           + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="mono">{cell}</td>' if index in mono else f"<td>{cell}</td>"
            for index, cell in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _e(value: object) -> str:
    return "" if value is None else escape(str(value))


# -- the publicity notice (公示) ------------------------------------------------------------


def _publicity_entry(events: list[EventView]) -> EventView | None:
    entries = [e for e in events if e.action == "transition" and e.dest == "publicity"]
    return entries[-1] if entries else None


def _approved(
    campaign: Campaign, deliverable_id: int, entry: EventView | None
) -> tuple[RevisionView, bytes]:
    """The revision that entered publicity (the one approved), else the latest."""
    revisions = campaign.reads.revisions(deliverable_id)
    if not revisions:
        raise TransitionNotAllowed("it has no content to make public", deliverable_id)
    chosen = revisions[-1]
    if entry is not None and entry.revision:
        approved = next((r for r in reversed(revisions) if r.sha256 == entry.revision), None)
        if approved is None:
            raise ContentIntegrityError(
                deliverable_id, chosen.number,
                f"no stored revision is the one approved (sha256 {entry.revision[:12]}…, "
                f"event {entry.seq})")
        chosen = approved
    return chosen, campaign.reads.content(deliverable_id, chosen.number)


def notice(campaign: Campaign, deliverable_id: int, fmt: str) -> str:
    """The notice a unit posts (公示) for a deliverable that entered publicity:
    its title, the approved content, the window's dates, where to object, the
    issuing unit and date.  Refused (exit 4) if it never entered publicity.

    The issuer, the contact for objections and the wording come from the
    deliverable's campaign plan (its ``notice`` block); a deliverable outside
    any campaign gets the neutral defaults of :class:`~workflow.spec.plan.NoticeSpec`.
    """
    if fmt not in NOTICE_FORMATS:
        raise InvalidInput(f"unknown notice format {fmt!r} (use {' or '.join(NOTICE_FORMATS)})")
    view = campaign.reads.get(deliverable_id)
    spec = campaign.registry.definition_for(view)
    windows = campaign.reads.windows(deliverable_id)
    entry = _publicity_entry(campaign.reads.history(deliverable_id))
    if not windows and entry is None:
        raise TransitionNotAllowed("it has never entered publicity: there is nothing to post",
                                   deliverable_id)
    window = windows[-1] if windows else None
    revision, data = _approved(campaign, deliverable_id, entry)
    issued = window.opened_on if window else local_day(entry.at if entry else view.updated_at)
    kind = "公示" if spec.publicity else spec.state("publicity").label
    settings = notice_spec(campaign, view)
    values = _notice_values(settings, window, title=view.title, type_title=spec.title,
                            kind=kind, issued=cn_date(issued))
    parts = NoticeParts(
        heading=_fill(settings.heading, values),
        intro=_fill(settings.intro, values),
        window=_fill(settings.window if window else settings.dated, values),
        objection=_fill(settings.objection, values) if spec.publicity and window else "",
        signature=tuple(line for line in (settings.issuer, settings.office, cn_date(issued))
                        if line),
    )
    if fmt == "markdown":
        return _notice_markdown(parts, revision, data)
    return _notice_html(parts, revision, data)


def notice_spec(campaign: Campaign, view: DeliverableView) -> NoticeSpec:
    """How the deliverable's campaign posts notices; the neutral defaults outside one."""
    return campaign.plan.spec(view.plan_id).notice if view.plan_id else NoticeSpec()


def _notice_values(settings: NoticeSpec, window: WindowView | None, **given: str
                   ) -> dict[str, object]:
    """What the templates may use.  The working days are counted from the
    window's own dates, so the sentence states the span the window has."""
    values: dict[str, object] = {
        "issuer": settings.issuer, "office": settings.office,
        "contact": settings.objection_contact, "opens": "", "closes": "", "working_days": "",
        **given,
    }
    if window is not None:
        values.update(opens=cn_date(window.opened_on), closes=cn_date(window.closes_on),
                      working_days=publicity.working_days_between(window.opened_on,
                                                                  window.closes_on))
    return values


@cache
def _templates() -> SandboxedEnvironment:
    """Sandboxed: a plan is data, and its templates may not reach into Python
    objects.  No autoescaping: a template gives plain text, which each format
    escapes its own way."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def _fill(template: str, values: dict[str, object]) -> str:
    """A notice template rendered as plain text (the caller escapes it)."""
    from jinja2 import TemplateError

    try:
        return _templates().from_string(template).render(values).strip()
    except TemplateError as error:
        raise InvalidInput(f"the campaign's notice template {template!r} fails: "
                           f"{error.message}") from None


@dataclass(frozen=True)
class NoticeParts:
    """A notice's pieces as plain text, before they are escaped for a format."""

    heading: str
    intro: str
    window: str
    #: Where to object; empty without a publicity window.
    objection: str
    #: The issuer, the office acting for it (if any), the date.
    signature: tuple[str, ...]


def md_escape(text: str) -> str:
    """Plain text for a markdown paragraph: no line breaks, markup characters escaped."""
    return _md_chars(" ".join(text.split()))


def _md_chars(text: str) -> str:
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


def _notice_markdown(parts: NoticeParts, revision: RevisionView, data: bytes) -> str:
    if revision.media_type == "text/markdown":
        body = _shift_markdown_headings(content.text_of(revision.media_type, data))
    elif content.has_text(revision.media_type):  # plain text, or a Word file's text
        text = content.text_of(revision.media_type, data)
        fence = "`" * max(3, _longest_run(text, "`") + 1)
        body = f"{fence}text\n{text.rstrip()}\n{fence}"
    else:
        body = md_escape(f"（附件 {revision.filename}：{revision.media_type}，{revision.size} "
                         f"字节，sha256 {revision.sha256}）")
    out = [f"# {md_escape(parts.heading)}", "", md_escape(parts.intro), "",
           f"**{md_escape(parts.window)}**", "", "---", "", body.rstrip(), "", "---", ""]
    if parts.objection:
        out += [md_escape(parts.objection), ""]
    for line in parts.signature:  # one paragraph each, as the HTML signature's lines
        out += [md_escape(line), ""]
    return "\n".join(out[:-1]) + "\n"


def _longest_run(text: str, char: str) -> int:
    longest = current = 0
    for c in text:
        current = current + 1 if c == char else 0
        longest = max(longest, current)
    return longest


def _notice_html(parts: NoticeParts, revision: RevisionView, data: bytes) -> str:
    body = [
        f"<h1>{escape(parts.heading)}</h1>",
        f"<p>{escape(parts.intro)}</p>",
        f'<p class="window">{escape(parts.window)}</p>',
        f'<div class="content">{render_content(revision, data, shift_headings=1)}</div>',
        f"<p>{escape(parts.objection)}</p>" if parts.objection else "",
        '<div class="signature">' + "".join(f"<p>{escape(line)}</p>" for line in parts.signature)
        + "</div>",
    ]
    return _page(parts.heading, NOTICE_CSS, [b for b in body if b])


# -- the dossier (档案) -------------------------------------------------------------------------


def dossier(campaign: Campaign, deliverable_id: int) -> tuple[str, bool]:
    """One self-contained HTML file with everything about a deliverable, and
    whether the whole audit log verified.  A failed verification is not
    hidden: the page then opens with a red banner saying so."""
    view = campaign.reads.get(deliverable_id)
    spec = campaign.registry.definition_for(view)
    revisions = campaign.reads.revisions(deliverable_id)
    events = campaign.reads.history(deliverable_id)
    opinions = campaign.documents.opinions(deliverable_id)
    names = {u.id: u.name for u in campaign.reads.users()}
    verdict, verified = _verdict(campaign)
    title = f"《{view.title}》档案"
    body = [
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="muted">{escape(spec.title)}（{escape(spec.id)}）#{view.id} · '
        f"生成于 {escape(_when(campaign.store.clock()))}</p></header>",
        verdict,
        _section("概况", "Summary", _summary(view, spec.title, names)),
        _section("最终内容", "Final content", _final_content(campaign, view, revisions)),
        _section("修订记录", "Revisions", _revisions_table(revisions, names)),
        _section("修订对比", "Changes between revisions", _diffs(campaign, view.id, revisions)),
        _section("审核意见", "Review opinions", _opinions_table(opinions, names)),
        _section("公示", "Publicity windows",
                 _windows_table(campaign.reads.windows(deliverable_id))),
        _section("流程图", "Path taken", _diagram(campaign, view)),
        _section("审计记录", "Audit trail", _events_table(events)),
        "<footer>本档案由 campaign 自动生成；审计记录为哈希链，可用 "
        "<code>campaign audit verify</code> 复核。</footer>",
    ]
    page_title = title if verified else f"verification FAILED — {title}"
    return _page(page_title, CSS, body), verified


def _verdict(campaign: Campaign) -> tuple[str, bool]:
    try:
        report = campaign.audit.verify()
    except AuditVerificationFailed as failure:
        return (f'<div class="verdict failed" role="alert">审计日志验证失败 · verification '
                f"FAILED: {escape(str(failure))}<br>本档案中的记录不可作为有效凭据。</div>",
                False)
    return (f'<div class="verdict ok">审计日志验证通过 · verification passed: '
            f"{report.events} events, {report.deliverables} deliverables; head digest "
            f'<span class="mono">{_e(report.head)}</span></div>', True)


def _section(title: str, title_en: str, content: str) -> str:
    return (f"<section><h2>{escape(title)}<small>{escape(title_en)}</small></h2>\n"
            f"{content}\n</section>")


def _who(user: str | None, names: dict[str, str]) -> str:
    if user is None:
        return ""
    name = names.get(user)
    return f"{escape(name)}（{escape(user)}）" if name else escape(user)


def _summary(view: DeliverableView, type_title: str, names: dict[str, str]) -> str:
    rows = [
        ["标题 Title", _e(view.title)], ["类型 Type", f"{_e(type_title)}（{_e(view.type)}）"],
        ["责任人 Owner", _who(view.owner, names)],
        ["状态 State", f"{_e(view.state_label)}（{_e(view.state)}）"],
        ["版本 Version", _e(view.version)], ["期限 Due", _e(view.due or "—")],
        ["创建 Created", _e(_when(view.created_at))], ["更新 Updated", _e(_when(view.updated_at))],
        ["定义 Definition", f'<span class="mono">{_e(view.definition_sha256)}</span>'],
    ]
    if view.plan_id:
        rows.append(["活动 Campaign", f"{_e(view.plan_id)} · {_e(view.phase)}"])
    return _table(["项目", "内容"], rows)


def _final_content(campaign: Campaign, view: DeliverableView,
                   revisions: list[RevisionView]) -> str:
    if not revisions:
        return '<p class="muted">（尚无正文）</p>'
    latest = revisions[-1]
    try:
        data = campaign.reads.content(view.id, latest.number)
    except ContentIntegrityError as failure:
        return _withheld(failure)
    return (f'<p class="muted">修订 {latest.number} · {_e(latest.filename)} · sha256 '
            f'<span class="mono">{_e(latest.sha256)}</span></p>\n'
            f'<div class="content">{render_content(latest, data, shift_headings=2)}</div>')


def _withheld(failure: ContentIntegrityError) -> str:
    return (f'<div class="verdict failed" role="alert">正文不予显示 · content withheld: '
            f"{escape(str(failure))}</div>")


def _revisions_table(revisions: list[RevisionView], names: dict[str, str]) -> str:
    return _table(["修订", "作者 Author", "时间 Time", "文件", "类型", "字节", "sha256"], [
        [str(r.number), _who(r.author, names), _e(_when(r.at)), _e(r.filename), _e(r.media_type),
         str(r.size), _e(r.sha256)] for r in revisions], mono=(6,))


def _diffs(campaign: Campaign, deliverable_id: int, revisions: list[RevisionView]) -> str:
    if len(revisions) < 2:
        return '<p class="muted">（只有一个修订，无对比）</p>'
    out = []
    for new in revisions[1:]:
        try:
            result = campaign.documents.diff(deliverable_id, new.number - 1, new.number)
        except ContentIntegrityError as failure:
            out.append(_withheld(failure))
            continue
        added = sum(1 for x in result.lines if x.startswith("+") and not x.startswith("+++"))
        removed = sum(1 for x in result.lines if x.startswith("-") and not x.startswith("---"))
        counts = f"+{added} −{removed}" if result.text else "非文本：比较大小与哈希"
        out.append(f"<details><summary>修订 {new.number - 1} → {new.number}（{counts}）"
                   f"</summary>\n{_diff_body(result)}</details>")
    return "\n".join(out)


def _diff_body(result: DiffResult) -> str:
    if not result.text:
        sides = [describe(s) for s in (result.from_revision, result.to_revision) if s]
        sides.append("内容相同 identical" if result.identical else "内容不同 content differs")
        return '<pre class="diff">' + "\n".join(escape(s) for s in sides) + "</pre>"
    if result.identical:
        return '<p class="muted">（内容相同）</p>'
    lines = []
    for line in result.lines:
        kind = ("hunk" if line.startswith("@@") else "" if line.startswith(("+++", "---"))
                else "add" if line.startswith("+") else "del" if line.startswith("-") else "")
        text = escape(line)
        lines.append(f'<span class="{kind}">{text}</span>' if kind else text)
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def _opinions_table(opinions: list[OpinionView], names: dict[str, str]) -> str:
    return _table(["#", "时间 Time", "提出人 Author", "修订", "行 Line", "意见 Opinion", "事件"], [
        [str(o.id), _e(_when(o.at)), _who(o.author, names), _e(o.revision_number), _e(o.line),
         _e(o.text), _e(o.event_seq)] for o in opinions])


def _windows_table(windows: list[WindowView]) -> str:
    return _table(["开始 Opens", "截止 Closes (inclusive)", "结束于 Closed at", "结果 Outcome"], [
        [_e(w.opened_on), _e(w.closes_on), _e(_when(w.closed_at) or "公示中 open"),
         _e(OUTCOMES.get(w.outcome or "", w.outcome or "—"))] for w in windows])


def _events_table(events: list[EventView]) -> str:
    rows = []
    for e in events:
        move = f"{e.source or ''} → {e.dest or ''}" + (f"（{e.trigger}）" if e.trigger else "")
        rows.append([str(e.seq), _e(_when(e.at)), _e(e.actor), _e(e.role), _e(e.action), _e(move),
                     _e(e.comment), _e(e.revision), _e(e.hash), _e(e.prev_hash)])
    return _table(["seq", "时间 Time", "操作人 Actor", "角色 Role", "动作 Action", "流转 Move",
                   "说明 Comment", "修订 sha256", "hash", "prev_hash"], rows, mono=(7, 8, 9))


#: The dossier is printed on A4: top to bottom with the legend under the flow
#: is narrow enough that, scaled to the page's text width (182 mm), the
#: smallest label stays at 10 px or more (tests/test_slide_diagrams.py).
_DIAGRAM_LAYOUT = "tb"
#: A tall flow is shrunk onto one page rather than split across two.
_DIAGRAM_FIT = '<svg style="max-height:260mm" '


def _diagram(campaign: Campaign, view: DeliverableView) -> str:
    from workflow.render import diagram

    spec = campaign.registry.definition_for(view)
    try:
        path = [diagram.Step(*step) for step in campaign.reads.path(view.id)]
        svg = diagram.render(spec, "svg", current=view.state, path=path, layout=_DIAGRAM_LAYOUT)
    except InvalidInput as problem:  # a path the definition does not know: draw it plain
        try:
            svg = diagram.render(spec, "svg", current=view.state, layout=_DIAGRAM_LAYOUT)
        except CampaignError as error:
            return f'<p class="muted">流程图不可用：{escape(str(error))}</p>'
        note = f'<p class="muted">路径无法标注：{escape(str(problem))}</p>'
        return note + _inline_svg(svg).replace("<svg ", _DIAGRAM_FIT, 1)
    except CampaignError as error:  # Graphviz missing
        return f'<p class="muted">流程图不可用：{escape(str(error))}</p>'
    return _inline_svg(svg).replace("<svg ", _DIAGRAM_FIT, 1)


def _inline_svg(svg: bytes) -> str:
    """The SVG element alone: no XML prolog or doctype inside an HTML page."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    return f'<div class="diagram">{text[start:] if start >= 0 else ""}</div>'
