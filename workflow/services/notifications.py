"""E-mail notifications, derived after commit from the audit log itself.

A move pays nothing for them: :meth:`Notifications.collect` reads the audit
events committed since it last ran, works out whom each concerns
(:mod:`workflow.services.notify_mail`) and queues one mail per person
in the ``notification`` outbox; :meth:`Notifications.send` sends what is
queued through the SMTP server the environment names
(:class:`~workflow.services.notify_mail.SmtpSettings`; off unless
``CAMPAIGN_SMTP_HOST`` is set).  A rolled-back move wrote no
event, so it mails nobody.

Progress is kept per audit chain (``notify_cursor``): on a server ``seq``
comes from a sequence and events of different chains commit out of its
order, while each chain's places are gapless and commit in order (a
chain's writers queue on its lock), so what is visible of a chain is always
a prefix.  The chains that can still grow are the global one and those of
the units users belong to (a deliverable's chain is its owner's unit's): a
run reads those, never scanning the log for chain names, and a unit's chain
first seen after the notifier started is read from its beginning.  Events
written before chains existed are never read.  The first run on a database
starts at every chain's head: it never mails about the past.

Queueing and sending are working state, not audited events: they change no
deliverable, and the log they are read from is the record.

Two notifiers may run at once: the outbox holds one row per (event,
recipient, kind), and a sender claims rows before it sends them, so no mail
is queued or sent twice (a sender that dies holding a claim leaves it to
lapse after :data:`LEASE`, and that mail may then go twice).  A failed send is
tried again later, backing off, up to :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Integer, String, and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from workflow.services import notify_mail as mailing
from workflow.services.listing import values_table
from workflow.services.move_rules import latest_window
from workflow.services.notify_mail import SmtpSettings, require_settings
from workflow.services.registry import Registry
from workflow.store import chains
from workflow.store.access import Notification, NotifyCursor, UserContact
from workflow.store.clock import timestamp
from workflow.store.models import AuditEvent, Deliverable, Rectification, User, UserRole
from workflow.store.store import Store

_OUTBOX = Notification.__table__  # type: ignore[attr-defined]
_CURSORS = NotifyCursor.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_ITEMS = Deliverable.__table__  # type: ignore[attr-defined]
_RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]
_CONTACTS = UserContact.__table__  # type: ignore[attr-defined]

#: How long a sender's claim on a mail holds before another may send it.
LEASE = timedelta(minutes=10)
#: Tries before a mail is given up (backing off from a minute to six hours: about a day).
MAX_ATTEMPTS = 12
_log = logging.getLogger(__name__)
__all__ = ["Background", "Notifications", "SmtpSettings", "Summary", "require_settings"]


@dataclass(frozen=True)
class Summary:
    """One run: mails queued, people concerned without an address, mails sent and failed."""

    queued: int = 0
    no_address: int = 0
    sent: int = 0
    failed: int = 0

    def __add__(self, other: Summary) -> Summary:
        return Summary(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values(),
                                               strict=True)))

    def to_json(self) -> dict[str, int]:
        return asdict(self)


class Background:
    """A notifier running in a daemon thread; :meth:`stop` ends it."""

    def __init__(self, thread: threading.Thread, stopping: threading.Event) -> None:
        self._thread, self._stopping = thread, stopping

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)


class Notifications:
    def __init__(self, store: Store, registry: Registry) -> None:
        self._store = store
        self._registry = registry

    def run_once(self, settings: SmtpSettings, *, batch: int = 100) -> Summary:
        """Queue what the log says since the last run, then send what is queued
        (``batch`` mails a claim, until what is due is sent or has failed)."""
        total = self.collect(settings.base_url)
        while True:
            sent = self.send(settings, limit=batch)
            total += sent
            if sent.sent + sent.failed < batch:  # a failed mail waits: no busy loop
                return total

    def start_background(self, settings: SmtpSettings, interval: float = 60.0) -> Background:
        """Run :meth:`run_once` every ``interval`` seconds in a daemon thread (a
        server's); a failed run is logged and tried again next time."""
        # A store of its own: a store's batch of moves belongs to the thread
        # that opened it, and this thread must never write inside one.
        mine = Notifications(Store(self._store.engine, self._store.clock, self._store.origin),
                             self._registry)
        stopping = threading.Event()

        def loop() -> None:
            while not stopping.is_set():
                try:
                    mine.run_once(settings)
                except Exception:
                    _log.exception("notifications: a run failed; trying again in %s s",
                                   interval)
                stopping.wait(interval)

        thread = threading.Thread(target=loop, name="campaign-notifications", daemon=True)
        thread.start()
        return Background(thread, stopping)

    # -- collecting -------------------------------------------------------------------

    def collect(self, base_url: str | None = None, *, batch: int = 500) -> Summary:
        """Queue a mail for everyone each new audit event concerns; one write
        transaction per ``batch`` events (the mails and the cursors together)."""
        total = Summary()
        while True:
            done, read = self._collect_batch(base_url, batch)
            total += done
            if read < batch:
                return total

    def _collect_batch(self, base_url: str | None, batch: int) -> tuple[Summary, int]:
        with self._store.writing_core() as connection:
            # FOR UPDATE: a second notifier on a server waits here, then reads on.
            cursors = {row.chain: row.chain_seq for row in
                       connection.execute(select(_CURSORS).with_for_update())}
            if not cursors:
                _upsert(connection, _CURSORS, ["chain"], _heads(connection), advance=True)
                return Summary(), 0
            for chain in connection.execute(select(chains.unit_chain(_USERS.c.unit)).distinct()
                                            ).scalars():
                cursors.setdefault(str(chain), 0)  # a unit's first events since
            cursors.setdefault(chains.GLOBAL, 0)
            since = values_table("since", [("chain", String), ("place", Integer)],
                                 sorted(cursors.items()))
            events = connection.execute(
                select(_EVENTS).join(since, and_(_EVENTS.c.chain == since.c.chain,
                                                 _EVENTS.c.chain_seq > since.c.place))
                .order_by(_EVENTS.c.seq).limit(batch)).all()
            mails, no_address = self._mails(connection, events, base_url)
            _upsert(connection, _OUTBOX, ["event_seq", "recipient_id", "kind"], mails)
            reached: dict[str, int] = {}
            for event in events:  # a chain's places rise with seq: the last is the furthest
                reached[event.chain] = event.chain_seq
            _upsert(connection, _CURSORS, ["chain"],
                    [{"chain": c, "chain_seq": place} for c, place in reached.items()],
                    advance=True)
            return Summary(queued=len(mails), no_address=no_address), len(events)

    def _mails(self, connection: Connection, events: Sequence[Any], base_url: str | None
               ) -> tuple[list[dict[str, Any]], int]:
        """The outbox rows of ``events``, and how many people lacked an address."""
        items = _items(connection, self._registry,
                       {e.deliverable_id for e in events if e.deliverable_id is not None})
        if not items:
            return [], 0
        people = _people(connection)
        told = [(e, items[e.deliverable_id], user, kind) for e in events
                if e.deliverable_id in items
                for user, kind in sorted(mailing.concerned(_event(e), items[e.deliverable_id],
                                                       people).items())]
        wanted = {user for _, _, user, _ in told}
        names = {row.id: row.name for row in connection.execute(
            select(_USERS.c.id, _USERS.c.name).where(_USERS.c.id.in_(wanted)))}
        addresses = {row.user_id: row.email for row in connection.execute(
            select(_CONTACTS.c.user_id, _CONTACTS.c.email)
            .where(_CONTACTS.c.user_id.in_(wanted)))}
        now, rows, no_address = self._store.now(), [], 0
        for event, item, user, kind in told:
            if user not in addresses:
                no_address += 1
                continue
            window = _window(connection, item.id) if kind != mailing.INBOX else None
            mail = mailing.compose(kind, _event(event), item, names.get(user, user),
                               window=window, base_url=base_url, recipient=user,
                               people=people)
            rows.append({"event_seq": event.seq, "created_at": now, "kind": kind,
                         "recipient_id": user, "address": addresses[user],
                         "deliverable_id": item.id, "subject": mail.subject,
                         "body": mail.body, "attempts": 0})
        return rows, no_address

    # -- sending ----------------------------------------------------------------------

    def send(self, settings: SmtpSettings, *, limit: int = 100) -> Summary:
        """Send up to ``limit`` queued mails this sender claimed; a failure is
        recorded on its row (attempts, last error) and tried again later."""
        token = secrets.token_hex(8)
        claimed = self._claim(token, limit)
        if not claimed:
            return Summary()
        sent = failed = 0
        try:
            server = mailing.connect(settings)
        except (OSError, smtplib.SMTPException) as error:
            for row in claimed:
                self._settle(row, token, f"cannot reach {settings.host}:{settings.port}: "
                             f"{error}")
            return Summary(failed=len(claimed))
        with server:
            for row in claimed:
                try:
                    server.send_message(mailing.message(
                        settings, (row.name, row.address), mailing.Mail(row.subject, row.body),
                        self._store.clock()))
                except (OSError, smtplib.SMTPException, ValueError) as error:
                    # ValueError: a message the mail library refuses to write.
                    self._settle(row, token, str(error) or type(error).__name__)
                    failed += 1
                else:
                    self._settle(row, token, None)
                    sent += 1
        return Summary(sent=sent, failed=failed)

    def _claim(self, token: str, limit: int) -> list[Any]:
        now = self._store.clock()
        o = _OUTBOX.c
        due = and_(o.sent_at.is_(None), o.attempts < MAX_ATTEMPTS,
                   or_(o.retry_at.is_(None), o.retry_at <= timestamp(now)),
                   or_(o.claimed_at.is_(None), o.claimed_at < timestamp(now - LEASE)))
        # SKIP LOCKED: on a server, two senders claim different rows; the outer
        # condition, checked again on the row as it is now, keeps a row one of
        # them claimed first from being taken twice.  SQLite writers queue.
        pick = (select(o.id).where(due).order_by(o.id).limit(limit)
                .with_for_update(skip_locked=True).scalar_subquery())
        with self._store.writing_core() as connection:
            connection.execute(update(_OUTBOX).where(o.id.in_(pick), due)
                               .values(claimed_by=token, claimed_at=timestamp(now)))
            return list(connection.execute(
                select(_OUTBOX, _USERS.c.name).join(_USERS, _USERS.c.id == o.recipient_id)
                .where(o.claimed_by == token).order_by(o.id)).all())

    def _settle(self, row: Any, token: str, error: str | None) -> None:
        """Record one send: sent, or failed with ``error`` and a time to try again."""
        now = self._store.clock()
        values: dict[str, Any] = {"claimed_by": None, "claimed_at": None,
                                  "attempts": _OUTBOX.c.attempts + 1}
        if error is None:
            values["sent_at"] = timestamp(now)
        else:
            wait = timedelta(minutes=min(2 ** row.attempts, 360))
            values |= {"last_error": error[:500], "retry_at": timestamp(now + wait)}
        with self._store.writing_core() as connection:
            connection.execute(update(_OUTBOX).where(_OUTBOX.c.id == row.id,
                                                     _OUTBOX.c.claimed_by == token)
                               .values(values))


# -- reading what an event concerns ------------------------------------------------------


def _event(row: Any) -> mailing.Event:
    return mailing.Event(row.seq, row.at, row.actor, row.action, row.trigger, row.source,
                     row.dest, row.comment, row.revision, row.detail)


def _items(connection: Connection, registry: Registry, ids: set[int]) -> dict[int, mailing.Item]:
    rows = connection.execute(
        select(_ITEMS, _RECTIFICATIONS.c.responsible_id)
        .outerjoin(_RECTIFICATIONS, _RECTIFICATIONS.c.deliverable_id == _ITEMS.c.id)
        .where(_ITEMS.c.id.in_(ids))).all()
    return {row.id: mailing.Item(row.id, row.title, row.owner_id, row.responsible_id, row.state,
                             row.due, registry.spec(row.definition_sha)) for row in rows}


def _people(connection: Connection) -> mailing.People:
    rows = connection.execute(select(_ROLES.c.user_id, _ROLES.c.role)
                              .join(_USERS, _USERS.c.id == _ROLES.c.user_id)
                              .where(_USERS.c.active)).all()
    by_role: dict[str, set[str]] = {}
    for user, role in rows:
        by_role.setdefault(role, set()).add(user)
    return mailing.People({role: frozenset(users) for role, users in by_role.items()},
                      frozenset(user for user, _ in rows))


def _window(connection: Connection, deliverable_id: int) -> mailing.Window | None:
    row = latest_window(connection, deliverable_id)
    return mailing.Window(row.opened_on, row.closes_on, row.outcome) if row else None


def _heads(connection: Connection) -> list[dict[str, Any]]:
    """Where every chain stands now (the first run starts there)."""
    live = {chains.GLOBAL, *map(str, connection.execute(
        select(chains.unit_chain(_USERS.c.unit)).distinct()).scalars())}
    return [{"chain": chain, "chain_seq": int(connection.execute(
        select(func.coalesce(func.max(_EVENTS.c.chain_seq), 0))
        .where(_EVENTS.c.chain == chain)).scalar_one())} for chain in sorted(live)]


def _upsert(connection: Connection, table: Any, key: list[str], rows: list[dict[str, Any]],
            *, advance: bool = False) -> None:
    """Insert ``rows``; one already there is kept (``advance``: its
    ``chain_seq`` moves forward, never back)."""
    if not rows:
        return
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[connection.dialect.name]
    insert = dialect.insert(table).values(rows)
    if advance:
        furthest = case((insert.excluded.chain_seq > table.c.chain_seq,
                         insert.excluded.chain_seq), else_=table.c.chain_seq)
        connection.execute(insert.on_conflict_do_update(index_elements=key,
                                                        set_={"chain_seq": furthest}))
    else:
        connection.execute(insert.on_conflict_do_nothing(index_elements=key))
