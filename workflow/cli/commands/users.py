"""The people taking part: add, list, grant and revoke roles, deactivate.

Every change but ``list`` is the campaign office's, and audited.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from workflow.cli.common import (
    Env,
    emit,
    emit_json,
    escape_controls,
    fields,
    format_option,
    ident,
    json_option,
    pass_env,
    table,
    words,
)

if TYPE_CHECKING:
    from workflow.store.views import UserView

ROLE_HELP = "member, leader, principal, office, supervisor or branch"


@click.group()
def users() -> None:
    """Manage the people taking part (the campaign office)."""


@users.command("add")
@click.argument("user_id", metavar="ID")
@click.option("--name", required=True, help="Full name, as it appears in reports.")
@click.option("--role", "roles", multiple=True, required=True,
              help=f"{ROLE_HELP} (repeatable).")
@click.option("--unit", help="Department or branch.")
@json_option
@pass_env
def users_add(env: Env, user_id: str, name: str, roles: tuple[str, ...], unit: str | None,
              as_json: bool) -> None:
    """Add a user (by the campaign office; the first user adds themselves)."""
    # No env.actor: on an empty database the first user adds themselves without --as.
    view = env.campaign.people.add_user(env.user, user_id, name, roles, unit)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(escape_controls(f"added {view.id} ({view.name}) as {', '.join(view.roles)}"))


@users.command("list")
@format_option()
@pass_env
def users_list(env: Env, fmt: str) -> None:
    """Everyone, with roles, unit and whether they may still act."""
    from workflow.store.views import UserView

    people = env.campaign.reads.users()
    emit(fmt, people, lambda: table(
        "Users", [ident("id"), "name", words("roles"), "unit", ident("active")],
        ((u.id, u.name, ", ".join(u.roles), u.unit, "yes" if u.active else "no")
         for u in people)), header=fields(UserView))


@users.command("grant", help=f"Give a user another role ({ROLE_HELP}).")
@click.argument("user_id", metavar="ID")
@click.argument("role", metavar="ROLE")
@json_option
@pass_env
def users_grant(env: Env, user_id: str, role: str, as_json: bool) -> None:
    _changed(env.campaign.people.grant_role(env.actor, user_id, role), as_json)


@users.command("revoke")
@click.argument("user_id", metavar="ID")
@click.argument("role", metavar="ROLE")
@json_option
@pass_env
def users_revoke(env: Env, user_id: str, role: str, as_json: bool) -> None:
    """Take a role from a user (they keep at least one)."""
    _changed(env.campaign.people.revoke_role(env.actor, user_id, role), as_json)


@users.command("deactivate")
@click.argument("user_id", metavar="ID")
@json_option
@pass_env
def users_deactivate(env: Env, user_id: str, as_json: bool) -> None:
    """Stop a user from acting; their history stays."""
    _changed(env.campaign.people.deactivate_user(env.actor, user_id), as_json)


@users.command("passwd")
@click.argument("user_id", metavar="ID")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (for scripts) instead of asking.")
@pass_env
def users_passwd(env: Env, user_id: str, password_stdin: bool) -> None:
    """Set a password for signing in to `campaign serve` (your own, or, by the office,
    a temporary one the user must change at first sign-in)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True,
                                err=True)
    temporary = env.campaign.accounts.set_password(env.actor, user_id, password)
    note = " (temporary: to be changed at the first sign-in)" if temporary else ""
    click.echo(escape_controls(f"password set for {user_id}{note}"))


@users.command("email")
@click.argument("user_id", metavar="ID")
@click.argument("address", metavar="ADDRESS")
@pass_env
def users_email(env: Env, user_id: str, address: str) -> None:
    """Set where a user's notifications go (themselves, or the office)."""
    env.campaign.accounts.set_email(env.actor, user_id, address)
    click.echo(escape_controls(f"e-mail address of {user_id} set"))


def _changed(view: UserView, as_json: bool) -> None:
    if as_json:
        emit_json(view.to_json())
        return
    state = "" if view.active else " (deactivated)"
    click.echo(escape_controls(f"{view.id} ({view.name}): {', '.join(view.roles)}{state}"))


COMMANDS = (users,)
