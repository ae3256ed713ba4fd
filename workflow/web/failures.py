"""The engine's errors as HTTP answers: a JSON body under ``/api``, a page
elsewhere.  The status follows the error's class, as the exit code does on
the command line, and the message is the same one line."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from workflow import errors
from workflow.errors import FormExpired, PasswordChangeNeeded, SignInNeeded
from workflow.web.context import clear_session_cookie, render

#: The most specific class listed wins (looked up along the error's MRO).
STATUS: dict[type[errors.CampaignError], int] = {
    SignInNeeded: 401,
    PasswordChangeNeeded: 403,
    FormExpired: 403,
    errors.SignInThrottled: 429,
    errors.SignInRefused: 401,
    errors.PermissionDenied: 403,
    errors.TransitionNotAllowed: 409,
    errors.Conflict: 409,
    errors.NotFound: 404,
    errors.InvalidInput: 422,
    errors.DatabaseUnavailable: 503,
    errors.IntegrityFailure: 500,
    errors.CampaignError: 500,
}


def status_of(error: errors.CampaignError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def campaign_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, errors.CampaignError)
    status = status_of(error)
    if is_api(request):
        body = {"error": type(error).__name__, "message": error.message,
                "exit_code": error.exit_code}
        headers = _retry(error)
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(error, SignInNeeded):
        response: Response = RedirectResponse(
            f"/signin?next={quote(error.path, safe='/')}", status_code=303)
        clear_session_cookie(response)
        return response
    if isinstance(error, PasswordChangeNeeded):
        return RedirectResponse("/password", status_code=303)
    response = render(request, "error.html", {"error": error, "status": status},
                      status_code=status)
    response.headers.update(_retry(error))
    return response


def _retry(error: errors.CampaignError) -> dict[str, str]:
    if isinstance(error, errors.SignInThrottled):
        return {"Retry-After": str(error.retry_after_seconds)}
    if isinstance(error, errors.DatabaseBusy):
        return {"Retry-After": "1"}
    return {}


async def request_invalid(request: Request, error: Exception) -> Response:
    """A path or form FastAPI could not read (``/deliverables/x``): invalid input."""
    assert isinstance(error, RequestValidationError)
    where = ", ".join(".".join(str(part) for part in e.get("loc", ())) for e in error.errors())
    return await campaign_error(request, errors.InvalidInput(f"invalid request: {where}"))


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's own answers (no such page, method not allowed) in our shapes."""
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    if is_api(request):
        return JSONResponse({"error": "HTTPException", "message": str(error.detail),
                             "exit_code": 6 if status == 404 else 1}, status_code=status,
                            headers=error.headers)
    shown = errors.NotFound("page", request.url.path) if status == 404 else errors.CampaignError(
        str(error.detail))
    return render(request, "error.html", {"error": shown, "status": status},
                  status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.CampaignError, campaign_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
