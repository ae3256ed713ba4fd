"""The public notice board (公示): what is in publicity now, and objections
from people who have no account.

A notice is posted for the masses, who have no account to sign in with.
Their objection is the same move as a user's (:meth:`Moves.object_to`): the
window must be open today, a reason is required, and the deliverable goes
back where the definition's objection trigger leads.  It is fired by
:data:`~workflow.services.authority.PUBLIC_ACTOR`, which is no user and may
do nothing else (the audit replay checks both), with the objector's name and
contact in the event's detail and the request's address as its host.

Only deliverables in publicity exist for the public: any other is not found,
so the board tells nobody what else the campaign holds.

Throttling: an address may object :attr:`Limits.per_address` times in
:attr:`Limits.window`.  The count is of the public's objection events from
that address, found through the publicity windows objected to in the window
(a handful of rows, by index), so it needs no table of its own; unlike the
sign-in failures, a successful objection is what counts, since every refused
one writes nothing.  An intranet behind one proxy shares one address: the
limit is per campaign, set by whoever serves it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy import select as core_select

from workflow.errors import InvalidInput, NotFound, ObjectionsThrottled
from workflow.services.accounts import EMAIL
from workflow.services.authority import PUBLIC_ACTOR
from workflow.services.moves import Moves
from workflow.services.reads import Reads
from workflow.services.registry import Registry
from workflow.store.clock import seconds_until, timestamp
from workflow.store.models import AuditEvent, PublicityWindow
from workflow.store.store import Store
from workflow.store.views import EventView

NAME_MAX = 50
CONTACT_MAX = 100
REASON_MAX = 2000
#: A telephone number (digits, spaces, + - ( ) and an extension) or an e-mail address.
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,24}([,，转#][0-9]{1,6})?$")


@dataclass(frozen=True)
class Limits:
    """How many objections one address may make in a window of time."""

    window: timedelta = timedelta(hours=1)
    per_address: int = 5


@dataclass(frozen=True)
class Notice:
    """A deliverable in publicity, as the public sees it."""

    deliverable_id: int
    title: str
    type_id: str
    type_title: str
    opened_on: date
    closes_on: date
    #: Whether today is within the window (a window past its last day stays
    #: listed until the daily tick closes it, but takes no objection).
    open_today: bool


class PublicObjections:
    def __init__(self, store: Store, registry: Registry, reads: Reads, moves: Moves,
                 limits: Limits | None = None) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads
        self._moves = moves
        self.limits = limits or Limits()

    def notices(self) -> list[Notice]:
        """Every deliverable in publicity with its open window, oldest window first."""
        found = []
        for window in self._reads.windows(open_only=True):
            notice = self._notice_of(window.deliverable_id, window.opened_on, window.closes_on)
            if notice is not None:
                found.append(notice)
        return found

    def notice(self, deliverable_id: int) -> Notice:
        """One deliverable in publicity; NotFound for any other (or none)."""
        windows = self._reads.windows(deliverable_id, open_only=True)
        notice = self._notice_of(deliverable_id, windows[-1].opened_on,
                                 windows[-1].closes_on) if windows else None
        if notice is None:
            raise NotFound("notice", deliverable_id)
        return notice

    def object(self, deliverable_id: int, name: str, contact: str, reason: str) -> EventView:
        """Record an objection from the public; the address is the write's origin
        (the served request's client)."""
        name, contact, reason = name.strip(), contact.strip(), reason.strip()
        _check(name, contact, reason)
        self.notice(deliverable_id)  # anything else is not found, before the throttle counts
        self._throttle(self._store.origin.host)
        return self._moves.object_from_public(deliverable_id, reason,
                                              {"objector": name, "contact": contact})

    def _notice_of(self, deliverable_id: int, opened_on: date, closes_on: date
                   ) -> Notice | None:
        view = self._reads.get(deliverable_id)
        spec = self._registry.definition_for(view)
        if spec.publicity is None or view.state != "publicity":
            return None
        today = self._store.today()
        return Notice(deliverable_id=view.id, title=view.title, type_id=spec.id,
                      type_title=spec.title, opened_on=opened_on, closes_on=closes_on,
                      open_today=opened_on <= today <= closes_on)

    def _throttle(self, address: str) -> None:
        since = timestamp(self._store.clock() - self.limits.window)
        windows, events = PublicityWindow.__table__.c, AuditEvent.__table__.c  # type: ignore[attr-defined]
        objected = core_select(windows.deliverable_id).where(
            windows.outcome == "objection", windows.closed_at > since)
        count = core_select(func.count(), func.min(events.at)).where(
            events.deliverable_id.in_(objected), events.actor == PUBLIC_ACTOR,
            events.host == address, events.at > since)
        with self._store.read() as session:
            made, first = session.connection().execute(count).one()
        if made >= self.limits.per_address:
            wait = seconds_until(first, self.limits.window, self._store.clock())
            refusal = ObjectionsThrottled(PUBLIC_ACTOR, address, wait)
            with self._store.writing_core() as connection:
                self._store.note_refusal(connection, refusal)
            raise refusal


def _check(name: str, contact: str, reason: str) -> None:
    """The objector must be reachable: a name, and a telephone or an e-mail."""
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"give your name (at most {NAME_MAX} characters)")
    if len(contact) > CONTACT_MAX or not (_PHONE.fullmatch(contact)
                                          or EMAIL.fullmatch(contact)):
        raise InvalidInput("give a telephone number or an e-mail address to reach you")
    if not reason:
        raise InvalidInput("give the reason for the objection")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"the reason is too long (at most {REASON_MAX} characters)")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in name + contact + reason):
        raise InvalidInput("control characters are not allowed")
