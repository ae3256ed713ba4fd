"""E-mail notifications: queue what the audit log says since the last run, send it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from workflow.cli.common import FINITE, Env, json_option, pass_env
from workflow.errors import DatabaseUnavailable, NotifierStopped

if TYPE_CHECKING:
    from workflow.services.notifications import Summary


@click.command("notify")
@click.option("--once", is_flag=True, help="One run, then exit (for cron).")
@click.option("--interval", type=FINITE, default=60.0, show_default=True, metavar="SECONDS",
              help="Seconds between runs when not --once.")
@json_option
@pass_env
def notify(env: Env, once: bool, interval: float, as_json: bool) -> None:
    """Send e-mail notifications through CAMPAIGN_SMTP_HOST (inbox, publicity opened or
    closed)."""
    from workflow.services.notifications import require_settings

    if interval <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    settings = require_settings()  # off (exit 7) before the database is even opened
    notifications = env.campaign.notifications
    if once:
        _say(notifications.run_once(settings), as_json, quiet_if_idle=False)
        return
    click.echo(f"sending notifications through {settings.host}:{settings.port} every "
               f"{interval:g} s (Ctrl-C stops)", err=True)
    try:
        while True:
            try:
                _say(notifications.run_once(settings), as_json, quiet_if_idle=True)
            except DatabaseUnavailable as error:  # busy or down for now: the next run retries
                click.echo(f"campaign: {error}; trying again in {interval:g} s", err=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        raise NotifierStopped() from None


def _say(summary: Summary, as_json: bool, *, quiet_if_idle: bool) -> None:
    if quiet_if_idle and summary == type(summary)():
        return
    if as_json:  # one line per run: a stream of runs is JSON lines
        import json

        click.echo(json.dumps(summary.to_json()))
        return
    skipped = (f", {summary.no_address} concerned without an e-mail address"
               if summary.no_address else "")
    click.echo(f"queued {summary.queued}, sent {summary.sent}, failed {summary.failed}"
               f"{skipped}")


COMMANDS = (notify,)
