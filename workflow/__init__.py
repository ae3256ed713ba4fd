"""campaign: a workflow engine that runs a campaign's paperwork as audited state machines.

The public API is :class:`Campaign` (open a database, read and write through
it) and the error tree in :mod:`workflow.errors`.  Submodules are imported on
first use so that ``campaign --help`` starts as fast as click itself.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .campaign import Campaign
    from .spec.content import Content, from_text, read_content

__all__ = ["Campaign", "Content", "from_text", "read_content"]

_EXPORTS = {
    "Campaign": "campaign",
    "Content": "spec.content",
    "from_text": "spec.content",
    "read_content": "spec.content",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'workflow' has no attribute {name!r}")
