"""Set-up and the life of a deliverable before and between its moves: loading
the definitions, creating a deliverable, revising its content."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col

from workflow.errors import InvalidInput
from workflow.machine import policy
from workflow.services.reads import Reads, revision_rows
from workflow.services.registry import Registry
from workflow.services.rows import add_revision, insert_deliverable, own_role
from workflow.spec import loader
from workflow.spec.content import Content
from workflow.spec.lint import errors_in, lint
from workflow.store import audit, schema, seals
from workflow.store.models import WorkflowDefinition
from workflow.store.store import Store
from workflow.store.views import DeliverableView, RevisionView


class Deliverables:
    def __init__(self, store: Store, registry: Registry, reads: Reads) -> None:
        self._store = store
        self._registry = registry
        self._reads = reads

    def init(self, definitions_dir: Path | None = None, actor: str = "system") -> list[str]:
        """Create the schema and load definitions; loading the same files again is a no-op.

        Returns the ids of definitions that were new or changed.
        """
        loaded = loader.load_directory(definitions_dir or loader.shipped_definitions_dir())
        for item in loaded:
            problems = errors_in(lint(item))
            if problems:
                raise InvalidInput(f"invalid definition {problems[0]}")
        schema.create_schema(self._store.engine)
        with self._store.writing() as session:
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
                file=Path(item.file).name, source=item.source, loaded_at=self._store.now(),
            )
        row.current = True
        session.add(row)
        session.flush()
        audit.append(
            session, at=self._store.now(), actor=actor, role=None, action="definition.load",
            detail=audit.detail({"type": item.spec.id, "sha256": item.sha256,
                                 "file": row.file}),
            seals=seals.seal_where(session.connection(), "workflow_definition",
                                   type_id=item.spec.id),
        )
        return True

    def create(
        self, actor: str | None, type_id: str, title: str, *, owner: str | None = None,
        content: Content | None = None, due: date | None = None,
    ) -> DeliverableView:
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            holder = who if owner in (None, who.id) else self._store.actor(session, owner)
            definition = self._registry.current(session, type_id)
            spec = self._registry.spec(definition.sha256)
            role = policy.creation_role(who, spec, holder)
            deliverable_id = insert_deliverable(
                self._store, session, who, role, holder.id, spec, definition.sha256, title,
                due=due, content=content,
            )
        return self._reads.get(deliverable_id)

    def revise(self, actor: str | None, deliverable_id: int, content: Content) -> RevisionView:
        with self._store.writing() as session:
            who = self._store.actor(session, actor)
            item = self._store.state_of(session, deliverable_id)
            spec = self._registry.spec(item.definition_sha)
            policy.require_revisable(who, item.owner_id, item.state, spec, deliverable_id)
            number = len(revision_rows(session, deliverable_id)) + 1
            sha, written = add_revision(self._store, session, deliverable_id, number, content,
                                        who.id)
            self._store.bump(session, deliverable_id, item.version, item.state)
            audit.append(
                session, at=self._store.now(), actor=who.id, role=own_role(who, spec),
                action="revise", deliverable_id=deliverable_id, source=item.state,
                dest=item.state, revision=sha,
                detail=audit.detail({"number": number, "filename": content.filename}),
                seals=[written],
            )
        return self._reads.revision(deliverable_id)
