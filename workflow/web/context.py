"""What every route needs: the campaign, who is signed in, the CSRF token of
the form being served, and a page rendered in the viewer's language.

The cookie carries a random token signed with the database's key (so a
forged or stale cookie is turned away before any lookup) and with its time
(so an old one expires even if the browser keeps it); the session row, found
by the token's sha256, says who it is and holds the token forms must echo.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, TimestampSigner
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from workflow.campaign import Campaign
from workflow.errors import CampaignError, FormExpired, PasswordChangeNeeded, SignInNeeded
from workflow.web import language
from workflow.web.settings import WebSettings

SESSION_COOKIE = "campaign_session"
#: A signed-out visitor's form token (sign-in, objections): double-submitted,
#: the cookie and the form must agree.
FORM_COOKIE = "campaign_form"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a request."""

    id: str
    name: str
    roles: tuple[str, ...]
    csrf: str
    token: str
    must_change: bool

    def has(self, role: str) -> bool:
        return role in self.roles


class Web:
    """The application's state: one campaign (its engine pools connections
    for every request of this worker), the signer and the templates."""

    def __init__(self, campaign: Campaign, settings: WebSettings, templates: Jinja2Templates
                 ) -> None:
        self.campaign = campaign
        self.settings = settings
        self.templates = templates
        self.signer = TimestampSigner(campaign.accounts.cookie_key(), salt="campaign.session")

    def sign(self, token: str) -> str:
        return self.signer.sign(token).decode("ascii")

    def unsign(self, value: str) -> str | None:
        try:
            max_age = int(self.settings.session_lifetime.total_seconds())
            return self.signer.unsign(value, max_age=max_age).decode("ascii")
        except BadSignature:  # forged, altered or expired (SignatureExpired is one)
            return None


def web(request: Request) -> Web:
    state: Web = request.app.state.web
    return state


def viewer(request: Request) -> Viewer | None:
    """Who is signed in, or None; looked up once per request."""
    if not hasattr(request.state, "viewer"):
        request.state.viewer = _look_up(request)
    found: Viewer | None = request.state.viewer
    return found


def _look_up(request: Request) -> Viewer | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    token = web(request).unsign(cookie) if cookie else None
    found = web(request).campaign.accounts.session(token) if token else None
    if found is None or token is None:
        return None
    return Viewer(found.user_id, found.name, found.roles, found.csrf, token, found.must_change)


def signed_in(request: Request) -> Viewer:
    """The signed-in user, for a route only they may use."""
    who = viewer(request)
    if who is None:
        raise SignInNeeded(request.url.path)
    if who.must_change and request.url.path != "/password":
        raise PasswordChangeNeeded(who.id)
    return who


def form_token(request: Request) -> str:
    """The token the page's forms carry: the session's, or a signed-out visitor's."""
    who = viewer(request)
    if who is not None:
        return who.csrf
    if not hasattr(request.state, "form_token"):
        cookie = request.cookies.get(FORM_COOKIE)
        known = web(request).unsign(cookie) if cookie else None
        request.state.form_token = known
        request.state.new_form_token = None if known else secrets.token_urlsafe(32)
    token: str = request.state.form_token or request.state.new_form_token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, refused unless it carries this visitor's token."""
    form = await request.form()
    sent = form.get("csrf")
    expected = await run_in_threadpool(form_token, request)  # it may read the session
    if not isinstance(sent, str) or not secrets.compare_digest(sent, expected) \
            or getattr(request.state, "new_form_token", None):
        raise FormExpired()
    return form


#: The largest id the database holds (64-bit: migration 0006).
ID_MAX = 2**63 - 1
#: A route's parameter types: a deliverable's id in the path (anything else is
#: invalid input, never sent to SQL); the signed-in user; the posted form, its
#: token checked.
DeliverableId = Annotated[int, Path(ge=1, le=ID_MAX)]
SignedIn = Annotated[Viewer, Depends(signed_in)]
CheckedForm = Annotated[FormData, Depends(checked_form)]


def check_api_write(request: Request, who: Viewer) -> None:
    """An API write must echo the session's token in a header (a cross-site
    form cannot set one)."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not secrets.compare_digest(sent, who.csrf):
        raise FormExpired(who.id)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    """A page in the viewer's language, with what every page shows."""
    lang = language.language(request)
    page = {"request": request, "lang": lang, "t": language.translator(lang),
            "label": lambda zh, en=None: language.label(lang, zh, en),
            "viewer": viewer(request), "csrf": form_token(request), **(context or {})}
    response = web(request).templates.TemplateResponse(request, name, page,
                                                       status_code=status_code)
    keep_cookies(request, response)
    return response


def keep_cookies(request: Request, response: Response) -> None:
    """Set the cookies this request chose: the language, a new form token."""
    secure = web(request).settings.secure_cookies
    asked = request.query_params.get("lang")
    if asked in language.LANGUAGES:
        response.set_cookie(language.COOKIE, asked, max_age=365 * 86400, samesite="lax",
                            secure=secure, httponly=True)
    new = getattr(request.state, "new_form_token", None)
    if new:
        response.set_cookie(FORM_COOKIE, web(request).sign(new), httponly=True,
                            samesite="strict", secure=secure)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = web(request).settings
    # Lax, not strict: a link in a notification e-mail must arrive signed in;
    # every write still needs the session's CSRF token.
    response.set_cookie(SESSION_COOKIE, web(request).sign(token), httponly=True,
                        samesite="lax", secure=settings.secure_cookies,
                        max_age=int(settings.session_lifetime.total_seconds()))


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")


@contextmanager
def refused_as_missing(campaign: Campaign, user_id: str, deliverable_id: int
                       ) -> Iterator[None]:
    """Around a move: the engine decides, and notes a refusal, whatever the user
    may read; a refusal about a deliverable they may not read answers as
    missing (404), so ids cannot be probed by forging moves."""
    try:
        yield
    except CampaignError:
        campaign.visibility.require_read(user_id, deliverable_id)
        raise


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
