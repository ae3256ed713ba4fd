"""The engine's API in one object: open a database, then read and write through it.

Each capability is a layer of its own module — reads (:mod:`queries`), the
write base (:mod:`writes`), the campaign plan (:mod:`plan_service`),
deliverables' moves (:mod:`service`), review documents (:mod:`documents`),
attachments (:mod:`attachments`), rectification items (:mod:`rectification`) —
and :class:`Campaign` stacks them.
"""

from __future__ import annotations

from workflow.services.attachments import AttachmentOps
from workflow.services.documents import DocumentOps
from workflow.services.rectification import RectificationOps
from workflow.services.writes import Clock, utc_now
from workflow.store import database
from workflow.store.origin import Origin


class Campaign(RectificationOps, DocumentOps, AttachmentOps):
    """Open with :meth:`open`; every method reads, or writes in one audited transaction."""

    @classmethod
    def open(
        cls, url: str | None = None, clock: Clock = utc_now, origin: Origin | None = None
    ) -> Campaign:
        """``clock`` gives every write its time (a simulated calendar for the
        demo and tests); ``origin`` is recorded with each write (default: this
        process, channel ``api``)."""
        return cls(database.make_engine(database.resolve_url(url)), clock, origin)
