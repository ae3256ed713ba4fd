"""Publicity (公示): objections during the window, and closing windows that ended."""

from __future__ import annotations

from datetime import datetime

import click

from workflow.cli.common import (
    ID,
    Env,
    emit_json,
    ident,
    json_option,
    pass_env,
    table,
    views_json,
    words,
)

date_type = click.DateTime(["%Y-%m-%d"])


@click.command("object")
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--reason", required=True, help="What is wrong (it is recorded as an opinion).")
@click.option("--today", type=date_type, metavar="YYYY-MM-DD",
              help="Only today (in the campaign's time zone) is accepted: an objection is "
              "made on the day it is made.")
@json_option
@pass_env
def object_(env: Env, deliverable_id: int, reason: str, today: datetime | None,
            as_json: bool) -> None:
    """Object during publicity: the deliverable goes back to review with your reason."""
    actor = env.actor
    if today is not None:
        env.campaign.store.require_today(today.date())
    event = env.campaign.moves.object_to(actor, deliverable_id, reason)
    if as_json:
        emit_json(event.to_json())
    else:
        click.echo(f"#{deliverable_id} objection recorded: {event.source} → {event.dest} "
                   f"(event {event.seq})")


@click.command()
@click.option("--today", type=date_type, metavar="YYYY-MM-DD",
              help="Close windows that ended before this day (default: today; never a "
              "later day).")
@json_option
@pass_env
def tick(env: Env, today: datetime | None, as_json: bool) -> None:
    """Close the publicity windows that have ended without objection (run daily)."""
    events = env.campaign.moves.tick(env.actor, today=today.date() if today else None)
    if as_json:
        emit_json(views_json(events))
        return
    if not events:
        click.echo("no publicity window has ended")
        return
    table("Publicity ended", [ident("#"), words("move"), ident("event"), "note"], (
        (e.deliverable_id, f"{e.source} → {e.dest}", e.seq, e.comment) for e in events))


COMMANDS = (object_, tick)
