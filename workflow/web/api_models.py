"""The JSON API's requests and answers: pydantic models, so that the OpenAPI
document at ``/api/openapi.json`` says exactly what is sent and received.

The engine's views (:mod:`workflow.store.views`) are reused where they are
what a client needs; an audit event is shown without the operating-system
account and the client address it was written from (those are for the
office's ``audit`` commands, not for everyone who may read a deliverable).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from workflow.services.page_reads import MoveOffer
from workflow.spec.definition import USER_ID_MAX
from workflow.store.views import DeliverableView, EventView, InboxItem, UserView

#: Largest version (a 32-bit column; ids are 64-bit: ``context.ID_MAX``):
#: anything larger is refused as invalid input, never sent to SQL.
VERSION_MAX = 2**31 - 1
#: Text a client sends: no NUL (PostgreSQL refuses it in any text column).
_NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(pattern=_NO_NUL)]


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorBody(Answer):
    """Every refusal: the error's class, its one-line message, and the exit
    code the command line gives for the same error."""

    error: str = Field(examples=["PermissionDenied"])
    message: str
    exit_code: int


class SignInRequest(BaseModel):
    account: Annotated[str, Field(max_length=4 * USER_ID_MAX, pattern=_NO_NUL)]
    password: Annotated[str, Field(max_length=1024, pattern=_NO_NUL)]


class SessionAnswer(Answer):
    """The signed-in user and what their writes need: ``csrf`` goes in the
    ``X-CSRF-Token`` header of every POST and DELETE."""

    user: UserView
    csrf: str
    expires_at: str
    must_change: bool = Field(description="a temporary password: change it on /password "
                                          "before anything else")


class InboxPage(Answer):
    items: list[InboxItem]
    #: Pass as ``after`` for the next page; None on the last one.
    next_after: int | None


class HistoryEntry(Answer):
    seq: int
    at: str
    actor: str
    role: str | None
    action: str
    deliverable_id: int | None
    trigger: str | None
    source: str | None
    dest: str | None
    comment: str | None
    revision: str | None
    channel: str | None = None

    @classmethod
    def of(cls, event: EventView) -> HistoryEntry:
        return cls.model_validate(event.model_dump(include=set(cls.model_fields)))


class MoveOption(Answer):
    trigger: str
    label: str
    label_en: str
    dest: str
    requires_comment: bool
    #: The ratings to choose one from, for a move that needs one (else empty).
    ratings: list[str]

    @classmethod
    def of(cls, move: MoveOffer) -> MoveOption:
        return cls(trigger=move.trigger, label=move.label, label_en=move.label_en,
                   dest=move.dest, requires_comment=move.requires_comment,
                   ratings=list(move.ratings))


class MovesAnswer(Answer):
    """The moves the signed-in user may make now; send ``version`` back as
    ``if_version`` so a move made on a stale view is refused (409)."""

    deliverable_id: int
    version: int
    moves: list[MoveOption]


class MoveRequest(BaseModel):
    trigger: Annotated[str, Field(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    comment: Annotated[str | None, Field(max_length=4000, pattern=_NO_NUL)] = None
    if_version: Annotated[int | None, Field(ge=0, le=VERSION_MAX)] = None
    #: For a move that needs one (a rectification item's verification): one of
    #: the ``ratings`` its offer lists.
    rating: Annotated[str | None, Field(max_length=64, pattern=_NO_NUL)] = None


class MoveAnswer(Answer):
    event: HistoryEntry
    deliverable: DeliverableView


class GateLine(Answer):
    label: str
    key: str
    satisfied: bool
    missing: list[str]
    flagged: list[str]


class CampaignAnswer(Answer):
    phase: str
    phase_label: str
    phase_label_en: str
    #: What leaving the phase needs; every line satisfied opens the gate.
    gate: list[GateLine]


class Notice(Answer):
    """A deliverable in its publicity window (公示): public, no sign-in."""

    deliverable_id: int
    type: str
    title: str
    owner: str
    state_label: str
    opened_on: date
    closes_on: date
