"""Who an audit event concerns, what they are told, and how the mail goes
out: the half of :mod:`workflow.services.notifications` that never touches
the database.

- A move (``transition``), a creation or a first revision puts the
  deliverable into the inbox of the active users who may now fire a move
  from its new state: the roles of each transition out of it, narrowed by
  its owner rule exactly as :func:`workflow.machine.policy.transition_role`
  narrows them (``owner_only``: the owner; ``owner_or_responsible``: the
  owner or the rectification item's responsible person; ``not_owner``:
  neither of them).
- Entering publicity opens a window, leaving it (or ``tick`` ending it)
  closes one: the owner and the campaign office hear of both.  Nobody gets
  an inbox mail for the publicity state itself: every participant may object
  there, and mailing them all of every window would be noise.
- The actor is never told of their own act, and one event sends one person
  at most one mail (publicity news wins over an inbox mail, and says more).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from workflow.errors import InvalidInput
from workflow.machine import policy
from workflow.spec.definition import Role, TransitionSpec, WorkflowSpec

INBOX, OPENED, CLOSED = "inbox", "publicity.open", "publicity.close"
#: The state a publicity window belongs to (as the move path names it).
PUBLICITY = "publicity"


@dataclass(frozen=True)
class Event:
    """The fields of an audit event the notifier reads."""

    seq: int
    at: str
    actor: str
    action: str
    trigger: str | None
    source: str | None
    dest: str | None
    comment: str | None
    revision: str | None
    detail: str | None


@dataclass(frozen=True)
class Item:
    """The deliverable an event is about, as it is now."""

    id: int
    title: str
    owner: str
    responsible: str | None
    state: str
    due: date | None
    spec: WorkflowSpec


@dataclass(frozen=True)
class People:
    """The active users, by role (a deactivated user is told nothing)."""

    by_role: Mapping[str, frozenset[str]]
    active: frozenset[str]

    def holding(self, roles: Iterable[str]) -> set[str]:
        return set().union(*(self.by_role.get(role, frozenset()) for role in roles))


def concerned(event: Event, item: Item, people: People) -> dict[str, str]:
    """``{user: kind}`` for everyone ``event`` concerns, the actor left out."""
    found: dict[str, str] = {}
    publicity = item.spec.publicity is not None
    if event.action == "transition" and event.dest is not None:
        if item.state == event.dest:  # moved on since: no longer in anybody's inbox
            found.update(dict.fromkeys(inbox(item, event.dest, people), INBOX))
        if publicity and event.source == PUBLICITY and event.dest != PUBLICITY:
            found.update(dict.fromkeys(_owner_and_office(item, people), CLOSED))
        if publicity and event.dest == PUBLICITY:
            found.update(dict.fromkeys(_owner_and_office(item, people), OPENED))
    elif event.action == "publicity.end":
        found.update(dict.fromkeys(_owner_and_office(item, people), CLOSED))
    elif event.action in ("create", "revise") and item.state == event.dest:
        if event.action == "create" and event.revision is None:
            # No content yet: only its owner can do anything (add it).
            if item.state in item.spec.editable_states and item.owner in people.active:
                found[item.owner] = INBOX
        elif event.action == "create" or _first_revision(event):
            found.update(dict.fromkeys(inbox(item, item.state, people), INBOX))
    found.pop(event.actor, None)
    return found


def inbox(item: Item, state: str, people: People) -> set[str]:
    """The active users who may fire some move out of ``state``."""
    if state == PUBLICITY and item.spec.publicity is not None:
        return set()
    users: set[str] = set()
    for transition in item.spec.transitions_from(state):
        users |= may_fire(transition, item, people)
    return users


def may_fire(transition: TransitionSpec, item: Item, people: People) -> set[str]:
    """Who passes the roles and owner rule of ``transition`` on ``item``."""
    answerable = policy.Answerable(item.owner, item.responsible)
    return {user for user in people.holding(transition.roles)
            if policy.owner_rule_refusal(user, answerable, transition) is None}


def _owner_and_office(item: Item, people: People) -> set[str]:
    return ({item.owner} & people.active) | people.holding([Role.OFFICE.value])


def _first_revision(event: Event) -> bool:
    """A revision that gave the deliverable its first content (then it can move)."""
    try:
        return bool(json.loads(event.detail or "{}").get("number") == 1)
    except (ValueError, AttributeError):
        return False


# -- the mail's text -------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    opened_on: date
    closes_on: date
    outcome: str | None


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


_SUBJECTS = {INBOX: "待办", OPENED: "公示开始", CLOSED: "公示结束"}


def compose(kind: str, event: Event, item: Item, name: str, *, window: Window | None,
            base_url: str | None, recipient: str, people: People) -> Mail:
    """The mail telling ``name`` of ``event``: Chinese first, English below."""
    spec, state = item.spec, _state(item.spec, event.dest or item.state)
    # One line: a header cannot carry a line break, whatever a title holds.
    subject = " ".join(f"【{_SUBJECTS[kind]}】{item.title}（#{item.id}）".split())
    zh = [f"{name}：", ""]
    en = [f"Dear {name},", ""]
    if kind == INBOX:
        zh.append(f"《{item.title}》（{spec.title}，#{item.id}）已到您的待办，当前状态：{state[0]}。")
        en.append(f"“{item.title}” ({spec.title_en}, #{item.id}) is in your inbox: "
                  f"{state[1]}.")
        moves = [t for t in spec.transitions_from(item.state)
                 if recipient in may_fire(t, item, people)]
        if moves:
            zh.append("您可以：" + "、".join(t.label for t in moves))
            en.append("You may: " + ", ".join(t.label_en for t in moves))
    elif kind == OPENED:
        span = f"{window.opened_on}至{window.closes_on}" if window else ""
        zh.append(f"《{item.title}》（{spec.title}，#{item.id}）已进入公示期 {span}；"
                  "公示期内可提出异议。")
        span_en = f" from {window.opened_on} to {window.closes_on}" if window else ""
        en.append(f"“{item.title}” ({spec.title_en}, #{item.id}) is public{span_en}; "
                  "objections may be raised until it ends.")
    else:
        objected = event.trigger is not None and spec.publicity is not None and (
            event.trigger == spec.publicity.objection_trigger)
        zh.append(f"《{item.title}》（{spec.title}，#{item.id}）的公示期已结束"
                  f"{'：有异议，退回' if objected else '，无异议'}；当前状态：{state[0]}。")
        en.append(f"The publicity of “{item.title}” ({spec.title_en}, #{item.id}) has ended"
                  f"{' with an objection' if objected else ' without objection'}; "
                  f"it is now: {state[1]}.")
    if event.comment:
        zh.append(f"说明：{event.comment}")
        en.append(f"Note: {event.comment}")
    if item.due is not None:
        zh.append(f"截止日期：{item.due}")
        en.append(f"Due: {item.due}")
    link = f"{base_url.rstrip('/')}/deliverables/{item.id}" if base_url else None
    if link:
        zh.append(f"查看：{link}")
        en.append(f"Open: {link}")
    footer = ["", "—", "此邮件由 campaign 自动发送，请勿回复。",
              "Sent automatically by campaign; please do not reply."]
    return Mail(subject, "\n".join([*zh, "", "----", "", *en, *footer]) + "\n")


def _state(spec: WorkflowSpec, name: str) -> tuple[str, str]:
    try:
        state = spec.state(name)
    except KeyError:
        return name, name
    return state.label, state.label_en


# -- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes, read once from the environment by :meth:`from_env`."""

    host: str
    port: int = 25
    sender: str = "campaign@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    #: The served interface's address, for links (``CAMPAIGN_BASE_URL``).
    base_url: str | None = None
    timeout: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SmtpSettings | None:
        """The settings, or None when ``CAMPAIGN_SMTP_HOST`` is unset (notifications off)."""
        host = environ.get("CAMPAIGN_SMTP_HOST", "").strip()
        if not host:
            return None
        raw_port = environ.get("CAMPAIGN_SMTP_PORT", "").strip() or "25"
        if not (raw_port.isascii() and raw_port.isdigit() and 0 < int(raw_port) < 65536):
            raise InvalidInput(f"CAMPAIGN_SMTP_PORT={raw_port!r} is not a port (1-65535)")
        user = environ.get("CAMPAIGN_SMTP_USER", "").strip() or None
        password = environ.get("CAMPAIGN_SMTP_PASSWORD") or None
        if (user is None) != (password is None):
            raise InvalidInput("CAMPAIGN_SMTP_USER and CAMPAIGN_SMTP_PASSWORD go together")
        tls = environ.get("CAMPAIGN_SMTP_STARTTLS", "").strip().lower()
        return cls(host, int(raw_port), environ.get("CAMPAIGN_SMTP_FROM", "").strip()
                   or "campaign@localhost", user, password, tls in ("1", "true", "yes"),
                   environ.get("CAMPAIGN_BASE_URL", "").strip() or None)


def require_settings(environ: Mapping[str, str] = os.environ) -> SmtpSettings:
    settings = SmtpSettings.from_env(environ)
    if settings is None:
        raise InvalidInput("e-mail notifications are off: set CAMPAIGN_SMTP_HOST (and "
                           "CAMPAIGN_SMTP_PORT, CAMPAIGN_SMTP_FROM) to turn them on")
    return settings


# -- SMTP ---------------------------------------------------------------------------------


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls:
            server.starttls(context=ssl.create_default_context())
        if settings.user is not None and settings.password is not None:
            server.login(settings.user, settings.password)
    except BaseException:
        server.close()
        raise
    return server


def message(settings: SmtpSettings, to: tuple[str, str], mail: Mail, now: datetime
            ) -> EmailMessage:
    """``mail`` to ``to`` (name, address), its headers encoded as RFC 2047 wants."""
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = settings.sender
    message["To"] = formataddr(to)
    message["Date"] = format_datetime(now)
    # The sender's domain: make_msgid's default asks DNS for this host's name.
    message["Message-ID"] = make_msgid("campaign", settings.sender.rpartition("@")[2]
                                       or "localhost")
    message.set_content(mail.body)
    return message
