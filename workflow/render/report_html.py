"""The report as one self-contained HTML page, meant to be printed and put in
front of the leadership: headline cards, then every section."""

from __future__ import annotations

from html import escape

from workflow.render.report_layout import Table, pct
from workflow.render.report_model import Report
from workflow.render.report_phase_sections import window_line
from workflow.render.report_sections import sections

CSS = """
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",
 sans-serif;color:#222;margin:0 auto;max-width:1100px;padding:24px 32px;line-height:1.5;
 font-size:14px}
header{border-bottom:3px solid #b71c1c;margin-bottom:12px}
h1{color:#b71c1c;font-size:24px;margin:0}
header p{margin:2px 0 8px;color:#555}
h2{font-size:18px;border-left:5px solid #b71c1c;padding-left:8px;margin:22px 0 8px}
h2 small{color:#777;font-weight:normal;font-size:13px;margin-left:6px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{flex:1 1 180px;border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:22px;color:#b71c1c}
ul{margin:4px 0;padding-left:20px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr{page-break-inside:avoid}
tr.current td{background:#fff8e1;font-weight:bold}
tr.ok td:nth-child(2){color:#2e7d32}
tr.bad td{color:#b71c1c}
table.overdue th{background:#ffebee;color:#b71c1c}
table.overdue td,tr.late td{background:#fff5f5}
table.overdue td:nth-child(7){font-weight:bold;color:#b71c1c}
table.completed-late th{background:#fff3e0}
table.completed-late td:nth-child(8){font-weight:bold;color:#e65100}
.bar{display:inline-block;width:110px;height:10px;background:#eee;border-radius:5px;
 vertical-align:middle;margin-right:6px;overflow:hidden}
.bar span{display:block;height:100%;background:#c62828}
footer{margin-top:24px;color:#777;font-size:12px}
@page{size:A4;margin:14mm}
@media print{body{padding:0;font-size:12px}h2{page-break-after:avoid}}
"""


def render_html(report: Report) -> str:
    body = [f'<header><h1>{escape(report.plan.title)} 进展情况报告</h1>',
            f"<p>{escape(report.plan.title_en)} · 报告日期 {report.today.isoformat()}</p>"]
    window = window_line(report)
    if window:
        body.append(f'<p class="window">{escape(window)}</p>')
    body += ["</header>", '<div class="cards">']
    body += [f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in _cards(report)]
    body.append("</div>")
    for section in sections(report):
        body.append(f"<section><h2>{escape(section.title)}<small>{escape(section.title_en)}"
                    "</small></h2>")
        if section.lines:
            body.append("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in section.lines)
                        + "</ul>")
        body += [_html_table(t) for t in section.tables]
        body.append("</section>")
    if report.plan.source:
        body.append(f"<footer>依据：{escape(report.plan.source)}</footer>")
    return ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(report.plan.title)} 进展情况报告 {report.today.isoformat()}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _cards(report: Report) -> list[tuple[str, str]]:
    """The headline figures across the top of the page."""
    done = report.completion
    cards = [("总体完成率", pct(done.percent)),
             ("应交材料", f"{done.materials_complete}/{done.materials_required}"),
             ("逾期事项", str(done.overdue)), ("逾期完成", str(done.completed_late))]
    if done.forced_phases:
        cards.append(("强制推进", f"{done.forced_phases} 个阶段"))
    cards.append(("当前阶段", report.current_phase.label))
    return cards


def _html_table(table: Table) -> str:
    kind = f' class="{table.kind}"' if table.kind else ""
    out = [f"<table{kind}><thead><tr>"
           + "".join(f"<th>{escape(h)}</th>" for h in table.headers) + "</tr></thead><tbody>"]
    for index, row in enumerate(table.rows):
        cells = [f"<td>{escape(c)}</td>" for c in row]
        if index < len(table.bars):
            width = max(0.0, min(table.bars[index], 100.0))
            cells[-1] = (f'<td><span class="bar"><span style="width:{width:.1f}%"></span>'
                         f"</span>{escape(row[-1])}</td>")
        mark = table.marks[index] if index < len(table.marks) else ""
        out.append((f'<tr class="{mark}">' if mark else "<tr>") + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
