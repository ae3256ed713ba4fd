"""Review documents: diffs between revisions, review opinions, content checks."""

from __future__ import annotations

from .service import DeliverableOps


class DocumentOps(DeliverableOps):
    """What reviewers read: what changed, what was said about it."""
