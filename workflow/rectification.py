"""Rectification items (整改事项) to completion: their five fields, progress, rating."""

from __future__ import annotations

from .service import DeliverableOps


class RectificationOps(DeliverableOps):
    """The five fields, progress notes, the completion claim and the office's rating."""
