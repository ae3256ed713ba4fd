"""The dossier (档案): everything about a deliverable in one self-contained
HTML file, to keep and to print.

The HTML carries its own CSS, the diagram is inline SVG, nothing is fetched.
Every value from the database is escaped; markdown content is rendered with
raw HTML switched off, so a title or a revision holding ``<script>`` shows as
text.  A failed audit verification is not hidden: the page opens with a red
banner saying so.
"""

from __future__ import annotations

from html import escape

from workflow.campaign import Campaign
from workflow.errors import AuditVerificationFailed, ContentIntegrityError
from workflow.render.content_html import render_content
from workflow.render.dossier_diagram import path_taken
from workflow.render.dossier_tables import (
    diffs,
    events_table,
    opinions_table,
    revisions_table,
    when,
    who,
    windows_table,
    withheld,
)
from workflow.render.html_parts import escaped, page, table
from workflow.store.views import DeliverableView, RevisionView

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
        f"生成于 {escape(when(campaign.store.clock()))}</p></header>",
        verdict,
        _section("概况", "Summary", _summary(view, spec.title, names)),
        _section("最终内容", "Final content", _final_content(campaign, view, revisions)),
        _section("修订记录", "Revisions", revisions_table(revisions, names)),
        _section("修订对比", "Changes between revisions", diffs(campaign, view.id, revisions)),
        _section("审核意见", "Review opinions", opinions_table(opinions, names)),
        _section("公示", "Publicity windows",
                 windows_table(campaign.reads.windows(deliverable_id))),
        _section("流程图", "Path taken", path_taken(campaign, view)),
        _section("审计记录", "Audit trail", events_table(events)),
        "<footer>本档案由 campaign 自动生成；审计记录为哈希链，可用 "
        "<code>campaign audit verify</code> 复核。</footer>",
    ]
    page_title = title if verified else f"verification FAILED — {title}"
    return page(page_title, CSS, body), verified


def _verdict(campaign: Campaign) -> tuple[str, bool]:
    try:
        report = campaign.audit.verify()
    except AuditVerificationFailed as failure:
        return (f'<div class="verdict failed" role="alert">审计日志验证失败 · verification '
                f"FAILED: {escape(str(failure))}<br>本档案中的记录不可作为有效凭据。</div>",
                False)
    return (f'<div class="verdict ok">审计日志验证通过 · verification passed: '
            f"{report.events} events, {report.deliverables} deliverables; head digest "
            f'<span class="mono">{escaped(report.head)}</span></div>', True)


def _section(title: str, title_en: str, content: str) -> str:
    return (f"<section><h2>{escape(title)}<small>{escape(title_en)}</small></h2>\n"
            f"{content}\n</section>")


def _summary(view: DeliverableView, type_title: str, names: dict[str, str]) -> str:
    rows = [
        ["标题 Title", escaped(view.title)],
        ["类型 Type", f"{escaped(type_title)}（{escaped(view.type)}）"],
        ["责任人 Owner", who(view.owner, names)],
        ["状态 State", f"{escaped(view.state_label)}（{escaped(view.state)}）"],
        ["版本 Version", escaped(view.version)], ["期限 Due", escaped(view.due or "—")],
        ["创建 Created", escaped(when(view.created_at))],
        ["更新 Updated", escaped(when(view.updated_at))],
        ["定义 Definition", f'<span class="mono">{escaped(view.definition_sha256)}</span>'],
    ]
    if view.plan_id:
        rows.append(["活动 Campaign", f"{escaped(view.plan_id)} · {escaped(view.phase)}"])
    return table(["项目", "内容"], rows)


def _final_content(campaign: Campaign, view: DeliverableView,
                   revisions: list[RevisionView]) -> str:
    if not revisions:
        return '<p class="muted">（尚无正文）</p>'
    latest = revisions[-1]
    try:
        data = campaign.reads.content(view.id, latest.number)
    except ContentIntegrityError as failure:
        return withheld(failure)
    return (f'<p class="muted">修订 {latest.number} · {escaped(latest.filename)} · sha256 '
            f'<span class="mono">{escaped(latest.sha256)}</span></p>\n'
            f'<div class="content">{render_content(latest, data, shift_headings=2)}</div>')
