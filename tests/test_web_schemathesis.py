"""Schemathesis against the JSON API's OpenAPI document, in process: requests
made from the document, signed in and signed out, find no server error, and
every answer conforms to the document (status, content type, body).

Hypothesis settings, and why:
- ``max_examples`` is small (a few per operation on each backend): the
  document is small, the paths, bodies and queries have bounded shapes, and
  schemathesis's coverage phase already sends each boundary (``1``, the
  largest id, an empty or a too-long text); the whole file stays near the
  test budget on both backends.
- ``deadline=None``: a request's time depends on the machine and the
  backend (a PostgreSQL write, an Argon2 check), not on the example.
- Health checks are suppressed: the ``served`` campaign is a function-scoped
  fixture shared by the examples of one test on purpose (the examples act on
  one campaign, as a client would), and generation of long texts can be slow.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from drive import drive
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.schemas import OpenApiSchema
from web_fixtures import PASSWORD

from workflow import Campaign
from workflow.web.context import CSRF_HEADER, SESSION_COOKIE, Web

#: Where the test's own sign-ins come from: not the test client's address,
#: which schemathesis's failed sign-ins may throttle.
OWN_ADDRESS = "127.0.0.2"
SETTINGS = settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(served: Campaign, app: FastAPI) -> OpenApiSchema:
    """The document of an app whose campaign has deliverables in a few states
    (ids 1 to 3: hypothesis tries the smallest ids often)."""
    drive(served, "self_review", "supervisor_approval", owner="leader1")
    drive(served, "rectification_item", "review", owner="member1")
    drive(served, "rectification_plan", "publicity", owner="leader2")
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    # A request valid in form may name what the campaign does not have (a
    # trigger its definition lacks): the engine refuses it as invalid input,
    # 422 (the command line's exit code 7), which is not a failure here.
    schema.config.checks.positive_data_acceptance.expected_statuses = [
        "2xx", "401", "403", "404", "409", "422", "429"]
    return schema


Credentials = dict[str, dict[str, str]]


def signed_in(app: FastAPI, user_id: str) -> Credentials:
    """A new session's cookie and CSRF header, as ``Case.call``'s arguments."""
    web: Web = app.state.web
    opened = web.campaign.accounts.sign_in(user_id, PASSWORD, OWN_ADDRESS)
    return {"cookies": {SESSION_COOKIE: web.sign(opened.token)},
            "headers": {CSRF_HEADER: opened.csrf}}


def one_session(app: FastAPI, user_id: str) -> Callable[[Case], Credentials]:
    """The credentials for each case: one session for all, but a session of
    its own for signing out (which would end the shared one)."""
    shared = signed_in(app, user_id)

    def for_case(case: Case) -> Credentials:
        signs_out = case.method.upper() == "DELETE" and case.path == "/api/session"
        return signed_in(app, user_id) if signs_out else shared

    return for_case


def breaks_auth(case: Case) -> bool:
    """An invalid request made by leaving out or spoiling the cookie or the
    CSRF header: sent as generated, or the test's credentials would mend it."""
    return case.meta is not None and any(
        where in (ParameterLocation.COOKIE, ParameterLocation.HEADER)
        and info.mode is GenerationMode.NEGATIVE for where, info in case.meta.components.items())


def check_every_operation(schema: OpenApiSchema,
                          credentials: Callable[[Case], Credentials]) -> None:
    """Valid and invalid requests for each operation: no server error, and
    every answer as the document says.  (Schemathesis's own pytest plugin
    cannot take a fixture's schema under this pytest: it sets a node id
    attribute pytest 9 no longer has, so hypothesis is driven here.)"""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:
        takes = any(len(part.items) for part in (
            operation.path_parameters, operation.query, operation.body))
        # An operation that takes nothing has no invalid request to make.
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[:2 if takes else 1]:
            @given(case=operation.as_strategy(generation_mode=mode))
            @SETTINGS
            def answers_as_documented(case: Case) -> None:
                case.call_and_validate(**({} if breaks_auth(case) else credentials(case)))

            answers_as_documented()


def test_signed_in_requests_find_no_server_error_and_conform(
        api_schema: OpenApiSchema, app: FastAPI) -> None:
    check_every_operation(api_schema, one_session(app, "office1"))


def test_signed_out_requests_find_no_server_error_and_conform(
        api_schema: OpenApiSchema) -> None:
    check_every_operation(api_schema, lambda case: {})
