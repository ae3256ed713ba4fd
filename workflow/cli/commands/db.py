"""The database's schema: its revision, and the upgrade to this build's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from workflow.cli.common import Env, emit, emit_json, format_option, json_option, pass_env, plain

if TYPE_CHECKING:
    from workflow.services.schema_admin import SchemaStatus


@click.group("db")
def db() -> None:
    """The database's schema: its revision, and the upgrade to this build's."""


@db.command("status")
@format_option()
@pass_env
def db_status(env: Env, fmt: str) -> None:
    """The database's schema revision, this build's head, and whether an upgrade is pending."""
    status = env.campaign.schema.status()
    emit(fmt, status, lambda: click.echo(_lines(status)))


@db.command("upgrade")
@json_option
@pass_env
def db_upgrade(env: Env, as_json: bool) -> None:
    """Upgrade the schema to this build's head in one transaction (not an audited act:
    it records nothing in the audit log)."""
    before, after = env.campaign.schema.upgrade()
    if as_json:
        emit_json({"before": plain(before), "after": plain(after)})
    elif not before.upgrade_needed:
        click.echo(f"already at revision {after.current} (head); nothing to do")
    elif not before.pending:
        click.echo(f"stamped revision {after.current}: made before migrations, it already "
                   "held that schema")
    else:
        click.echo(f"upgraded from revision {before.current} to {after.current} "
                   f"({', '.join(before.pending)})")


def _lines(status: SchemaStatus) -> str:
    current = status.current or "none (no campaign database yet: run `campaign init`)"
    if status.current is not None and not status.stamped:
        current += " (made before migrations: `campaign db upgrade` stamps it)"
    pending = ", ".join(status.pending) or "none"
    verdict = ("pending: run `campaign db upgrade`" if status.upgrade_needed
               else "up to date" if status.current else "none: `campaign init` creates it")
    return (f"current revision: {current}\nhead revision:    {status.head}\n"
            f"pending:          {pending}\nupgrade:          {verdict}")


COMMANDS = (db,)
