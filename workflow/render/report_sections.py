"""The report's sections in order: the phase sections, then deliverables,
overdue, completed late, targets, talks and required events."""

from __future__ import annotations

from collections.abc import Sequence

from workflow.render.event_rules import facts_phrases
from workflow.render.labels import role_label
from workflow.render.report_layout import Section, Table, day, num, pct, person
from workflow.render.report_model import FlaggedRecord, Report
from workflow.render.report_phase_sections import overview, phases
from workflow.services.lateness import LateCompletion, OverdueItem


def sections(report: Report) -> list[Section]:
    return [overview(report), phases(report), _deliverables(report), _overdue(report),
            _completed_late(report), _targets(report), _talks(report), _events(report)]


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
               "不计入：" + "；".join(f.flags) + _record_facts(f)
               for e in report.events for f in e.flagged]
    return Section("规定动作", "Required events", flagged, [Table(
        ("规定动作 Event", "要求", "规则 Rules", "依据 Source", "已记录", "有效", "已达",
         "状态"), [
            (e.label, f"每名{role_label(e.per)}各 1 次" if e.per else f"至少 {e.required} 次",
             "；".join(e.rules) or "—", e.provenance or "—",
             str(e.records), str(e.valid), f"{e.met}/{e.required}",
             "✓ 已达标" if e.satisfied else "✗ 未达标") for e in report.events
        ], marks=["ok" if e.satisfied else "bad" for e in report.events])])


def _record_facts(record: FlaggedRecord) -> str:
    """What the record states (invited, opened by, covered, short), after its flags."""
    facts = facts_phrases(record.invited, record.opened_by, record.covered, record.short)
    return f"（记录所载：{'；'.join(facts)}）" if facts else ""
