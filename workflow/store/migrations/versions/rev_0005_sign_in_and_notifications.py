"""Signing in and telling people: passwords, sessions, throttling, e-mail.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

- ``credential``: a user's Argon2 password hash, sealed like a role;
- ``user_contact``: a user's e-mail address, sealed;
- ``web_session``: signed-in browsers (the sha256 of each cookie's token);
- ``signin_failure``: failed sign-ins, counted per account and per address;
- ``server_secret``: the key cookies are signed with, one per database, so
  every worker of a server shares it;
- ``notification``: the outbox of e-mails, derived after commit from the
  audit log, one row per (event, recipient, kind);
- ``notify_cursor``: how far the notifier has read each audit chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


#: 64-bit on a server, as the log's positions; SQLite's INTEGER already is.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user(name: str = "user_id", *, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), sa.ForeignKey("app_user.id"), nullable=False,
                     primary_key=primary_key)


def upgrade() -> None:
    op.create_table(
        "credential",
        _user(primary_key=True),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.Column("set_at", sa.String(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
    )
    op.create_table(
        "user_contact",
        _user(primary_key=True),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("set_at", sa.String(), nullable=False),
    )
    op.create_table(
        "web_session",
        sa.Column("token_sha256", sa.String(), primary_key=True),
        _user(),
        sa.Column("csrf", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("expires_at", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("ended_at", sa.String(), nullable=True),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_table(
        "signin_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
    )
    op.create_index("ix_signin_failure_account_at", "signin_failure", ["account", "at"])
    op.create_index("ix_signin_failure_address_at", "signin_failure", ["address", "at"])
    op.create_table(
        "server_secret",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
    )
    op.create_table(
        "notification",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("event_seq", _ID, nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        _user("recipient_id"),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("deliverable_id", _ID, sa.ForeignKey("deliverable.id"), nullable=True),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", sa.String(), nullable=True),
        sa.Column("sent_at", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
    )
    op.create_index("ux_notification_event", "notification",
                    ["event_seq", "recipient_id", "kind"], unique=True)
    op.create_index("ix_notification_unsent", "notification", ["sent_at", "id"])
    op.create_table(
        "notify_cursor",
        sa.Column("chain", sa.String(), primary_key=True),
        sa.Column("chain_seq", _ID, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_cursor")
    op.drop_index("ix_notification_unsent", "notification")
    op.drop_index("ux_notification_event", "notification")
    op.drop_table("notification")
    op.drop_table("server_secret")
    op.drop_index("ix_signin_failure_address_at", "signin_failure")
    op.drop_index("ix_signin_failure_account_at", "signin_failure")
    op.drop_table("signin_failure")
    op.drop_index("ix_web_session_user_id", "web_session")
    op.drop_table("web_session")
    op.drop_table("user_contact")
    op.drop_table("credential")
