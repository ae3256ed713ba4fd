"""Signing in and out, and changing one's password."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.errors import InvalidInput, SignInRefused
from workflow.web.context import (
    CheckedForm,
    SignedIn,
    clear_session_cookie,
    client_address,
    render,
    set_session_cookie,
    viewer,
    web,
)
from workflow.web.failures import status_of

router = APIRouter()
HOME = "/inbox"


def safe_next(target: object) -> str:
    """Only a path of this site: ``//evil.example`` or a URL would send a
    freshly signed-in user elsewhere."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return HOME


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(HOME if viewer(request) else "/notices", status_code=303)


@router.get("/signin")
def signin_page(request: Request, next: str = HOME) -> Response:
    return render(request, "signin.html", {"next": safe_next(next), "problem": None})


# Routes are plain functions, run in the worker's thread pool: every call into
# the engine blocks (a database, Argon2), and the event loop must not.
@router.post("/signin")
def signin(request: Request, form: CheckedForm) -> Response:
    account, password = str(form.get("account", "")), str(form.get("password", ""))
    target = safe_next(form.get("next"))
    try:
        opened = web(request).campaign.accounts.sign_in(account, password,
                                                        client_address(request))
    except SignInRefused as refused:
        return render(request, "signin.html", {"next": target, "problem": refused,
                                               "account": account},
                      status_code=status_of(refused))
    response = RedirectResponse("/password" if opened.must_change else target,
                                status_code=303)
    set_session_cookie(request, response, opened.token)
    return response


@router.post("/signout")
def signout(request: Request, form: CheckedForm) -> Response:
    who = viewer(request)
    if who is not None:
        web(request).campaign.accounts.sign_out(who.token)
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/password")
def password_page(request: Request, who: SignedIn) -> Response:
    return render(request, "password.html", {"problem": None})


@router.post("/password")
def change_password(request: Request, who: SignedIn,
                    form: CheckedForm) -> Response:
    new, again = str(form.get("new", "")), str(form.get("again", ""))
    try:
        if new != again:
            raise InvalidInput("the two new passwords differ")
        web(request).campaign.accounts.change_password(who.id, str(form.get("current", "")),
                                                       new)
    except (InvalidInput, SignInRefused) as problem:
        return render(request, "password.html", {"problem": problem},
                      status_code=status_of(problem))
    return RedirectResponse(HOME, status_code=303)
