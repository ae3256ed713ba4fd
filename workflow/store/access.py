"""The tables of signing in and of telling people: passwords, browser
sessions, failed sign-ins, the server's signing key, e-mail addresses and
the notification outbox (migration 0005).

A password and an e-mail address are sealed like a role (see
:mod:`workflow.store.seals`): whoever rewrites one in the database outside the
engine is found by ``audit verify``.  Sessions, failed sign-ins and the
outbox are working state: the sign-ins and sign-outs themselves are audited
events.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer
from sqlmodel import Field, SQLModel

#: The outbox's ids and the log positions it keeps: 64-bit on a server, as the
#: audit log's are (SQLite's INTEGER is, and a primary key must stay INTEGER
#: there to number itself).
_ID = BigInteger().with_variant(Integer(), "sqlite")


class Credential(SQLModel, table=True):
    """A user's password, as an Argon2 hash (never the password)."""

    user_id: str = Field(foreign_key="app_user.id", primary_key=True)
    password_hash: str
    #: Set by the office for someone else: a temporary password, changed at first sign-in.
    must_change: bool = False
    set_at: str
    set_by: str


class UserContact(SQLModel, table=True):
    """Where a user's notifications go."""

    __tablename__ = "user_contact"

    user_id: str = Field(foreign_key="app_user.id", primary_key=True)
    email: str
    set_at: str


class WebSession(SQLModel, table=True):
    """A signed-in browser.  The cookie carries a random token; only its
    sha256 is kept, so the table cannot be replayed into a cookie."""

    __tablename__ = "web_session"

    token_sha256: str = Field(primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", index=True)
    #: The token every form of this session carries (CSRF).
    csrf: str
    created_at: str
    expires_at: str
    address: str
    ended_at: str | None = None


class SigninFailure(SQLModel, table=True):
    """A failed sign-in, counted per account and per address to throttle guessing."""

    __tablename__ = "signin_failure"
    __table_args__ = (
        Index("ix_signin_failure_account_at", "account", "at"),
        Index("ix_signin_failure_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: str
    account: str
    address: str


class ServerSecret(SQLModel, table=True):
    """The key cookies are signed with, shared by every worker of one database."""

    __tablename__ = "server_secret"

    name: str = Field(primary_key=True)
    value: str
    created_at: str


class Notification(SQLModel, table=True):
    """An e-mail to send (the outbox).  Rows are derived after commit from the
    audit log (:mod:`workflow.services.notifications`), so a rolled-back move
    mails nobody and a move pays nothing for them; one row per (audit event,
    recipient, kind), so two notifiers can never queue the same mail twice."""

    __table_args__ = (
        Index("ux_notification_event", "event_seq", "recipient_id", "kind", unique=True),
        Index("ix_notification_unsent", "sent_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_ID)
    #: The audit event it tells of (``audit_event.seq``).
    event_seq: int = Field(sa_type=_ID)
    created_at: str
    #: ``inbox``, ``publicity.open`` or ``publicity.close``.
    kind: str
    recipient_id: str = Field(foreign_key="app_user.id")
    #: The address as it was when the mail was queued.
    address: str
    deliverable_id: int | None = Field(default=None, foreign_key="deliverable.id",
                                       sa_type=_ID)
    subject: str
    body: str
    #: The sender that holds it while it sends, and since when (a crashed
    #: sender's claim lapses, and the row is sent again).
    claimed_by: str | None = None
    claimed_at: str | None = None
    sent_at: str | None = None
    attempts: int = 0
    #: When a failed mail may be tried again (it backs off); NULL: at once.
    retry_at: str | None = None
    last_error: str | None = None


class NotifyCursor(SQLModel, table=True):
    """How far the notifier has read each audit chain: chains have gapless
    places and commit in order, while ``seq`` may commit out of order on a
    server, so progress is kept per chain."""

    __tablename__ = "notify_cursor"

    chain: str = Field(primary_key=True)
    chain_seq: int = Field(sa_type=_ID)
