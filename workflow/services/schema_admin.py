"""The schema's revision and its upgrade (``campaign db status|upgrade``).

An upgrade changes no audited row and appends no audit event: it is the
operator's act on the database's structure, not a campaign act, so it needs
no acting user (there may be none yet on an old database).  What it did is
the stamp in ``alembic_version``, which ``status`` shows; the audit chain it
leaves is the one it found, which ``campaign audit verify`` still checks.
"""

from __future__ import annotations

from workflow.store import revisions, schema
from workflow.store.store import Store
from workflow.store.views import View


class SchemaStatus(View):
    """Where the database's schema stands against this build's head."""

    #: The revision it holds (None: a missing or empty database).
    current: str | None
    head: str
    #: The revisions an upgrade would run, oldest first.
    pending: tuple[str, ...]
    #: False for a database made before migrations: the upgrade stamps it.
    stamped: bool
    upgrade_needed: bool


class SchemaAdmin:
    def __init__(self, store: Store) -> None:
        self._store = store

    def status(self) -> SchemaStatus:
        """Never writes; refuses (exit 7) a database that is not ours or a newer one."""
        return _status(schema.schema_revision(self._store.engine))

    def upgrade(self) -> tuple[SchemaStatus, SchemaStatus]:
        """Upgrade to the head in one transaction; the status before and after."""
        before = _status(schema.upgrade_schema(self._store.engine))
        return before, self.status()


def _status(found: schema.Found) -> SchemaStatus:
    pending = tuple(revisions.pending(found.revision))
    return SchemaStatus(
        current=found.revision, head=revisions.HEAD, pending=pending,
        stamped=found.stamped,
        upgrade_needed=found.revision is not None and bool(pending or not found.stamped))
