"""The public notice board (公示): what is in publicity now, each notice's
text and window, and an objection form for anyone, signed in or not.

Nothing here needs an account.  A deliverable that is not in publicity does
not exist for the board (404); an objection goes through
:class:`~workflow.services.public_objections.PublicObjections`, which checks
the window, throttles each address and records it as the public's.  The
notice's wording is the one ``campaign notice`` prints; its content is shown
as plain text, escaped like every value here.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.errors import InvalidInput, ObjectionsThrottled, TransitionNotAllowed
from workflow.render.notices import notice_pieces
from workflow.spec import content
from workflow.web.context import CheckedForm, DeliverableId, render, web

router = APIRouter(prefix="/notices")


@router.get("")
def notices(request: Request, objected: int | None = Query(default=None, ge=1)) -> Response:
    campaign = web(request).campaign
    return render(request, "notices.html", {"notices": campaign.public.notices(),
                                            "objected": objected})


def _notice_page(request: Request, deliverable_id: int, *, problem: Exception | None = None,
                 sent: dict[str, str] | None = None, status_code: int = 200) -> Response:
    campaign = web(request).campaign
    notice = campaign.public.notice(deliverable_id)  # NotFound unless it is in publicity
    parts, revision, data = notice_pieces(campaign, deliverable_id)
    text = content.text_of(revision.media_type, data) if content.has_text(
        revision.media_type) else None
    return render(request, "notice.html", {
        "notice": notice, "parts": parts, "revision": revision, "text": text,
        "problem": problem, "throttled": isinstance(problem, ObjectionsThrottled),
        "sent": sent or {}}, status_code=status_code)


@router.get("/{deliverable_id}")
def notice_page(request: Request, deliverable_id: DeliverableId) -> Response:
    return _notice_page(request, deliverable_id)


@router.post("/{deliverable_id}/objection")
def objection(request: Request, deliverable_id: DeliverableId, form: CheckedForm) -> Response:
    """The window closed (409), bad input (422) or too many from this address
    (429) show the notice again with the problem and what was typed."""
    sent = {name: value for name in ("name", "contact", "reason")
            if isinstance(value := form.get(name), str)}
    try:
        web(request).campaign.public.object(deliverable_id, sent.get("name", ""),
                                            sent.get("contact", ""), sent.get("reason", ""))
    except InvalidInput as problem:
        return _notice_page(request, deliverable_id, problem=problem, sent=sent,
                            status_code=422)
    except TransitionNotAllowed as problem:
        return _notice_page(request, deliverable_id, problem=problem, sent=sent,
                            status_code=409)
    except ObjectionsThrottled as problem:
        page = _notice_page(request, deliverable_id, problem=problem, sent=sent,
                            status_code=429)
        page.headers["Retry-After"] = str(problem.retry_after_seconds)
        return page
    return RedirectResponse(f"/notices?objected={deliverable_id}", status_code=303)
