"""The office's roster: everyone with their roles, unit and account, and the
forms that add a user, grant or revoke a role, deactivate someone, set a
temporary password or an e-mail address.

Each form posts to a route that calls the service with the viewer as actor:
the service checks the office role and records a refusal, so a forged post
by anyone else is refused there (403), not only hidden here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.campaign import Campaign
from workflow.errors import InvalidInput, NotFound, TransitionNotAllowed
from workflow.services.overview import require_user_admin
from workflow.spec.definition import Role
from workflow.store.views import UserView
from workflow.web.context import CheckedForm, SignedIn, render, web
from workflow.web.failures import status_of

router = APIRouter(prefix="/office/users")
HOME = "/office/users"
#: The roles a form offers, in the roster's order, with their labels.
ROLES = tuple((r.value, r.label, r.label_en) for r in Role)
#: Mistakes the page shows beside its forms; a refusal (403) gets the error page.
PROBLEMS = (InvalidInput, TransitionNotAllowed, NotFound)
#: What a ``?done=`` after a successful form says (only these: nothing from the query is shown).
DONE = frozenset({"add", "grant", "revoke", "deactivate", "password", "email"})


@dataclass(frozen=True)
class Account:
    """A user as the office sees them: the roster's row and their account."""

    user: UserView
    has_password: bool
    email: str | None


def _accounts(campaign: Campaign) -> list[Account]:
    with_password, emails = campaign.accounts.contacts()
    return [Account(u, u.id in with_password, emails.get(u.id))
            for u in campaign.reads.users()]


def _page(request: Request, problem: Exception | None = None, status_code: int = 200,
          done: str | None = None) -> Response:
    campaign = web(request).campaign
    return render(request, "office_users.html", {
        "accounts": _accounts(campaign), "roles": ROLES, "problem": problem, "done": done,
    }, status_code=status_code)


@router.get("")
def users_page(request: Request, who: SignedIn, done: str | None = None) -> Response:
    require_user_admin(web(request).campaign.reads.user(who.id))
    return _page(request, done=done if done in DONE else None)



def _act(request: Request, done: str, call: Callable[[], object]) -> Response:
    """Run a service call; its mistakes are shown on the page, a refusal raises (403)."""
    try:
        call()
    except PROBLEMS as problem:
        return _page(request, problem, status_of(problem))
    return RedirectResponse(f"{HOME}?done={done}", status_code=303)


def _text(form: CheckedForm, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/add")
def add_user(request: Request, who: SignedIn, form: CheckedForm) -> Response:
    people = web(request).campaign.people
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    return _act(request, "add", lambda: people.add_user(
        who.id, _text(form, "id"), _text(form, "name"), roles, _text(form, "unit") or None))


@router.post("/{user_id}/grant")
def grant_role(request: Request, user_id: str, who: SignedIn, form: CheckedForm) -> Response:
    people = web(request).campaign.people
    return _act(request, "grant", lambda: people.grant_role(who.id, user_id,
                                                            _text(form, "role")))


@router.post("/{user_id}/revoke")
def revoke_role(request: Request, user_id: str, who: SignedIn, form: CheckedForm) -> Response:
    people = web(request).campaign.people
    return _act(request, "revoke", lambda: people.revoke_role(who.id, user_id,
                                                              _text(form, "role")))


@router.post("/{user_id}/deactivate")
def deactivate(request: Request, user_id: str, who: SignedIn, form: CheckedForm) -> Response:
    people = web(request).campaign.people
    return _act(request, "deactivate", lambda: people.deactivate_user(who.id, user_id))


@router.post("/{user_id}/password")
def temporary_password(request: Request, user_id: str, who: SignedIn,
                       form: CheckedForm) -> Response:
    """Set by the office, a password is temporary: the user changes it at first sign-in."""
    accounts = web(request).campaign.accounts
    password = form.get("password")
    if user_id == who.id:  # one's own goes through /password, which asks for the current one
        return _page(request, InvalidInput("change your own password on the password page"),
                     422)
    return _act(request, "password", lambda: accounts.set_password(
        who.id, user_id, password if isinstance(password, str) else ""))


@router.post("/{user_id}/email")
def set_email(request: Request, user_id: str, who: SignedIn, form: CheckedForm) -> Response:
    accounts = web(request).campaign.accounts
    return _act(request, "email", lambda: accounts.set_email(who.id, user_id,
                                                             _text(form, "email")))
