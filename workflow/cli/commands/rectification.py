"""Rectification items (整改事项): their five fields, progress notes, the office's rating."""

from __future__ import annotations

from datetime import datetime

import click

from workflow.cli.common import (
    ID,
    Env,
    emit,
    emit_json,
    escape_controls,
    format_option,
    json_option,
    pass_env,
    when,
)

date_type = click.DateTime(["%Y-%m-%d"])


@click.group()
def rectification() -> None:
    """Rectification items: the five fields, progress, and the assessment of the effect."""


@rectification.command("set")
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--matter", required=True, help="整改事项: what is to be rectified.")
@click.option("--measures", required=True, help="整改措施: how.")
@click.option("--responsible", required=True, metavar="USER",
              help="整改责任人: who answers for it.")
@click.option("--deadline", type=date_type, required=True, metavar="YYYY-MM-DD",
              help="整改时限 (also becomes the item's due date).")
@click.option("--effect", required=True, help="整改效果: the effect to be reached.")
@json_option
@pass_env
def rectification_set(env: Env, deliverable_id: int, matter: str, measures: str,
                      responsible: str, deadline: datetime, effect: str, as_json: bool) -> None:
    """Set (or replace) the five fields of a draft rectification item (owner or office)."""
    view = env.campaign.rectification.set(
        env.actor, deliverable_id, matter=matter, measures=measures, responsible=responsible,
        deadline=deadline.date(), effect=effect)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(f"#{deliverable_id} rectification fields set: "
                   f"{escape_controls(view.responsible)} by {view.deadline}")


@rectification.command("note")
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--text", required=True, help="What has been done (整改进展).")
@json_option
@pass_env
def rectification_note(env: Env, deliverable_id: int, text: str, as_json: bool) -> None:
    """Add a progress note (in progress; the responsible person or the owner)."""
    event = env.campaign.rectification.note(env.actor, deliverable_id, text)
    if as_json:
        emit_json(event.to_json())
    else:
        click.echo(f"#{deliverable_id} progress noted (event {event.seq})")


@rectification.command("verify")
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--rating", required=True, metavar="R",
              help="The effect: 好, 较好, 一般 or 差 (good, fairly_good, fair, poor); "
                   "差 cannot verify — reopen instead.")
@click.option("--comment", help="The assessment (e.g. the satisfaction survey's result).")
@click.option("--if-version", "expected_version", type=ID, metavar="N",
              help="Refuse (exit 5) unless the item is still at version N.")
@json_option
@pass_env
def rectification_verify(env: Env, deliverable_id: int, rating: str, comment: str | None,
                         expected_version: int | None, as_json: bool) -> None:
    """Confirm the effect with a rating (campaign office): verification → done."""
    event = env.campaign.rectification.verify(env.actor, deliverable_id, rating, comment,
                                     expected_version=expected_version)
    if as_json:
        emit_json(event.to_json())
    else:
        rated = env.campaign.rectification.get(deliverable_id).rating
        move = escape_controls(f"rated {rated}: {event.source} → {event.dest}")
        click.echo(f"#{deliverable_id} verified, {move} (event {event.seq})")


def say(line: str) -> None:
    """Print a line quoting stored text: escaped whole, newlines included, so a
    field can neither drive the terminal nor forge another line."""
    click.echo(escape_controls(line))


@rectification.command("show")
@click.argument("deliverable_id", metavar="ID", type=ID)
@format_option()
@pass_env
def rectification_show(env: Env, deliverable_id: int, fmt: str) -> None:
    """The five fields, the rating and the progress notes."""
    view = env.campaign.rectification.get(deliverable_id)
    notes = env.campaign.rectification.notes(deliverable_id)

    def show() -> None:
        item = env.campaign.reads.get(deliverable_id)
        say(f"#{item.id} {item.title} [{item.state} {item.state_label}]")
        for label, value in (("整改事项 matter", view.matter),
                             ("整改措施 measures", view.measures),
                             ("整改责任人 responsible", view.responsible),
                             ("整改时限 deadline", view.deadline),
                             ("整改效果 effect", view.effect)):
            say(f"  {label}: {value}")
        if view.rating:
            say(f"  测评 rating: {view.rating} (by {view.rated_by} at {when(view.rated_at)})")
        for note in notes:
            say(f"  - {when(note.at)} {note.author}: {note.text}")

    emit(fmt, {**view.to_json(), "progress_notes": [n.to_json() for n in notes]}, show)


COMMANDS = (rectification,)
