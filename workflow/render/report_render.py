"""Rendering a :class:`workflow.render.progress.Report`: text tables, JSON, Markdown, HTML.

The report is first laid out as format-neutral sections (lines and tables);
each renderer then draws those.  The HTML page is one self-contained file,
meant to be printed and put in front of the leadership.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from io import StringIO

from workflow.errors import InvalidInput
from workflow.render.progress import FORMATS
from workflow.render.report_model import PhaseRow, Report
from workflow.render.reports import role_label
from workflow.services.lateness import LateCompletion, OverdueItem

STATUS = {"done": "已完成", "forced": "强制推进", "current": "进行中", "upcoming": "未开始",
          "closed": "已结束"}


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    #: Per row, a percent the HTML page draws as a bar in the last column.
    bars: Sequence[float] = ()
    #: Per row, a CSS class for the HTML page ("current", "late", "bad", "ok" or "").
    marks: Sequence[str] = ()
    kind: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    title_en: str
    lines: Sequence[str] = ()
    tables: Sequence[Table] = field(default_factory=tuple)


def render(report: Report, fmt: str) -> str:
    renderers: dict[str, Callable[[Report], str]] = {
        "table": render_table, "json": render_json, "markdown": render_markdown,
        "html": render_html,
    }
    if fmt not in renderers:
        raise InvalidInput(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")
    return renderers[fmt](report)


# -- layout ---------------------------------------------------------------------------------


def num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def pct(value: float) -> str:
    return f"{value:.1f}%"


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def sections(report: Report) -> list[Section]:
    return [_overview(report), _phases(report), _deliverables(report), _overdue(report),
            _completed_late(report), _targets(report), _talks(report), _events(report)]


def person(name: str | None, user_id: str | None) -> str:
    return f"{name}（{user_id}）" if user_id else "—"


def headline(report: Report) -> list[str]:
    """The completion lines: what the rate counts is spelled out when a phase was forced."""
    done = report.completion
    rate = f"总体完成率：{done.complete}/{done.required} 项"
    if not done.forced_phases:
        rate = f"{rate}应交材料已完成（{pct(done.percent)}）"
    else:
        # Done/required of each part: the materials, and what forced advances lacked.
        rate = (f"{rate}（{pct(done.percent)}）＝应交材料 {done.materials_complete}/"
                f"{done.materials_required} 项＋强制推进时所缺 {done.made_up}/{done.waived} 项")
    return [rate, f"逾期未完成 {done.overdue} 项，逾期完成 {done.completed_late} 项"]


def _overview(report: Report) -> Section:
    cur = report.current_phase
    where = f"{cur.parent_label} › {cur.label}" if cur.parent_label else cur.label
    timing = ("活动已结束" if cur.final
              else f"剩余 {cur.days_left} 天" if cur.days_left is not None
              else f"已超过结束日期 {cur.days_past_end} 天")
    gate = Table(("出口条件 Gate", "状态", "缺项 Missing", "记录问题 Flagged"), [
        (c.label, "✓ 已满足" if c.satisfied else "✗ 未满足", "；".join(c.missing) or "—",
         "；".join(c.flagged) or "—") for c in report.gate
    ], marks=["ok" if c.satisfied else "bad" for c in report.gate])
    forced = [_phase_name(p) for p in report.phases if p.forced]
    lines = [
        f"报告日期：{report.today.isoformat()}",
        f"当前阶段：{where}（{cur.label_en}）",
        f"起止日期：{day(cur.start)} 至 {day(cur.end)}，{timing}" if cur.start else timing,
        *headline(report),
    ]
    if forced:
        lines.append(f"强制推进的阶段：{'、'.join(forced)}（理由与推进人见阶段进度）")
    return Section("当前阶段", "Current phase", lines, [gate] if report.gate else [])


def _phase_name(phase: PhaseRow) -> str:
    return f"{phase.parent_label} › {phase.label}" if phase.parent_label else phase.label


def _forced_lines(phase: PhaseRow) -> list[str]:
    """Who forced the phase, when and why, what it lacked then and lacks now."""
    forced = phase.forced
    if forced is None:
        return []
    lines = [f"{_phase_name(phase)}：{forced.on.isoformat()} 由 {person(forced.by_name, forced.by)}"
             "强制推进", f"强制推进理由：{forced.reason}",
             f"推进时缺 {len(forced.missing)} 项：{'；'.join(forced.missing) or '—'}"]
    still = "；".join(forced.still_missing)
    lines.append(f"至今仍缺：{still}" if still else "推进时所缺现已补齐")
    return lines


def _phases(report: Report) -> Section:
    # A forced phase counts the event and talk entries it lacked when forced
    # (see progress.Completion), hence "完成/应交" rather than materials only.
    lines = [line for p in report.phases for line in _forced_lines(p)]
    return Section("阶段进度", "Phases", lines, [Table(
        ("阶段 Phase", "状态", "起止日期", "日期来源", "完成/应交", "完成率"), [
            (_phase_name(p), STATUS[p.status],
             f"{day(p.start)} 至 {day(p.end)}" if p.start else "—",
             "—" if p.start is None else "实施方案" if p.dates_from_plan else "工作安排",
             f"{p.complete}/{p.required}", pct(p.percent) if p.required else "—")
            for p in report.phases
        ], bars=[p.percent for p in report.phases],
        marks=[{"current": "current", "forced": "bad"}.get(p.status, "")
               for p in report.phases])])


def _deliverables(report: Report) -> Section:
    types = Table(("材料类型 Type", "总数", "已完成", "各状态 By state"), [
        (f"{t.title}（{t.type}）", str(t.total), str(t.complete),
         "；".join(f"{s.label} {s.count}" for s in t.states)) for t in report.by_type
    ])
    units = Table(("单位 Unit", "总数", "已完成", "逾期", "逾期完成"), [
        (u.unit, str(u.total), str(u.complete), str(u.overdue), str(u.completed_late))
        for u in report.by_unit
    ], marks=["late" if u.overdue else "" for u in report.by_unit])
    return Section("材料进度", "Deliverables", (), [types, units])


def _owner_lines(items: Sequence[OverdueItem | LateCompletion]) -> list[str]:
    """A rectification item answered for by someone other than its owner: a
    line each, above the table, naming both (the table's 责任人 is the former)."""
    return [f"#{o.id} {o.title}：整改责任人 {person(o.responsible_name, o.responsible)}，"
            f"事项所有人 {person(o.owner_name, o.owner)}" for o in items if o.responsible]


def _answers(item: OverdueItem | LateCompletion) -> str:
    return (person(item.responsible_name, item.responsible) if item.responsible
            else person(item.owner_name, item.owner))


def _overdue(report: Report) -> Section:
    if not report.overdue:
        return Section("逾期事项", "Overdue", ["无逾期事项。"])
    titles = {t.type: t.title for t in report.by_type}
    return Section("逾期事项", "Overdue", _owner_lines(report.overdue), [Table(
        ("编号", "材料 Title", "类型", "责任人", "单位", "截止日期", "逾期天数", "当前状态"), [
            (f"#{o.id}", o.title, titles.get(o.type, o.type), _answers(o),
             o.unit, day(o.due), str(o.days_late), o.state_label) for o in report.overdue
        ], marks=["late"] * len(report.overdue), kind="overdue")])


def _completed_late(report: Report) -> Section:
    late = report.completed_late
    if not late:
        return Section("逾期完成", "Completed late", ["无逾期完成事项。"])
    titles = {t.type: t.title for t in report.by_type}
    return Section("逾期完成", "Completed late", _owner_lines(late), [Table(
        ("编号", "材料 Title", "类型", "责任人", "单位", "截止日期", "完成日期", "逾期天数"), [
            (f"#{o.id}", o.title, titles.get(o.type, o.type), _answers(o), o.unit, day(o.due),
             day(o.completed_on), str(o.days_late)) for o in late
        ], kind="completed-late")])


def _targets(report: Report) -> Section:
    return Section("惠民行动目标", "Targets", (), [Table(
        ("目标 Target", "已完成", "目标值", "单位", "责任部门", "完成率"), [
            (t.label, num(t.done), num(t.goal), t.unit, "、".join(t.responsible) or "—",
             pct(t.percent)) for t in report.targets
        ], bars=[t.percent for t in report.targets])])


def _talks(report: Report) -> Section:
    talks = report.talks
    if talks is None:
        return Section("谈心谈话", "Heart-to-heart talks", ["本方案未规定谈心谈话。"])
    return Section("谈心谈话", "Heart-to-heart talks", [
        f"领导班子 {talks.team} 人，应谈 {talks.required} 次（n(n-1)/2），"
        f"已记录 {talks.recorded} 次，双方确认 {talks.confirmed} 次；完成时限 {day(talks.due)}。",
        *(f"未完成：{o}" for o in talks.outstanding),
    ])


def _events(report: Report) -> Section:
    flagged = [f"{e.label} 记录 #{f.id}（{f.held_on}{'，' + f.person if f.person else ''}）"
               "不计入：" + "；".join(f.flags) for e in report.events for f in e.flagged]
    return Section("规定动作", "Required events", flagged, [Table(
        ("规定动作 Event", "要求", "已记录", "有效", "已达", "状态"), [
            (e.label, f"每名{role_label(e.per)}各 1 次" if e.per else f"至少 {e.required} 次",
             str(e.records), str(e.valid), f"{e.met}/{e.required}",
             "✓ 已达标" if e.satisfied else "✗ 未达标") for e in report.events
        ], marks=["ok" if e.satisfied else "bad" for e in report.events])])


# -- text, JSON, Markdown -------------------------------------------------------------------


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def render_table(report: Report, width: int = 120) -> str:
    """The report as text ``width`` cells wide (the CLI passes the terminal's)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    out = StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False, emoji=False)
    console.rule(Text(f"{report.plan.title}  进展情况报告"), characters="=")
    console.print(report.plan.title_en, markup=False)
    for section in sections(report):
        console.print()
        console.rule(f"{section.title}  {section.title_en}", align="left")
        for line in section.lines:
            console.print(line, markup=False)
        for table in section.tables:
            grid = RichTable(box=box.SIMPLE_HEAD, show_edge=False)
            rows = [[_id_below(cell) for cell in row] for row in table.rows]
            for index, header in enumerate(table.headers):
                grid.add_column(header, overflow="fold",
                                min_width=_longest_token([row[index] for row in rows]))
            for row in rows:
                grid.add_row(*(escape_markup(cell) for cell in row))
            console.print(grid)
    return out.getvalue()


# An id, a user id or a date is typed back or read as one: never split it.
_TOKEN = re.compile(r"[A-Za-z0-9_.:#-]+")
_LABELLED_ID = re.compile(r"（([A-Za-z0-9_.-]+)）")


def _id_below(cell: str) -> str:
    """``对照检查材料（self_review）`` as two lines, so the id keeps a line of its own."""
    return _LABELLED_ID.sub(lambda m: f"\n{m.group(1)}", cell)


def _longest_token(cells: list[str]) -> int:
    return min(24, max((len(t) for c in cells for t in _TOKEN.findall(c)), default=1))


def escape_markup(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def render_markdown(report: Report) -> str:
    out = [f"# {md(report.plan.title)} 进展情况报告", "", f"*{md(report.plan.title_en)}*", ""]
    for section in sections(report):
        out += [f"## {section.title} {section.title_en}", ""]
        out += [f"- {md(line)}" for line in section.lines]
        if section.lines:
            out.append("")
        for table in section.tables:
            out.append("| " + " | ".join(md(h) for h in table.headers) + " |")
            out.append("|" + "---|" * len(table.headers))
            out += ["| " + " | ".join(md(c) for c in row) + " |" for row in table.rows]
            out.append("")
    if report.plan.source:
        out.append(f"依据：{md(report.plan.source)}")
    return "\n".join(out).rstrip() + "\n"


def md(text: str) -> str:
    """One Markdown table cell or line: no breaks, pipes and markup escaped."""
    text = " ".join(text.split())
    for char in "\\|*_`[]<>":
        text = text.replace(char, "\\" + char)
    return text


# -- HTML -------------------------------------------------------------------------------------

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
    cur, done = report.current_phase, report.completion
    cards = [("总体完成率", pct(done.percent)),
             ("应交材料", f"{done.materials_complete}/{done.materials_required}"),
             ("逾期事项", str(done.overdue)), ("逾期完成", str(done.completed_late))]
    if done.forced_phases:
        cards.append(("强制推进", f"{done.forced_phases} 个阶段"))
    cards.append(("当前阶段", cur.label))
    body = [f'<header><h1>{escape(report.plan.title)} 进展情况报告</h1>',
            f"<p>{escape(report.plan.title_en)} · 报告日期 {report.today.isoformat()}</p>",
            "</header>", '<div class="cards">']
    body += [f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards]
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
