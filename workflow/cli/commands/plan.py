"""Commands that run the campaign itself: start, phases, events, talks, targets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from workflow.cli.common import (
    FINITE,
    ID,
    Env,
    as_date,
    csv_text,
    echo_text,
    emit,
    emit_json,
    emit_text,
    escape_controls,
    fields,
    format_option,
    ident,
    json_option,
    json_safe,
    pass_env,
    plural,
    table,
    terminal_width,
    words,
)

date_type = click.DateTime(["%Y-%m-%d"])


@click.command()
@click.argument("plan_name", metavar="PLAN")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="People, roles and units: CSV (id,name,roles,unit) or YAML.")
@pass_env
def start(env: Env, plan_name: str, roster: Path) -> None:
    """Start a campaign from PLAN (a plan file, or a shipped plan's name such as
    mianyang-2014): load it and the roster, create every required deliverable."""
    from rich.progress import Progress

    from workflow.spec.loader import find_plan
    from workflow.spec.roster import read_roster

    actor = env.actor  # who starts it: a usage error before any file is read
    plan = find_plan(plan_name)
    people = read_roster(roster)
    env.campaign.deliverables.init(actor=actor)
    total = len(people) + plan.spec.required_count([p.roles for p in people])
    with Progress(transient=True) as bar:
        task = bar.add_task("starting the campaign", total=total)
        created = env.campaign.plan.start(actor, plan, people,
                                     progress=lambda _: bar.advance(task))
    click.echo(f"started {escape_controls(plan.spec.id)}: "
               f"{plural(len(people), 'person', 'people')}, "
               f"{plural(len(created), 'required deliverable')}; "
               f"phase {env.campaign.plan.phase(plan.spec.id)}")


# -- phases ----------------------------------------------------------------------------


@click.group()
def phase() -> None:
    """The campaign's phases and their gates."""


@phase.command("status")
@click.option("--today", type=date_type, metavar="YYYY-MM-DD",
              help="Judge dates against this day instead of the campaign's clock.")
@format_option()
@pass_env
def phase_status(env: Env, today: datetime | None, fmt: str) -> None:
    """Current phase, its dates, and the gate checklist with what is missing.

    CSV: one row per gate item.
    """
    from workflow.render.gate_lines import status_gate

    campaign = env.campaign
    plan, current = campaign.plan.spec(env.plan_id), campaign.plan.phase(env.plan_id)
    spec = plan.leaf(current)
    gate = status_gate(campaign.plan.gate(env.plan_id))
    day = as_date(today, env)
    window = plan.window
    document = {
        "plan": plan.id, "phase": current, "label": spec.label, "label_en": spec.label_en,
        "start": spec.start, "end": spec.end, "today": day,
        "days_left": (spec.end - day).days if spec.end else None,
        "paragraph": spec.paragraph, "from_plan": spec.from_plan,
        "window": {"start": window.start, "end": window.end, "provenance": window.provenance}
        if window else None,
        "gate": gate,
    }
    emit(fmt, document, lambda: _print_status(document, plan.title), rows=gate,
         header=["label", "satisfied", "missing", "flagged", "paragraph", "from_plan",
                 "provenance"])


def _print_status(status: dict[str, Any], title: str) -> None:
    from workflow.render.gate_lines import gate_line_text

    safe = escape_controls
    click.echo(safe(title))
    if status["window"]:
        window = status["window"]
        click.echo(f"活动起止 {window['start']} – {window['end']}〔{safe(window['provenance'])}〕")
    click.echo(f"当前阶段 {safe(status['label'])} ({safe(status['label_en'])}) "
               f"[{safe(status['phase'])}]")
    if status["start"] and status["end"]:
        left = status["days_left"]
        due = (f"{plural(left, 'day')} left" if left >= 0
               else f"{plural(-left, 'day')} past its end")
        click.echo(f"  {status['start']} – {status['end']}; {due} (today {status['today']})")
    for check in status["gate"]:
        click.echo(f"  [{'x' if check['satisfied'] else ' '}] {safe(gate_line_text(check))}")
        for line in check["missing"]:
            click.echo(f"        missing: {safe(line)}")
        for line in check["flagged"]:
            click.echo(f"        flagged: {safe(line)}")
    if not status["gate"]:
        click.echo("  (no gate: this phase can be left at any time)")


@phase.command("advance")
@click.option("--force", is_flag=True, help="Leave the phase although its gate does not hold.")
@click.option("--reason", help="Why, for a forced advance (required with --force).")
@json_option
@pass_env
def phase_advance(env: Env, force: bool, reason: str | None, as_json: bool) -> None:
    """Move to the next phase (refused, listing what is missing, unless the gate holds)."""
    event = env.campaign.plan.advance(env.actor, force=force, reason=reason,
                                      plan_id=env.plan_id)
    if as_json:
        emit_json(event.to_json())
    else:
        how = "forced" if event.action == "phase.force" else "advanced"
        click.echo(f"{how}: {escape_controls(f'{event.source} → {event.dest}')} "
                   f"(event {event.seq})")


# -- events ---------------------------------------------------------------------------------


@click.group()
def events() -> None:
    """Meetings, study sessions and field research the plan requires."""


@events.command("record")
@click.argument("kind")
@click.option("--date", "held_on", type=date_type, required=True, metavar="YYYY-MM-DD",
              help="The day it was held.")
@click.option("--days", type=FINITE, default=0.5, show_default=True, help="Duration in days.")
@click.option("--person", metavar="USER", help="Whose it is (a leader's trip, a branch's meeting).")
@click.option("--theme", help="Theme of a discussion meeting.")
@click.option("--supervisors-invited", is_flag=True, help="The supervision group was invited.")
@click.option("--attendee", "attendees", multiple=True, metavar="USER", help="Repeatable.")
@click.option("--invited", multiple=True, metavar="PARTY",
              help="A party invited, e.g. 上级纪检机关 (repeatable).")
@click.option("--opened-by", metavar="USER", help="Who opened it or spoke first.")
@click.option("--covered", multiple=True, metavar="ITEM",
              help="An item the plan wants stated, e.g. 通报民主生活会情况 (repeatable).")
@click.option("--short", multiple=True, metavar="USER",
              help="Someone it found short, who needs a follow-up (repeatable).")
@click.option("--minutes", type=click.Path(path_type=Path, dir_okay=False),
              help="Minutes (text or markdown file).")
@json_option
@pass_env
def events_record(env: Env, kind: str, held_on: datetime, days: float, person: str | None,
                  theme: str | None, supervisors_invited: bool, attendees: tuple[str, ...],
                  invited: tuple[str, ...], opened_by: str | None, covered: tuple[str, ...],
                  short: tuple[str, ...], minutes: Path | None, as_json: bool) -> None:
    """Record an event; one that breaks its rule is kept but flagged."""
    from workflow.services.plan_records import EventFacts
    from workflow.spec.content import MAX_MINUTES_BYTES, read_content

    text = read_content(minutes, MAX_MINUTES_BYTES, "minutes").text if minutes else ""
    facts = EventFacts(invited=invited, opened_by=opened_by, covered=covered, short=short)
    record = env.campaign.records.event(
        env.actor, kind, held_on.date(), days=days, person=person, theme=theme,
        supervisors_invited=supervisors_invited, attendees=attendees, minutes=text,
        facts=facts, plan_id=env.plan_id)
    if as_json:
        emit_json(record.to_json())
        return
    click.echo(f"recorded {escape_controls(kind)} #{record.id} on {record.held_on}")
    for flag in record.flags:
        click.echo(f"  flagged: {escape_controls(flag)}")


@events.command("list")
@format_option()
@pass_env
def events_list(env: Env, fmt: str) -> None:
    """Every event record, with the rules it breaks."""
    from workflow.render.event_rules import record_facts
    from workflow.store.views import EventRecordView

    records = env.campaign.plan.event_records(env.plan_id)
    names = {u.id: u.name for u in env.campaign.reads.users()}

    def name(user_id: str) -> str:
        return names.get(user_id, user_id)

    emit(fmt, records, lambda: table("Events", [
        ident("id"), ident("kind"), words("date"), ident("person"), "theme", "facts", "flags"], (
        (r.id, r.kind, f"{r.held_on} ({r.days:g} d)", r.person, r.theme,
         "; ".join(record_facts(r, name)), "; ".join(r.flags))
        for r in records)), header=fields(EventRecordView))


# -- talks ---------------------------------------------------------------------------------


@click.group()
def talks() -> None:
    """Heart-to-heart talks of the leadership team (谈心谈话)."""


@talks.command("record")
@click.argument("first", metavar="USER")
@click.argument("second", metavar="USER")
@click.option("--date", "held_on", type=date_type, required=True, metavar="YYYY-MM-DD",
              help="The day the talk was held.")
@click.option("--notes", default="", help="Main points (谈心谈话主要内容).")
@json_option
@pass_env
def talks_record(env: Env, first: str, second: str, held_on: datetime, notes: str,
                 as_json: bool) -> None:
    """Record a talk between two team members (a party recording it confirms it)."""
    talk = env.campaign.records.talk(env.actor, first, second, held_on.date(), notes,
                                     plan_id=env.plan_id)
    if as_json:
        emit_json(talk.to_json())
    else:
        between = escape_controls(f"{talk.first}–{talk.second}")
        click.echo(f"recorded talk #{talk.id} {between} on {talk.held_on}")


@talks.command("confirm")
@click.argument("talk_id", metavar="ID", type=ID)
@json_option
@pass_env
def talks_confirm(env: Env, talk_id: int, as_json: bool) -> None:
    """Confirm a talk you took part in."""
    talk = env.campaign.records.confirm_talk(env.actor, talk_id)
    if as_json:
        emit_json(talk.to_json())
    else:
        state = "confirmed by both" if talk.confirmed else "awaiting the other party"
        click.echo(f"talk #{talk.id}: {state}")


@talks.command("list")
@format_option()
@pass_env
def talks_list(env: Env, fmt: str) -> None:
    """Talks recorded, and how many the plan requires (CSV: one row per talk)."""
    from workflow.services.gates import required_pairs
    from workflow.store.views import TalkView

    records = env.campaign.plan.talks(env.plan_id)
    required = len(required_pairs(env.campaign.reads.users()))
    confirmed = sum(1 for t in records if t.confirmed)
    emit(fmt, {"required": required, "talks": records}, lambda: table(
        f"Talks: {len(records)} recorded, {confirmed} confirmed, {required} required",
        [ident("id"), words("between"), ident("date"), ident("confirmed")],
        ((t.id, f"{t.first} – {t.second}", t.held_on, "both" if t.confirmed else "pending")
         for t in records)), rows=[t.to_json() for t in records], header=fields(TalkView))


# -- targets ---------------------------------------------------------------------------------


@click.group()
def targets() -> None:
    """The plan's targets (十大惠民行动, 四有四增强) and audited progress."""


@targets.command("list")
@format_option()
@pass_env
def targets_list(env: Env, fmt: str) -> None:
    """Targets against their goals."""
    from workflow.store.views import TargetView

    rows = env.campaign.plan.targets(env.plan_id)
    emit(fmt, [{**t.to_json(), "percent": t.percent} for t in rows], lambda: table(
        "Targets", [ident("id"), "target", words("done"), words("goal"), ident("%"),
                    "responsible"],
        ((t.id, t.label, f"{t.done:g} {t.unit}", f"{t.goal:g} {t.unit}", f"{t.percent:g}",
          "、".join(t.responsible)) for t in rows)), header=fields(TargetView, "percent"))


@targets.command("record", context_settings={"ignore_unknown_options": True})
@click.argument("target_id", metavar="ID")
@click.argument("amount", type=FINITE)
@click.option("--note", required=True, help="Where the figure comes from.")
@json_option
@pass_env
def targets_record(env: Env, target_id: str, amount: float, note: str, as_json: bool) -> None:
    """Add progress (an audited entry; totals are never edited)."""
    target = env.campaign.records.target(env.actor, target_id, amount, note,
                                         plan_id=env.plan_id)
    if as_json:
        emit_json({**target.to_json(), "percent": target.percent})
    else:
        click.echo(f"{escape_controls(target.label)}: {target.done:g} of {target.goal:g} "
                   f"{escape_controls(target.unit)} ({target.percent:g}%)")


# -- report ---------------------------------------------------------------------------------


@click.command()
@format_option("markdown", "html")
@click.option("--today", type=date_type, metavar="YYYY-MM-DD",
              help="Judge overdue items against this day instead of the campaign's clock.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of stdout.")
@pass_env
def report(env: Env, fmt: str, today: datetime | None, out: Path | None) -> None:
    """Progress by phase, type, state and unit; overdue items; targets; completion.

    table fits the terminal; markdown and html are documents to keep; CSV is
    every table of the report in one long table (section, table, row, column,
    value), for a spreadsheet to pivot.
    """
    from workflow.files import write_atomically
    from workflow.render.report_build import build_report
    from workflow.render.report_formats import render
    from workflow.render.report_text import render_table

    built = build_report(env.campaign, as_date(today, env), env.plan_id)
    if fmt == "csv":
        text = csv_text(_report_rows(built), REPORT_CSV_HEADER)
    elif fmt == "table" and out is None:
        text = render_table(built, width=terminal_width())
    else:
        text = render(built, fmt)
    if out is None:
        if fmt == "json":
            click.echo(json_safe(text))
        elif fmt == "csv":
            emit_text(text)
        else:
            echo_text(text, nl=not text.endswith("\n"))
        return
    write_atomically(out, text.encode("utf-8"))
    click.echo(f"wrote {out}")


REPORT_CSV_HEADER = ("section", "table", "row", "column", "value")


def _report_rows(built: Any) -> Iterator[dict[str, Any]]:
    """The report's lines (table 0) and tables, one cell per row."""
    from workflow.render.report_sections import sections

    for section in sections(built):
        name = f"{section.title} {section.title_en}"
        for number, line in enumerate(section.lines, 1):
            yield dict(zip(REPORT_CSV_HEADER, (name, 0, number, "", line), strict=True))
        for index, grid in enumerate(section.tables, 1):
            for number, cells in enumerate(grid.rows, 1):
                for header, value in zip(grid.headers, cells, strict=False):
                    yield dict(zip(REPORT_CSV_HEADER, (name, index, number, header, value),
                                   strict=True))


COMMANDS = (start, phase, events, talks, targets, report)
