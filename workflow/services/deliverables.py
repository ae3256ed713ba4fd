"""The single write path for deliverables.

Every write is one ``BEGIN IMMEDIATE`` transaction that checks (roles, rules,
state, version), moves, and appends its audit event — then commits, or
raises and leaves nothing behind.  Permission refusals are noted afterwards
in the separate access log, never in the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, update
from sqlmodel import Session, col

from workflow.errors import Conflict, InvalidInput, PermissionDenied, TransitionNotAllowed
from workflow.machine import policy
from workflow.services import move_rules as moves
from workflow.services.plan import PlanOps
from workflow.services.writes import detail
from workflow.spec import loader
from workflow.spec.content import Content
from workflow.spec.definition import Role, WorkflowSpec
from workflow.spec.lint import errors_in, lint
from workflow.store import audit, database, seals
from workflow.store.models import DeliverableView, EventView, RevisionView, WorkflowDefinition

MoveHook = Callable[[Connection, moves.Move], None]
AfterHook = Callable[[Connection, moves.Move, EventView], None]


class DeliverableOps(PlanOps):
    """Set-up, users, and the moves of deliverables."""

    # -- set-up -------------------------------------------------------------

    def init(self, definitions_dir: Path | None = None, actor: str = "system") -> list[str]:
        """Create the schema and load definitions; loading the same files again is a no-op.

        Returns the ids of definitions that were new or changed.
        """
        loaded = loader.load_directory(definitions_dir or loader.shipped_definitions_dir())
        for item in loaded:
            problems = errors_in(lint(item))
            if problems:
                raise InvalidInput(f"invalid definition {problems[0]}")
        database.create_schema(self.engine)
        with self._writing() as session:
            return [d.spec.id for d in loaded if self._store_definition(session, d, actor)]

    def _store_definition(
        self, session: Session, item: loader.LoadedDefinition, actor: str
    ) -> bool:
        row = session.get(WorkflowDefinition, item.sha256)
        if row is not None and row.current:
            return False
        session.execute(
            update(WorkflowDefinition)
            .where(col(WorkflowDefinition.type_id) == item.spec.id)
            .values(current=False)
        )
        if row is None:
            row = WorkflowDefinition(
                sha256=item.sha256, type_id=item.spec.id, title=item.spec.title,
                file=Path(item.file).name, source=item.source, loaded_at=self._now(),
            )
        row.current = True
        session.add(row)
        session.flush()
        audit.append(
            session, at=self._now(), actor=actor, role=None, action="definition.load",
            detail=detail({"type": item.spec.id, "sha256": item.sha256, "file": row.file}),
            seals=seals.seal_where(session.connection(), "workflow_definition",
                                   type_id=item.spec.id),
        )
        return True

    # -- deliverables -------------------------------------------------------

    def create(
        self, actor: str | None, type_id: str, title: str, *, owner: str | None = None,
        content: Content | None = None, due: date | None = None,
    ) -> DeliverableView:
        with self._writing() as session:
            who = self._actor(session, actor)
            holder = who if owner in (None, who.id) else self._actor(session, owner)
            definition = self._current_definition(session, type_id)
            spec = self.spec(definition.sha256)
            role = policy.creation_role(who, spec, holder)
            deliverable_id = self._insert_deliverable(
                session, who, role, holder.id, spec, definition.sha256, title,
                due=due, content=content,
            )
        return self.get(deliverable_id)

    def revise(self, actor: str | None, deliverable_id: int, content: Content) -> RevisionView:
        with self._writing() as session:
            who = self._actor(session, actor)
            item = self._state_of(session, deliverable_id)
            spec = self.spec(item.definition_sha)
            policy.require_revisable(who, item.owner_id, item.state, spec, deliverable_id)
            number = len(self._revisions(session, deliverable_id)) + 1
            sha, written = self._add_revision(session, deliverable_id, number, content, who.id)
            self._bump(session, deliverable_id, item.version, item.state)
            audit.append(
                session, at=self._now(), actor=who.id, role=_owner_role(who, spec),
                action="revise", deliverable_id=deliverable_id, source=item.state,
                dest=item.state, revision=sha,
                detail=detail({"number": number, "filename": content.filename}),
                seals=[written],
            )
        return self.revision(deliverable_id)

    def fire(
        self, actor: str | None, deliverable_id: int, trigger: str, comment: str | None = None,
        expected_version: int | None = None,
    ) -> EventView:
        """Fire ``trigger`` on a deliverable: check, move and audit in one transaction.

        Publicity windows are judged on today, by the engine's clock.
        """
        return self._fire(actor, deliverable_id, trigger, comment, expected_version)

    def _fire(
        self, actor: str | None, deliverable_id: int, trigger: str, comment: str | None = None,
        expected_version: int | None = None, *,
        before: MoveHook | None = None, after: AfterHook | None = None,
    ) -> EventView:
        """:meth:`fire`, with extra checks (``before``) and writes (``after``) of
        a specialised move inside the same transaction."""
        comment = (comment or "").strip() or None
        with self._writing_core() as connection:
            who = self._actor(connection, actor)
            item = self._state_of(connection, deliverable_id)
            if expected_version is not None and expected_version != item.version:
                raise Conflict(deliverable_id, expected_version, item.version)
            spec = self.spec(item.definition_sha)
            dest = self.machine(item.definition_sha).next_state(item.state, trigger)
            transition = spec.transition(item.state, trigger)
            assert transition is not None  # the machine just fired it
            role = policy.transition_role(
                who, policy.Answerable(item.owner_id, item.responsible_id), transition,
                deliverable_id)
            policy.require_reason(transition, comment, deliverable_id)
            revision = moves.latest_revision(connection, deliverable_id)
            if revision is None:
                raise TransitionNotAllowed("it has no content yet (campaign revise)",
                                           deliverable_id)
            move = moves.Move(deliverable_id, spec, transition, item.state, dest, who.id,
                              comment, self.today(), self._now())
            moves.check_content(connection, move, revision[1], item.definition_sha)
            moves.check_publicity(connection, move)
            if before is not None:
                before(connection, move)
            self._bump(connection, deliverable_id, item.version, dest)
            place = audit.position(connection)
            written = moves.record_publicity(connection, move)
            written += moves.record_reason(connection, move, revision, place.seq)
            event = audit.append(
                connection, at=move.now, actor=who.id, role=role, action="transition",
                deliverable_id=deliverable_id, trigger=trigger, source=item.state, dest=dest,
                comment=comment, revision=revision[1], seals=written, at_position=place,
            )
            if after is not None:
                after(connection, move, event)
            return event

    # -- publicity ------------------------------------------------------------------

    def object_to(self, actor: str | None, deliverable_id: int, reason: str) -> EventView:
        """An objection during publicity (today): fires the definition's objection trigger."""
        spec = self.definition_for(self.get(deliverable_id))
        if spec.publicity is None:
            raise TransitionNotAllowed(f"a {spec.id} has no publicity window to object in",
                                       deliverable_id)
        return self.fire(actor, deliverable_id, spec.publicity.objection_trigger, reason)

    def tick(self, actor: str | None, *, today: date | None = None) -> list[EventView]:
        """Close the publicity windows that ended before today without objection.

        ``today`` may name an earlier day (closing only windows ended before
        it), never a later one: a window cannot be closed ahead of time.
        """
        day = self._as_of(today)
        events = []
        for window in self.windows(open_only=True):
            if window.closes_on >= day:
                continue
            spec = self.definition_for(self.get(window.deliverable_id))
            assert spec.publicity is not None
            note = f"公示期满（{window.opened_on}至{window.closes_on}）无异议"
            if spec.publicity.close_trigger:
                events.append(self.fire(actor, window.deliverable_id,
                                        spec.publicity.close_trigger, note))
            else:
                events.append(self._end_window(actor, window.deliverable_id, note))
        return events

    def _end_window(self, actor: str | None, deliverable_id: int, note: str) -> EventView:
        with self._writing_core() as connection:
            who = self._actor(connection, actor)
            if not who.has(Role.OFFICE):
                raise PermissionDenied(who.id, "end a publicity window", "needs role office",
                                       deliverable_id)
            item = self._state_of(connection, deliverable_id)
            self._bump(connection, deliverable_id, item.version, item.state)
            return audit.append(
                connection, at=self._now(), actor=who.id, role=Role.OFFICE.value,
                action="publicity.end", deliverable_id=deliverable_id, source=item.state,
                dest=item.state, comment=note,
                seals=moves.close_window(connection, deliverable_id, self._now(), "ended"),
            )


def _owner_role(actor: policy.Actor, spec: WorkflowSpec) -> str | None:
    return next((r for r in spec.create_roles if actor.has(r)), None)
