"""``audit verify`` in constant memory: the log is read twice, off a cursor,
and nothing read is kept that grows with it.

1. **In order** (``seq``): each event once through every check that needs the
   log's order — its chain's link and hash (:class:`workflow.store.chains.ChainCheck`:
   a head per chain), its actor's standing (the user and role events, few,
   kept in a :class:`~workflow.services.authority.Roster`), and the
   campaign's phase moves (few, kept for the phase replay).
2. The seals the events recorded, spilled into a temporary table and joined
   to every sealed table in key order (:mod:`workflow.store.verify_seals`).
3. **By deliverable** (deliverable id, then ``seq``), merged with the
   deliverables by id: each one's replay through its machine and the rules of
   its moves (:class:`workflow.store.audit.Replay`,
   :class:`~workflow.services.authority.Rules`); one deliverable's events
   at a time.

The failure reported is the one the checks, run one after the other over the
whole log, would report first: a broken chain before a seal, a seal before the
replay, the replay before authority, and within each the earliest event.  The
reads that cannot fail first keep only the earliest failure they met.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection

from workflow.errors import AuditVerificationFailed
from workflow.services import authority
from workflow.services.registry import Registry
from workflow.store import audit, verify_log, verify_seals
from workflow.store.chains import ChainCheck

_PHASE_ACTIONS = frozenset({"plan", "phase"})


class PhaseEvent(NamedTuple):
    """What the phase replay reads of a ``plan.*`` or ``phase.*`` event."""

    seq: int
    action: str
    source: str | None
    dest: str | None
    plan: str | None


@dataclass
class First:
    """The earliest failure met so far, by its event's ``seq``."""

    error: AuditVerificationFailed | None = None

    def offer(self, error: AuditVerificationFailed) -> None:
        if self.error is None or (error.seq or 0) < (self.error.seq or 0):
            self.error = error

    def before(self, seq: int) -> bool:
        """Whether a failure earlier than event ``seq`` is already known."""
        return self.error is not None and (self.error.seq or 0) < seq


@dataclass
class InOrder:
    """The log read in ``seq`` order (step 1)."""

    digest: str | None
    roster: authority.Roster = field(default_factory=authority.Roster)
    refused: AuditVerificationFailed | None = None
    phases: list[PhaseEvent] = field(default_factory=list)
    events: int = 0
    head: str | None = None

    def read(self, connection: Connection) -> None:
        """Raise on the first broken link or hash, or a kept digest not met."""
        chains = ChainCheck(self.digest)
        feed, hash_of, step = chains.feed, verify_log.hasher(connection), self._step
        for event in verify_log.events_in_order(connection):
            feed(event, hash_of)
            step(event)
        self.head = chains.finish()

    def _step(self, event: Any) -> None:
        self.events += 1
        if self.refused is None:
            try:
                authority.check_actor(event, self.roster)
            except AuditVerificationFailed as error:
                self.refused = error
        self.roster.apply(event)
        if event.action.partition(".")[0] in _PHASE_ACTIONS:
            self.phases.append(PhaseEvent(event.seq, event.action, event.source, event.dest,
                                          _plan_of(event.detail)))


def _plan_of(detail: str | None) -> str | None:
    plan = json.loads(detail or "{}").get("plan")
    return plan if isinstance(plan, str) else None


@dataclass
class ByDeliverable:
    """Each deliverable replayed with its own events (step 3)."""

    registry: Registry
    broken: First = field(default_factory=First)
    stored: AuditVerificationFailed | None = None
    refused: First = field(default_factory=First)
    deliverables: int = 0
    rules: authority.Rules = field(default_factory=authority.Rules)
    #: Where a trigger leads from a state, by definition: asked of its machine once.
    leads: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def read(self, connection: Connection) -> None:
        for item, events in verify_log.by_deliverable(connection):
            if item is None:
                self.broken.offer(audit.no_such_deliverable(next(events)))
                continue
            self.deliverables += 1
            self._replay(item, events)

    def raise_first(self) -> None:
        """The replay's first failure, else a deliverable not stored where its
        events lead."""
        for error in (self.broken.error, self.stored):
            if error is not None:
                raise error

    def _replay(self, item: Any, events: Iterator[Any]) -> None:
        replay = audit.Replay(item, self._initial_state, self._next_state)
        spec, responsible = None, None
        broken, refused = self.broken, self.refused
        for event in events:
            if broken.before(event.seq):
                return  # an earlier event already fails: nothing here can come first
            try:
                replay.feed(event)
            except AuditVerificationFailed as error:
                broken.offer(error)
                return
            if not refused.before(event.seq):
                spec = spec or self.registry.spec(item.definition_sha)
                try:
                    self.rules.check(event, item, spec, responsible)
                except AuditVerificationFailed as error:
                    refused.offer(error)
            if event.action == "rectification.set":
                responsible = json.loads(event.detail)["responsible"]
        if self.stored is None and broken.error is None:
            try:
                replay.finish()
            except AuditVerificationFailed as error:
                self.stored = error

    def _initial_state(self, item: Any) -> str:
        return self.registry.spec(item.definition_sha).initial

    def _next_state(self, item: Any, state: str, trigger: str) -> str:
        key = (item.definition_sha, state, trigger)
        if key not in self.leads:  # a trigger that cannot fire raises, and is not kept
            self.leads[key] = self.registry.machine(key[0]).next_state(state, trigger)
        return self.leads[key]


@dataclass(frozen=True)
class Verified:
    report: audit.VerifyReport
    roster: authority.Roster
    phases: list[PhaseEvent]


def verify(connection: Connection, registry: Registry, digest: str | None) -> Verified:
    """Steps 1 to 3 in the caller's read transaction (its first statements)."""
    verify_log.repeatable_read(connection)
    log = InOrder(digest)
    log.read(connection)
    verify_seals.spill(connection)
    rows = verify_seals.check(connection)  # a failure rolls the temporary table back
    verify_seals.drop(connection)
    replay = ByDeliverable(registry)
    replay.read(connection)
    replay.raise_first()
    first = First(log.refused)
    if replay.refused.error is not None:
        first.offer(replay.refused.error)
    if first.error is not None:
        raise first.error
    report = audit.VerifyReport(events=log.events, deliverables=replay.deliverables,
                                head=log.head, rows=rows)
    return Verified(report, log.roster, log.phases)
