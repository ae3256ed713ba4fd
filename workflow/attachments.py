"""Attachments: files stored content-addressed beside the database."""

from __future__ import annotations

from .writes import WriteBase


class AttachmentOps(WriteBase):
    """Attach files to deliverables and serve them back, verified."""
