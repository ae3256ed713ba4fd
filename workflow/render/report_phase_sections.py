"""The report's opening sections: where the campaign stands (the current
phase, its gate, the completion headline) and how each phase went, a phase
left by force saying by whom, when, why and what it lacked."""

from __future__ import annotations

from workflow.render.report_layout import Section, Table, day, pct, person
from workflow.render.report_model import PhaseRow, Report

STATUS = {"done": "已完成", "forced": "强制推进", "current": "进行中", "upcoming": "未开始",
          "closed": "已结束"}


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


def window_line(report: Report) -> str | None:
    """The campaign's own span for the report's header, with where it comes
    from; None when the plan gives none."""
    window = report.plan.window
    if window is None:
        return None
    return (f"活动起止：{window.start.isoformat()} 至 {window.end.isoformat()}"
            f"（{window.provenance}）")


def overview(report: Report) -> Section:
    cur = report.current_phase
    where = f"{cur.parent_label} › {cur.label}" if cur.parent_label else cur.label
    timing = ("活动已结束" if cur.final
              else f"剩余 {cur.days_left} 天" if cur.days_left is not None
              else f"已超过结束日期 {cur.days_past_end} 天")
    gate = Table(("出口条件 Gate", "状态", "依据 Source", "缺项 Missing", "记录问题 Flagged"), [
        (c.label, "✓ 已满足" if c.satisfied else "✗ 未满足", c.provenance or "—",
         "；".join(c.missing) or "—", "；".join(c.flagged) or "—") for c in report.gate
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


def phases(report: Report) -> Section:
    # A forced phase counts the event and talk entries it lacked when forced
    # (see report_model.Completion), hence "完成/应交" rather than materials only.
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
