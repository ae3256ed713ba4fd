"""Signing in: passwords, e-mail addresses, browser sessions, throttling.

Authentication sits in front of the rules, never beside them: a signed-in
user acts through the same services as ``--as`` on the command line, so the
served interface cannot do anything the engine would refuse.

- A password is set by its owner, or by the campaign office (then it is
  temporary and must be changed at the first sign-in).  Each change is an
  audited event sealing the Argon2 hash, so a hash rewritten in the database
  is found by ``audit verify``.
- A sign-in is checked against the hash outside any transaction (Argon2 is
  slow on purpose and must not hold the write lock); success opens a session
  (audited ``session.start``), failure is counted per account and per
  address and noted in the refusal log.  Every failure gives the same
  message and costs the same time, so nobody learns which accounts exist.
- The browser's cookie carries a random token; the database keeps only its
  sha256, with the session's CSRF token and its expiry.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from workflow.errors import InvalidInput, NotFound, SignInRefused, SignInThrottled
from workflow.machine import policy
from workflow.services import passwords
from workflow.services.reads import roles_of
from workflow.spec.definition import USER_ID_MAX, Role
from workflow.store import audit, seals
from workflow.store.access import (
    Credential,
    ServerSecret,
    SigninFailure,
    UserContact,
    WebSession,
)
from workflow.store.clock import seconds_until, timestamp
from workflow.store.models import User
from workflow.store.store import Store

#: An e-mail address as a person types it: one @, a dotted domain, no spaces
#: or the characters that would split a list of addresses.
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass(frozen=True)
class Limits:
    """How long a session lasts, and how many failures a window allows."""

    session: timedelta = timedelta(hours=8)
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20


@dataclass(frozen=True)
class SignedIn:
    """What a new session's cookie and forms need; ``token`` is shown only here."""

    token: str
    user_id: str
    csrf: str
    expires_at: str
    must_change: bool


@dataclass(frozen=True)
class SessionView:
    user_id: str
    name: str
    roles: tuple[str, ...]
    csrf: str
    expires_at: str
    must_change: bool


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    def __init__(self, store: Store, limits: Limits | None = None,
                 hashing: passwords.Passwords | None = None) -> None:
        self._store = store
        self.limits = limits or Limits()
        self.hashing = hashing or passwords.Passwords()

    # -- passwords and addresses ------------------------------------------------------

    def set_password(self, actor: str | None, user_id: str, password: str) -> bool:
        """Set ``user_id``'s password: by themselves, or by the campaign office
        (then temporary).  Returns whether it must be changed at sign-in."""
        passwords.check_new(user_id, password)
        hashed = self.hashing.hash(password)  # before the lock: it takes a while
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            self._self_or_office(who, user_id)
            self._active(session, user_id)
            temporary = who.id != user_id
            self._write_credential(session, who, user_id, hashed, temporary)
        return temporary

    def change_password(self, user_id: str, current: str, new: str) -> None:
        """A signed-in user replaces their password, proving the current one."""
        passwords.check_new(user_id, new)
        if current == new:
            raise InvalidInput("the new password is the same as the current one")
        with self._store.read() as session:
            row = session.get(Credential, user_id)
            stored = row.password_hash if row else None
        if not self.hashing.matches(stored, current):
            raise SignInRefused(user_id, "the current password is wrong")
        hashed = self.hashing.hash(new)
        with self._store.writing() as session:
            who = self._store.actor(session, user_id)
            self._write_credential(session, who, user_id, hashed, temporary=False)

    def set_email(self, actor: str | None, user_id: str, email: str) -> None:
        """Where ``user_id``'s notifications go (themselves or the office)."""
        email = email.strip()
        if not EMAIL.fullmatch(email):
            raise InvalidInput(f"not an e-mail address: {email!r}")
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            self._self_or_office(who, user_id)
            self._active(session, user_id)
            row = session.get(UserContact, user_id) or UserContact(
                user_id=user_id, email=email, set_at="")
            row.email, row.set_at = email, self._store.now()
            session.add(row)
            session.flush()
            self._audit(session, who, "contact.set", {"user": user_id},
                        seals.seal(session.connection(), "user_contact", user_id))

    def email_of(self, user_id: str) -> str | None:
        with self._store.read() as session:
            row = session.get(UserContact, user_id)
            return row.email if row else None

    def contacts(self) -> tuple[frozenset[str], dict[str, str]]:
        """Who has a password, and everyone's e-mail address: two reads for a
        page listing every user."""
        with self._store.read() as session:
            with_password = frozenset(session.exec(select(Credential.user_id)).all())
            emails = {row.user_id: row.email for row in session.exec(select(UserContact))}
        return with_password, emails

    # -- sessions ---------------------------------------------------------------------

    def sign_in(self, account: str, password: str, address: str) -> SignedIn:
        """Open a session, or refuse with one message whatever was wrong."""
        account = account.strip()[:USER_ID_MAX]
        self._throttle(account, address)
        stored, active = self._credential(account)
        if not (self.hashing.matches(stored, password) and active):
            self._failed(account, address)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._store.clock()
        expires = timestamp(now + self.limits.session)
        with self._store.writing() as session:
            who = self._store.actor(session, account)
            session.add(WebSession(token_sha256=token_digest(token), user_id=account, csrf=csrf,
                                   created_at=timestamp(now), expires_at=expires,
                                   address=address))
            session.exec(delete(SigninFailure).where(col(SigninFailure.account) == account))
            must_change = bool(session.get(Credential, account).must_change)  # type: ignore[union-attr]
            self._audit(session, who, "session.start", {"user": account}, None)
        return SignedIn(token, account, csrf, expires, must_change)

    def session(self, token: str) -> SessionView | None:
        """The live session a cookie's token names, or None (unknown, ended,
        expired, or its user deactivated since)."""
        with self._store.read() as session:
            row = session.get(WebSession, token_digest(token))
            if row is None or row.ended_at is not None or row.expires_at <= self._store.now():
                return None
            user = session.get(User, row.user_id)
            credential = session.get(Credential, row.user_id)
            if user is None or not user.active or credential is None:
                return None
            return SessionView(user.id, user.name, roles_of(session, user.id), row.csrf,
                               row.expires_at, credential.must_change)

    def sign_out(self, token: str) -> None:
        """End the session (audited); an unknown or ended one is left as it is."""
        with self._store.writing() as session:
            row = session.get(WebSession, token_digest(token))
            if row is None or row.ended_at is not None:
                return
            who = self._store.actor(session, row.user_id)
            row.ended_at = self._store.now()
            session.add(row)
            self._audit(session, who, "session.end", {"user": row.user_id}, None)

    def cookie_key(self) -> str:
        """The key every worker signs cookies with: made once per database."""
        with self._store.read() as session:
            row = session.get(ServerSecret, "cookie")
        if row is not None:
            return row.value
        with self._store.writing() as session:
            row = session.get(ServerSecret, "cookie")
            if row is None:
                row = ServerSecret(name="cookie", value=secrets.token_urlsafe(48),
                                   created_at=self._store.now())
                session.add(row)
            return row.value

    # -- helpers ----------------------------------------------------------------------

    def _throttle(self, account: str, address: str) -> None:
        since = timestamp(self._store.clock() - self.limits.window)
        with self._store.read() as session:
            for column, value, limit in ((SigninFailure.account, account, self.limits.per_account),
                                         (SigninFailure.address, address, self.limits.per_address)):
                count, first = session.exec(
                    select(func.count(), func.min(SigninFailure.at))
                    .where(col(column) == value, col(SigninFailure.at) > since)
                ).one()
                if count >= limit:
                    raise SignInThrottled(account, seconds_until(first, self.limits.window,
                                                                 self._store.clock()))

    def _credential(self, account: str) -> tuple[str | None, bool]:
        with self._store.read() as session:
            user = session.get(User, account) if account else None
            row = session.get(Credential, account) if user else None
            return (row.password_hash if row else None), bool(user and user.active)

    def _failed(self, account: str, address: str) -> None:
        refusal = SignInRefused(account)
        with self._store.writing() as session:
            session.add(SigninFailure(at=self._store.now(), account=account, address=address))
            session.flush()
            self._store.note_refusal(session.connection(), refusal)
        raise refusal

    @staticmethod
    def _self_or_office(who: policy.Actor, user_id: str) -> None:
        if who.id != user_id:
            policy.require_user_admin(who)

    @staticmethod
    def _active(session: Session, user_id: str) -> None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("user", user_id)
        if not user.active:
            raise InvalidInput(f"{user_id} is deactivated")

    def _write_credential(self, session: Session, who: policy.Actor, user_id: str,
                          hashed: str, temporary: bool) -> None:
        row = session.get(Credential, user_id) or Credential(
            user_id=user_id, password_hash=hashed, set_at="", set_by=who.id)
        row.password_hash, row.must_change = hashed, temporary
        row.set_at, row.set_by = self._store.now(), who.id
        session.add(row)
        session.flush()
        self._audit(session, who, "password.set", {"user": user_id, "temporary": temporary},
                    seals.seal(session.connection(), "credential", user_id))
        if temporary:  # the office resets it: whoever held the old one is signed out
            self._end_sessions(session, user_id)

    def _end_sessions(self, session: Session, user_id: str) -> None:
        for row in session.exec(select(WebSession).where(
                col(WebSession.user_id) == user_id, col(WebSession.ended_at).is_(None))):
            row.ended_at = self._store.now()
            session.add(row)

    def _audit(self, session: Session, who: policy.Actor, action: str,
               detail: dict[str, object], written: seals.Seal | None) -> None:
        role = Role.OFFICE.value if who.id != detail.get("user") else None
        audit.append(session, at=self._store.now(), actor=who.id, role=role, action=action,
                     detail=audit.detail(detail), seals=[written] if written else [])
