"""The one move path.  Every move of every deliverable — ``campaign do``, the
API's :meth:`Moves.fire`, an objection, a window's close, the office's rating
— goes through :meth:`Moves.fire`:

1. check: the actor is an active user, the deliverable exists at the version
   the caller saw (the one exception: an objection from the public notice
   board, :meth:`Moves.object_from_public`, whose actor is no user and which
   may fire nothing but the objection trigger during an open window);
2. machine: the definition's state machine says where the trigger leads, or
   refuses;
3. guards: the roles and owner rules of the transition, its reason, and the
   rules the definition declares (required content sections, the publicity
   window), then the rules of the deliverable's own type registered here
   (:class:`TypeRules`, e.g. a rectification item's five fields);
4. one transaction: the version's compare-and-set, the window and the
   opinion the move writes, the audit event sealing them, and the type's
   effects — all commit together or not at all.

Nothing overrides this path: a type adds guards and effects to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from workflow.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from workflow.machine import policy
from workflow.services import authority, bulk, move_rules
from workflow.services.bulk import BulkResult
from workflow.services.move_rules import Move
from workflow.services.reads import Reads
from workflow.services.registry import Registry
from workflow.spec.definition import Role
from workflow.store import audit, chains
from workflow.store.store import Store
from workflow.store.views import EventView

Guard = Callable[[Connection, Move], None]
Effect = Callable[[Connection, Move, EventView], None]


@dataclass(frozen=True)
class TypeRules:
    """A deliverable type's own rules on the move path: a guard checked after
    the definition's rules allowed the move, and an effect written after its
    audit event, in the same transaction."""

    type_id: str
    guard: Guard
    effect: Effect | None = None
    #: The names of the ``payload`` its rules read (a move may carry no other).
    payload: frozenset[str] = frozenset()


class Moves:
    def __init__(self, store: Store, registry: Registry, reads: Reads,
                 rules: Iterable[TypeRules] = ()) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads
        self._rules = {r.type_id: r for r in rules}

    def fire(
        self, actor: str | None, deliverable_id: int, trigger: str, comment: str | None = None,
        expected_version: int | None = None, *, payload: Mapping[str, str] | None = None,
    ) -> EventView:
        """Fire ``trigger`` on a deliverable: check, move and audit in one transaction.

        ``payload`` carries what a type's own rules need beyond the comment (a
        rectification item's rating).  Publicity windows are judged on today,
        by the engine's clock.
        """
        comment = (comment or "").strip() or None
        with self._store.writing_core() as connection:
            move, role, revision, place = self._checked(
                connection, actor, deliverable_id, trigger, comment, expected_version,
                payload or {})
            return self._commit(connection, move, role, revision, place)

    def fire_many(
        self, actor: str | None, deliverable_ids: Iterable[int], trigger: str,
        comment: str | None = None, *, batch: int = 100,
        on_each: bulk.OnEach | None = None,
    ) -> BulkResult:
        """Fire ``trigger`` on each deliverable in turn, each its own :meth:`fire`
        (its own checks and audit event, in a savepoint of its own), so one
        refusal never undoes another's move; ``batch`` moves share one
        transaction (:meth:`Store.batch`: one commit each).  ``on_each`` hears
        each outcome once its batch committed; an id repeated is refused
        before anything is fired."""
        return bulk.fire_each(lambda item: self.fire(actor, item, trigger, comment),
                              trigger, deliverable_ids, on_each, batch=batch,
                              transaction=self._store.batch)

    def _commit(self, connection: Connection, move: Move, role: str, revision: tuple[int, str],
                place: chains.Position, detail: str | None = None) -> EventView:
        """Step 3's type rules, then step 4: the move, its window and opinion,
        its audit event and the type's effects, in the caller's transaction."""
        type_rules = self._type_rules(move)
        if type_rules is not None:
            type_rules.guard(connection, move)
        self._store.bump(connection, move.deliverable_id, move.version, move.dest)
        written = move_rules.record_publicity(connection, move)
        if move.actor != authority.PUBLIC_ACTOR:  # an opinion's author is a user
            written += move_rules.record_reason(connection, move, revision, place.seq)
        event = audit.append(
            connection, at=move.now, actor=move.actor, role=role, action="transition",
            deliverable_id=move.deliverable_id, trigger=move.transition.trigger,
            source=move.source, dest=move.dest, comment=move.comment, revision=revision[1],
            detail=detail, seals=written, at_position=place,
        )
        if type_rules is not None and type_rules.effect is not None:
            type_rules.effect(connection, move, event)
        return event

    def _type_rules(self, move: Move) -> TypeRules | None:
        """The rules of the deliverable's type; a payload they do not read is refused."""
        rules = self._rules.get(move.spec.id)
        unread = set(move.payload) - (rules.payload if rules else frozenset())
        if unread:
            raise TransitionNotAllowed(
                f"a {move.spec.id} move takes no {', '.join(sorted(unread))}",
                move.deliverable_id)
        return rules

    def _checked(
        self, connection: Connection, actor: str | None, deliverable_id: int, trigger: str,
        comment: str | None, expected_version: int | None, payload: Mapping[str, str],
    ) -> tuple[Move, str, tuple[int, str], chains.Position]:
        """Steps 1–3 up to the type's own rules: the move, the actor's role, the
        revision, and where the move's audit event goes."""
        who = self._store.actor(connection, actor)
        item = self._store.move_state(connection, deliverable_id)
        if expected_version is not None and expected_version != item.version:
            raise Conflict(deliverable_id, expected_version, item.version)
        spec = self._registry.spec(item.definition_sha)
        dest = self._registry.machine(item.definition_sha).next_state(item.state, trigger)
        transition = spec.transition(item.state, trigger)
        assert transition is not None  # the machine just fired it
        role = policy.transition_role(
            who, policy.Answerable(item.owner_id, item.responsible_id), transition,
            deliverable_id)
        policy.require_reason(transition, comment, deliverable_id)
        if item.revision_sha is None:
            raise TransitionNotAllowed("it has no content yet (campaign revise)", deliverable_id)
        revision = (item.revision_number, item.revision_sha)
        move = Move(deliverable_id, spec, transition, item.state, dest, who.id, comment,
                    self._store.today(), self._store.now(), item.version, payload)
        move_rules.check_content(connection, move, revision[1], item.definition_sha)
        move_rules.check_publicity(connection, move)
        return move, role, revision, chains.position_of(item)

    # -- publicity ------------------------------------------------------------------

    def object_to(self, actor: str | None, deliverable_id: int, reason: str) -> EventView:
        """An objection during publicity (today): fires the definition's objection trigger."""
        spec = self._registry.definition_for(self._reads.get(deliverable_id))
        if spec.publicity is None:
            raise TransitionNotAllowed(f"a {spec.id} has no publicity window to object in",
                                       deliverable_id)
        return self.fire(actor, deliverable_id, spec.publicity.objection_trigger, reason)

    def object_from_public(self, deliverable_id: int, reason: str,
                           objector: Mapping[str, str]) -> EventView:
        """An objection from the public notice board, by someone who is no user:
        the same move as :meth:`object_to` — the window open today, a reason,
        the deliverable back where the definition's objection trigger leads —
        fired by :data:`~workflow.services.authority.PUBLIC_ACTOR` under the
        role ``public``, with ``objector`` (their name and contact) in the
        event's detail.  The reason is the event's comment: no review opinion
        is written, since an opinion's author must be a user.

        A deliverable that is not in publicity is not found (the public sees
        no other); a window that has ended refuses (TransitionNotAllowed).
        """
        comment = reason.strip() or None
        with self._store.writing_core() as connection:
            item = self._store.move_state(connection, deliverable_id)
            spec = self._registry.spec(item.definition_sha)
            if spec.publicity is None or item.state != "publicity":
                raise NotFound("notice in publicity", deliverable_id)
            trigger = spec.publicity.objection_trigger
            dest = self._registry.machine(item.definition_sha).next_state(item.state, trigger)
            transition = spec.transition(item.state, trigger)
            assert transition is not None  # the machine just fired it
            policy.require_reason(transition, comment, deliverable_id)
            if item.revision_sha is None:
                raise TransitionNotAllowed("it has no content", deliverable_id)
            revision = (item.revision_number, item.revision_sha)
            move = Move(deliverable_id, spec, transition, item.state, dest,
                        authority.PUBLIC_ACTOR, comment, self._store.today(), self._store.now(),
                        item.version)
            move_rules.check_publicity(connection, move)
            return self._commit(connection, move, authority.PUBLIC_ROLE, revision,
                                chains.position_of(item), audit.detail(dict(objector)))

    def tick(self, actor: str | None, *, today: date | None = None) -> list[EventView]:
        """Close the publicity windows that ended before today without objection.

        ``today`` may name an earlier day (closing only windows ended before
        it), never a later one: a window cannot be closed ahead of time.
        """
        day = self._store.as_of(today)
        events = []
        for window in self._reads.windows(open_only=True):
            if window.closes_on >= day:
                continue
            spec = self._registry.definition_for(self._reads.get(window.deliverable_id))
            assert spec.publicity is not None
            note = f"公示期满（{window.opened_on}至{window.closes_on}）无异议"
            if spec.publicity.close_trigger:
                events.append(self.fire(actor, window.deliverable_id,
                                        spec.publicity.close_trigger, note))
            else:
                events.append(self._end_window(actor, window.deliverable_id, note))
        return events

    def _end_window(self, actor: str | None, deliverable_id: int, note: str) -> EventView:
        """A window closed with no move out of publicity (the definition names none)."""
        with self._store.writing_core() as connection:
            who = self._store.actor(connection, actor)
            if not who.has(Role.OFFICE):
                raise PermissionDenied(who.id, "end a publicity window", "needs role office",
                                       deliverable_id)
            item = self._store.state_of(connection, deliverable_id)
            self._store.bump(connection, deliverable_id, item.version, item.state)
            now = self._store.now()
            return audit.append(
                connection, at=now, actor=who.id, role=Role.OFFICE.value,
                action="publicity.end", deliverable_id=deliverable_id, source=item.state,
                dest=item.state, comment=note,
                seals=move_rules.close_window(connection, deliverable_id, now, "ended"),
            )
