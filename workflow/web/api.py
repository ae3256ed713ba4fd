"""The JSON API under ``/api``: the same services as the pages and the
command line, for programs (its OpenAPI document is ``/api/openapi.json``).

Signing in (``POST /api/session``) sets the pages' session cookie and
answers with the session's CSRF token; every later POST and DELETE must send
that token in the ``X-CSRF-Token`` header, which a cross-site form cannot set.
The sign-in itself takes a JSON body, which a cross-site form cannot send
either (a ``text/plain`` body is refused as invalid input).

Every refusal is ``{"error", "message", "exit_code"}`` with the status
:mod:`workflow.web.failures` gives the error's class, and so are the
requests FastAPI finds malformed (:class:`ApiRoute`).  A deliverable the
user may not read answers 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from workflow.campaign import Campaign
from workflow.errors import InvalidInput, PasswordChangeNeeded, SignInNeeded
from workflow.store.views import DeliverableView
from workflow.web.api_models import (
    CampaignAnswer,
    ErrorBody,
    GateLine,
    HistoryEntry,
    InboxPage,
    MoveAnswer,
    MoveOption,
    MoveRequest,
    MovesAnswer,
    Notice,
    SessionAnswer,
    SignInRequest,
)
from workflow.web.context import (
    CSRF_HEADER,
    ID_MAX,
    SESSION_COOKIE,
    DeliverableId,
    Viewer,
    check_api_write,
    clear_session_cookie,
    client_address,
    refused_as_missing,
    set_session_cookie,
    viewer,
    web,
)
from workflow.web.failures import campaign_error


class ApiRoute(APIRoute):
    """A route whose malformed requests get the API's error body (422), not
    FastAPI's ``{"detail": [...]}`` (422, or 400 for a body it cannot decode):
    one shape and one status for every malformed request."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as invalid:
                return await campaign_error(request, InvalidInput(_explain(invalid)))
            except HTTPException as unreadable:  # a body that is not even text
                if unreadable.status_code != 400:
                    raise
                return await campaign_error(request, InvalidInput(unreadable.detail))

        return answer


def _explain(invalid: RequestValidationError) -> str:
    """``body.trigger: String should match pattern ...; query.limit: ...``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                     for e in invalid.errors()) or "invalid request"


router = APIRouter(prefix="/api", tags=["api"], route_class=ApiRoute)

# -- who is asking ------------------------------------------------------------------

# Declared as security schemes, so the OpenAPI document says how to sign in.
_COOKIE = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="Set by POST /api/session (and by the sign-in page).")
_TOKEN = APIKeyHeader(name=CSRF_HEADER, auto_error=False,
                      description="The session's `csrf`, on every POST and DELETE.")


def _session_user(request: Request, _: Annotated[str | None, Security(_COOKIE)]) -> Viewer:
    """The signed-in user, even one who must change a temporary password first."""
    who = viewer(request)
    if who is None:
        raise SignInNeeded(request.url.path)
    return who


def _user(who: Annotated[Viewer, Depends(_session_user)]) -> Viewer:
    if who.must_change:
        raise PasswordChangeNeeded(who.id)
    return who


def _writer(request: Request, who: Annotated[Viewer, Depends(_user)],
            _: Annotated[str | None, Security(_TOKEN)]) -> Viewer:
    check_api_write(request, who)
    return who


SessionUser = Annotated[Viewer, Depends(_session_user)]
User = Annotated[Viewer, Depends(_user)]
Writer = Annotated[Viewer, Depends(_writer)]

# -- what each route may answer besides success ----------------------------------------

_WHY = {
    401: "Not signed in, or a wrong account or password.",
    403: "Not allowed: a rule refuses it, the X-CSRF-Token header is missing or wrong, "
         "or a temporary password must be changed first.",
    404: "No such thing, or one the signed-in user may not read.",
    409: "The move is not possible now, or the deliverable changed since `if_version`.",
    422: "The request is malformed, or its values are not acceptable.",
    429: "Too many failed sign-ins for the account or from the address: wait Retry-After "
         "seconds.",
    503: "The database cannot be used now; try again.",
}
_RETRY = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _WHY[code],
                   **({"headers": _RETRY} if code == 429 else {})} for code in codes}


SIGNED_IN = (401, 403, 422, 503)

# -- the session ----------------------------------------------------------------------


@router.post("/session", responses=errors(401, 422, 429, 503))
def sign_in(request: Request, response: Response, credentials: SignInRequest
            ) -> SessionAnswer:
    """Sign in: sets the session cookie; send ``csrf`` back in ``X-CSRF-Token``."""
    campaign = _campaign(request)
    opened = campaign.accounts.sign_in(credentials.account, credentials.password,
                                       client_address(request))
    set_session_cookie(request, response, opened.token)
    return SessionAnswer(user=campaign.reads.user(opened.user_id), csrf=opened.csrf,
                         expires_at=opened.expires_at, must_change=opened.must_change)


@router.delete("/session", status_code=204, response_class=Response,
               responses=errors(*SIGNED_IN))
def sign_out(request: Request, who: SessionUser,
             _: Annotated[str | None, Security(_TOKEN)]) -> Response:
    check_api_write(request, who)
    _campaign(request).accounts.sign_out(who.token)
    answer = Response(status_code=204)
    clear_session_cookie(answer)
    return answer


@router.get("/me", responses=errors(*SIGNED_IN))
def me(request: Request, who: SessionUser) -> SessionAnswer:
    """Who is signed in, and the session's CSRF token."""
    campaign = _campaign(request)
    found = campaign.accounts.session(who.token)
    if found is None:  # ended between the two reads
        raise SignInNeeded(request.url.path)
    return SessionAnswer(user=campaign.reads.user(who.id), csrf=found.csrf,
                         expires_at=found.expires_at, must_change=found.must_change)


# -- deliverables ---------------------------------------------------------------------


@router.get("/inbox", responses=errors(*SIGNED_IN))
def inbox(request: Request, who: User,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
          after: Annotated[int | None, Query(ge=0, le=ID_MAX)] = None) -> InboxPage:
    """What the signed-in user may act on now, by deliverable id, ``limit``
    of them after id ``after``."""
    items = _campaign(request).reads.inbox(who.id, limit=limit, after=after)
    more = len(items) == limit
    return InboxPage(items=items, next_after=items[-1].deliverable.id if more else None)


@router.get("/deliverables/{deliverable_id}", responses=errors(*SIGNED_IN, 404))
def deliverable(request: Request, who: User, deliverable_id: DeliverableId
                ) -> DeliverableView:
    campaign = _readable(request, who, deliverable_id)
    return campaign.reads.get(deliverable_id)


@router.get("/deliverables/{deliverable_id}/history", responses=errors(*SIGNED_IN, 404))
def history(request: Request, who: User, deliverable_id: DeliverableId
            ) -> list[HistoryEntry]:
    campaign = _readable(request, who, deliverable_id)
    return [HistoryEntry.of(e) for e in campaign.reads.history(deliverable_id)]


@router.get("/deliverables/{deliverable_id}/moves", responses=errors(*SIGNED_IN, 404))
def moves(request: Request, who: User, deliverable_id: DeliverableId) -> MovesAnswer:
    """The moves the signed-in user may make now: the deliverable page's buttons."""
    campaign = _readable(request, who, deliverable_id)
    version = campaign.reads.get(deliverable_id).version
    offers = campaign.pages.offers(
        who.id, deliverable_id)
    return MovesAnswer(deliverable_id=deliverable_id, version=version,
                       moves=[MoveOption.of(m) for m in offers.moves])


@router.post("/deliverables/{deliverable_id}/moves",
             responses=errors(*SIGNED_IN, 404, 409))
def move(request: Request, who: Writer, deliverable_id: DeliverableId, wanted: MoveRequest
         ) -> MoveAnswer:
    """Make a move, as the signed-in user; the engine decides, and records a refusal."""
    campaign = _campaign(request)
    with refused_as_missing(campaign, who.id, deliverable_id):
        event = campaign.moves.fire(
            who.id, deliverable_id, wanted.trigger, wanted.comment, wanted.if_version,
            payload={"rating": wanted.rating} if wanted.rating is not None else None)
    return MoveAnswer(event=HistoryEntry.of(event), deliverable=campaign.reads.get(deliverable_id))


# -- the campaign and its public notices --------------------------------------------------


@router.get("/campaign", responses=errors(*SIGNED_IN, 404))
def campaign_phase(request: Request, who: User) -> CampaignAnswer:
    """The current phase and the checklist for leaving it (404 before a campaign starts)."""
    plan = _campaign(request).plan
    phase = plan.phase()
    leaf = plan.spec().leaf(phase)
    gate = [GateLine(label=c.label, key=c.key, satisfied=c.satisfied, missing=list(c.missing),
                     flagged=list(c.flagged)) for c in plan.gate()]
    return CampaignAnswer(phase=phase, phase_label=leaf.label, phase_label_en=leaf.label_en,
                          gate=gate)


@router.get("/notices", responses=errors(503))
def notices(request: Request) -> list[Notice]:
    """The deliverables in their publicity window now: public, no sign-in."""
    campaign = _campaign(request)
    found = []
    for window in campaign.reads.windows(open_only=True):
        item = campaign.reads.get(window.deliverable_id)
        found.append(Notice(deliverable_id=item.id, type=item.type, title=item.title,
                            owner=item.owner, state_label=item.state_label,
                            opened_on=window.opened_on, closes_on=window.closes_on))
    return found


# -- helpers --------------------------------------------------------------------------


def _campaign(request: Request) -> Campaign:
    return web(request).campaign


def _readable(request: Request, who: Viewer, deliverable_id: int) -> Campaign:
    """The campaign, once the user may read the deliverable (else NotFound)."""
    campaign = _campaign(request)
    campaign.visibility.require_read(who.id, deliverable_id)
    return campaign

