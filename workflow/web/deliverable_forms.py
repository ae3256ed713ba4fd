"""The writes a deliverable's page posts: a move, a revision, an attachment,
an opinion.  Each checks the form's token and the rule of sight, then calls
the service the command line calls, as the signed-in user: the service
decides, refuses (recording a refused permission) and audits; a refusal
propagates to the error page with its status (403, 409, 422).  Success
answers 303 back to the page, which says what was done."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.spec import content
from workflow.web.context import CheckedForm, DeliverableId, SignedIn, refused_as_missing
from workflow.web.deliverable_common import (
    bounded_bytes,
    campaign_of,
    optional_number,
    readable,
    spooled_to_disk,
    text_field,
    uploaded,
)

router = APIRouter()


def _back(deliverable_id: int, what: str, value: str) -> Response:
    query = urlencode({what: value})
    return RedirectResponse(f"/deliverables/{deliverable_id}?{query}", status_code=303)


@router.post("/deliverables/{deliverable_id}/moves")
def move(request: Request, who: SignedIn, form: CheckedForm, deliverable_id: DeliverableId
         ) -> Response:
    """Fire the posted trigger at the version the page showed (a changed
    deliverable is a conflict: the page was stale)."""
    campaign = campaign_of(request)
    trigger = text_field(form, "trigger")
    rating = text_field(form, "rating")
    with refused_as_missing(campaign, who.id, deliverable_id):
        campaign.moves.fire(who.id, deliverable_id, trigger,
                            text_field(form, "comment") or None,
                            optional_number(form, "if_version"),
                            payload={"rating": rating} if rating else None)
    return _back(deliverable_id, "done", trigger)


@router.post("/deliverables/{deliverable_id}/revisions")
def revise(request: Request, who: SignedIn, form: CheckedForm,
           deliverable_id: DeliverableId) -> Response:
    """A new revision from an uploaded Markdown, text or Word file, checked as
    ``campaign revise --content FILE`` checks it."""
    campaign = readable(request, who, deliverable_id)
    upload = uploaded(form)
    data = bounded_bytes(upload, content.MAX_BYTES)
    revision = campaign.deliverables.revise(
        who.id, deliverable_id, content.check(upload.filename or "", data))
    return _back(deliverable_id, "revision", str(revision.number))


@router.post("/deliverables/{deliverable_id}/attachments")
def attach(request: Request, who: SignedIn, form: CheckedForm,
           deliverable_id: DeliverableId) -> Response:
    campaign = readable(request, who, deliverable_id)
    with spooled_to_disk(uploaded(form), campaign.attachments.max_bytes) as path:
        campaign.attachments.attach(who.id, deliverable_id, path)
    return _back(deliverable_id, "attached", "1")


@router.post("/deliverables/{deliverable_id}/opinions")
def add_opinion(request: Request, who: SignedIn, form: CheckedForm,
                deliverable_id: DeliverableId) -> Response:
    campaign = readable(request, who, deliverable_id)
    campaign.documents.add_opinion(who.id, deliverable_id, text_field(form, "text"),
                                   line=optional_number(form, "line"),
                                   revision=optional_number(form, "revision"))
    return _back(deliverable_id, "opinion", "1")
