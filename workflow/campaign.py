"""The engine's API in one object: open a database, then use its services.

Each capability is a service of its own, built from the same two shared
pieces — the :class:`~workflow.store.store.Store` (the connection, the one
write transaction, the audit append, the clock) and the
:class:`~workflow.services.registry.Registry` (definitions, specs and
machines, cached by hash).  Services stand side by side; none inherits
another, and a service that needs another is handed it here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from workflow.services.accounts import Accounts
from workflow.services.attachments import Attachments
from workflow.services.audit_trail import AuditTrail
from workflow.services.deliverables import Deliverables
from workflow.services.documents import Documents
from workflow.services.moves import Moves
from workflow.services.notifications import Notifications
from workflow.services.page_reads import PageReads
from workflow.services.people import People
from workflow.services.plan import Plan
from workflow.services.plan_records import PlanRecords
from workflow.services.public_objections import PublicObjections
from workflow.services.reads import Reads
from workflow.services.rectification import RULES as RECTIFICATION_RULES
from workflow.services.rectification import RectificationItems
from workflow.services.registry import Registry
from workflow.services.schema_admin import SchemaAdmin
from workflow.services.visibility import Visibility
from workflow.store import database
from workflow.store.clock import Clock, utc_now
from workflow.store.origin import Origin
from workflow.store.store import Store


class Campaign:
    """Open with :meth:`open`.  Reads return views; every write is one audited
    transaction that commits whole or leaves nothing behind."""

    def __init__(self, store: Store, *, max_attachment_bytes: int | None = None) -> None:
        self.store = store
        self.registry = Registry(store)
        self.reads = Reads(store, self.registry)
        self.people = People(store, self.reads)
        self.deliverables = Deliverables(store, self.registry, self.reads)
        self.moves = Moves(store, self.registry, self.reads, rules=(RECTIFICATION_RULES,))
        self.documents = Documents(store, self.registry, self.reads)
        self.attachments = Attachments(store, self.registry, max_attachment_bytes)
        self.rectification = RectificationItems(store, self.registry, self.moves)
        self.plan = Plan(store, self.registry, self.reads)
        self.records = PlanRecords(store, self.registry, self.reads, self.plan)
        self.audit = AuditTrail(store, self.registry, self.attachments)
        self.schema = SchemaAdmin(store)
        self.accounts = Accounts(store)
        self.visibility = Visibility(store, self.registry, self.reads)
        self.pages = PageReads(store, self.registry, self.attachments)
        self.notifications = Notifications(store, self.registry)
        self.public = PublicObjections(store, self.registry, self.reads, self.moves)

    def acting_from(self, origin: Origin) -> AbstractContextManager[None]:
        """Record ``origin`` on the writes made inside (a served request's client)."""
        return self.store.acting_from(origin)

    @classmethod
    def open(
        cls, url: str | None = None, clock: Clock = utc_now, origin: Origin | None = None,
        *, max_attachment_bytes: int | None = None,
    ) -> Campaign:
        """``clock`` gives every write its time (a simulated calendar for the
        demo and tests); ``origin`` is recorded with each write (default: this
        process, channel ``api``)."""
        engine = database.make_engine(database.resolve_url(url))
        return cls(Store(engine, clock, origin), max_attachment_bytes=max_attachment_bytes)
