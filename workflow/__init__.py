"""campaign: a workflow engine that runs a campaign's paperwork as audited state machines.

The public API is :class:`Campaign` — open a database, then use its services
(``campaign.moves.fire(...)``, ``campaign.reads.inbox(...)``, …) — the
content helpers, the views it returns, and the error tree, each error with
its exit code.  The facade and the content helpers are imported on first use
(lazy: start-up speed), so that ``campaign --help`` starts as fast as click.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from workflow.errors import (
    EXIT_CODES,
    AuditVerificationFailed,
    CampaignError,
    Conflict,
    ContentIntegrityError,
    DatabaseBusy,
    DatabaseReadOnly,
    DatabaseUnavailable,
    DefinitionError,
    FormExpired,
    IncompatibleDatabase,
    IntegrityError,
    IntegrityFailure,
    Interrupted,
    InvalidInput,
    NotFound,
    NotifierStopped,
    ObjectionsThrottled,
    PasswordChangeNeeded,
    PermissionDenied,
    RosterError,
    SignInNeeded,
    SignInRefused,
    SignInThrottled,
    TransitionNotAllowed,
)

if TYPE_CHECKING:
    from workflow.campaign import Campaign
    from workflow.spec.content import Content, from_text, read_content

__all__ = [
    "EXIT_CODES",
    "AuditVerificationFailed",
    "Campaign",
    "CampaignError",
    "Conflict",
    "Content",
    "ContentIntegrityError",
    "DatabaseBusy",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "DefinitionError",
    "FormExpired",
    "IncompatibleDatabase",
    "IntegrityError",
    "IntegrityFailure",
    "Interrupted",
    "InvalidInput",
    "NotFound",
    "NotifierStopped",
    "ObjectionsThrottled",
    "PasswordChangeNeeded",
    "PermissionDenied",
    "RosterError",
    "SignInNeeded",
    "SignInRefused",
    "SignInThrottled",
    "TransitionNotAllowed",
    "from_text",
    "read_content",
]

# Lazy: start-up speed.  The facade pulls in the whole engine.
_LAZY = {
    "Campaign": "workflow.campaign",
    "Content": "workflow.spec.content",
    "from_text": "workflow.spec.content",
    "read_content": "workflow.spec.content",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workflow' has no attribute {name!r}")
