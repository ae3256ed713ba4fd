"""The definitions and plans a database holds, as specs and machines.

Every deliverable names the definition it runs under by its hash, and every
campaign its plan: a spec, once parsed, holds for ever, so each is parsed
once per process and its machine built once.  Every service reads them here.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from workflow.errors import NotFound
from workflow.machine.deliverables import DeliverableMachine, machine_for
from workflow.spec import loader
from workflow.spec.definition import WorkflowSpec
from workflow.spec.plan import PlanSpec
from workflow.store.models import PlanRun, WorkflowDefinition
from workflow.store.store import Store
from workflow.store.views import DeliverableView


class Registry:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._specs: dict[str, WorkflowSpec] = {}
        self._machines: dict[str, DeliverableMachine] = {}
        self._plans: dict[str, PlanSpec] = {}

    def spec(self, sha256: str) -> WorkflowSpec:
        """The spec of the definition with this hash."""
        if sha256 not in self._specs:
            with self._store.read() as session:
                row = session.get(WorkflowDefinition, sha256)
                if row is None:
                    raise NotFound("definition", sha256)
                file, source = row.file, row.source
            self._specs[sha256] = loader.parse_definition(source, f"{file}@{sha256[:12]}").spec
        return self._specs[sha256]

    def machine(self, sha256: str) -> DeliverableMachine:
        # Keyed by the definition's hash: hashing the frozen spec itself walks
        # every field, on every move.
        if sha256 not in self._machines:
            self._machines[sha256] = machine_for(self.spec(sha256))
        return self._machines[sha256]

    def definition_for(self, view: DeliverableView) -> WorkflowSpec:
        """The definition a deliverable runs under (it may predate the current one)."""
        return self.spec(view.definition_sha256)

    def definitions(self) -> list[WorkflowSpec]:
        """The current definition of every type, by type id."""
        with self._store.read() as session:
            shas = list(session.exec(
                select(WorkflowDefinition.sha256).where(col(WorkflowDefinition.current))
                .order_by(col(WorkflowDefinition.type_id))
            ).all())
        return [self.spec(sha) for sha in shas]

    def definition(self, type_id: str) -> WorkflowSpec:
        """The current definition of a type."""
        with self._store.read() as session:
            sha = self.current(session, type_id).sha256
        return self.spec(sha)

    @staticmethod
    def current(session: Session, type_id: str) -> WorkflowDefinition:
        """The row of a type's current definition, read in the caller's transaction."""
        row = session.exec(
            select(WorkflowDefinition).where(
                col(WorkflowDefinition.type_id) == type_id, col(WorkflowDefinition.current)
            )
        ).first()
        if row is None:
            raise NotFound("deliverable type", type_id)
        return row

    def plan(self, row: PlanRun) -> PlanSpec:
        """The plan a campaign was started from."""
        if row.sha256 not in self._plans:
            self._plans[row.sha256] = loader.parse_plan(
                row.source, f"{row.file}@{row.sha256[:12]}").spec
        return self._plans[row.sha256]
