"""The JSON API under /api: the same answers as the Python API for every
role, moves made as the signed-in user through the one move path, and every
refusal in one JSON shape with the status of its error's class."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import USER_IDS
from drive import drive
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_fixtures import PASSWORD

from workflow import Campaign
from workflow.services.passwords import Passwords
from workflow.web.app import create_app
from workflow.web.context import CSRF_HEADER, SESSION_COOKIE
from workflow.web.settings import WebSettings

ApiAs = Callable[[str], TestClient]
BEFORE_THE_ENGINE = "the API's own checks, made before any engine call: no database in it"


def api_sign_in(client: TestClient, user_id: str) -> TestClient:
    """Sign in through the API; the client then sends the session's CSRF header."""
    answer = client.post("/api/session", json={"account": user_id, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers[CSRF_HEADER] = answer.json()["csrf"]
    return client


@pytest.fixture
def api_as(app: FastAPI) -> Iterator[ApiAs]:
    """``api_as("sup1")``: a client of its own, signed in through the API."""
    opened: list[TestClient] = []

    def open_as(user_id: str) -> TestClient:
        opened.append(TestClient(app, base_url="http://testserver"))
        return api_sign_in(opened[-1], user_id)

    yield open_as
    for client in opened:
        client.close()


@pytest.fixture
def items(served: Campaign, in_approval: int, hidden: int) -> dict[str, int]:
    """Deliverables in several states, owned by different people."""
    return {
        "draft": drive(served, "rectification_item", "draft", owner="member1").id,
        "review": drive(served, "rectification_item", "review", owner="member1").id,
        "approval": in_approval,
        "publicity": drive(served, "rectification_plan", "publicity", owner="leader2").id,
        "others": drive(served, "rectification_item", "review", owner="member2").id,
        "hidden": hidden,
    }


@pytest.fixture
def in_approval(served: Campaign) -> int:
    """leader1's self-review, waiting for a supervisor's approval."""
    return drive(served, "self_review", "supervisor_approval", owner="leader1").id


@pytest.fixture
def hidden(served: Campaign) -> int:
    """leader1's research report in review: no member reviews one, so none may read it."""
    return drive(served, "research_report", "review", owner="leader1").id


def is_error(answer: object, status: int, error: str | None = None) -> bool:
    body = answer.json()  # type: ignore[attr-defined]
    return (answer.status_code == status  # type: ignore[attr-defined]
            and set(body) == {"error", "message", "exit_code"}
            and (error is None or body["error"] == error))


# -- signing in and out -------------------------------------------------------------


def test_signing_in_sets_the_session_cookie_and_answers_with_the_csrf_token(
        client: TestClient) -> None:
    answer = client.post("/api/session", json={"account": "sup1", "password": PASSWORD})
    body = answer.json()
    assert answer.status_code == 200 and SESSION_COOKIE in answer.headers["set-cookie"]
    assert body["user"]["id"] == "sup1" and body["user"]["roles"] == ["supervisor"]
    assert body["must_change"] is False and body["csrf"] and body["expires_at"]
    assert client.get("/api/me").json() == body


def test_a_wrong_password_is_401_and_too_many_are_429_with_retry_after(
        client: TestClient) -> None:
    wrong = [client.post("/api/session", json={"account": "sup2", "password": f"wrong {n}"})
             for n in range(5)]
    assert all(is_error(a, 401, "SignInRefused") for a in wrong)
    throttled = client.post("/api/session", json={"account": "sup2", "password": PASSWORD})
    assert is_error(throttled, 429, "SignInThrottled")
    assert int(throttled.headers["retry-after"]) > 0


def test_signing_out_ends_the_session(api_as: ApiAs) -> None:
    client = api_as("sup1")
    assert client.delete("/api/session").status_code == 204
    assert is_error(client.get("/api/me"), 401, "SignInNeeded")


@pytest.mark.one_backend(BEFORE_THE_ENGINE)
def test_signing_out_needs_the_csrf_header(api_as: ApiAs) -> None:
    client = api_as("sup1")
    del client.headers[CSRF_HEADER]
    assert is_error(client.delete("/api/session"), 403, "FormExpired")
    assert client.get("/api/me").status_code == 200


#: Every route that needs a signed-in user (all but the notices and signing in).
SIGNED_IN_ROUTES = (
    ("GET", "/api/me"), ("GET", "/api/inbox"), ("GET", "/api/deliverables/1"),
    ("GET", "/api/deliverables/1/history"), ("GET", "/api/deliverables/1/moves"),
    ("POST", "/api/deliverables/1/moves"), ("GET", "/api/campaign"),
    ("DELETE", "/api/session"))


@pytest.mark.one_backend(BEFORE_THE_ENGINE)
def test_without_signing_in_every_route_but_the_notices_is_401_not_a_redirect(
        client: TestClient) -> None:
    for method, path in SIGNED_IN_ROUTES:
        answer = client.request(method, path, json={"trigger": "approve"},
                                follow_redirects=False)
        assert is_error(answer, 401, "SignInNeeded"), (method, path, answer.status_code)


def test_a_temporary_password_allows_only_me_and_signing_out(
        served: Campaign, client: TestClient) -> None:
    served.accounts.set_password("office1", "member1", "临时密码-temporary")
    answer = client.post("/api/session", json={"account": "member1",
                                               "password": "临时密码-temporary"})
    assert answer.json()["must_change"] is True
    assert is_error(client.get("/api/inbox"), 403, "PasswordChangeNeeded")
    assert client.get("/api/me").json()["must_change"] is True


# -- reading ---------------------------------------------------------------------------


def all_of_inbox(client: TestClient) -> list[object]:
    """Every page of the API's inbox, two at a time (to follow the paging through)."""
    found: list[object] = []
    after = None
    while True:
        page = client.get("/api/inbox", params={"limit": 2} if after is None
                          else {"limit": 2, "after": after}).json()
        found += page["items"]
        after = page["next_after"]
        if after is None:
            return found


# One test goes through every role (PEOPLE has two people of each): a test per
# person would set up the same deliverables 24 times over on each backend.
def test_the_inbox_and_the_moves_offered_are_the_python_apis_for_every_role(
        served: Campaign, items: dict[str, int], api_as: ApiAs) -> None:
    for user_id in USER_IDS:
        client = api_as(user_id)
        inbox = served.reads.inbox(user_id)
        assert all_of_inbox(client) == [item.to_json() for item in inbox], user_id
        triggers = {i.deliverable.id: list(i.triggers) for i in inbox}
        for name in items:
            answer = client.get(f"/api/deliverables/{items[name]}/moves")
            if answer.status_code == 404:
                assert not served.visibility.may_read(user_id, items[name]), (user_id, name)
                assert items[name] not in triggers, (user_id, name)
                continue
            offered = [m["trigger"] for m in answer.json()["moves"]]
            assert offered == triggers.get(items[name], []), (user_id, name)


def test_a_deliverable_its_history_and_moves_read_as_in_python(
        served: Campaign, in_approval: int, api_as: ApiAs) -> None:
    client = api_as("sup1")
    item = in_approval
    assert client.get(f"/api/deliverables/{item}").json() == served.reads.get(item).to_json()
    history = client.get(f"/api/deliverables/{item}/history").json()
    assert [e["seq"] for e in history] == [e.seq for e in served.reads.history(item)]
    assert not any("host" in e or "os_user" in e for e in history)
    moves = client.get(f"/api/deliverables/{item}/moves").json()
    assert moves["version"] == served.reads.get(item).version
    assert [m["trigger"] for m in moves["moves"]] == ["approve", "reject"]
    assert [m["requires_comment"] for m in moves["moves"]] == [False, True]


def test_a_deliverable_the_user_may_not_read_is_404_like_a_missing_one(
        served: Campaign, hidden: int, api_as: ApiAs) -> None:
    client = api_as("member2")
    assert not served.visibility.may_read("member2", hidden)
    for path in ("", "/history", "/moves"):
        refused = client.get(f"/api/deliverables/{hidden}{path}")
        missing = client.get(f"/api/deliverables/999999{path}")
        assert is_error(refused, 404, "NotFound") and is_error(missing, 404, "NotFound")
        assert refused.json()["message"].replace(str(hidden), "N") == \
            missing.json()["message"].replace("999999", "N")


def test_the_notices_are_public(served: Campaign, in_approval: int,
                                client: TestClient) -> None:
    on_notice = drive(served, "rectification_plan", "publicity", owner="leader2").id
    notices = client.get("/api/notices").json()
    assert [n["deliverable_id"] for n in notices] == [on_notice]
    assert notices[0]["opened_on"] <= notices[0]["closes_on"]


def test_the_campaign_is_404_before_one_is_started(api_as: ApiAs) -> None:
    assert is_error(api_as("sup1").get("/api/campaign"), 404, "NotFound")


def test_the_campaign_shows_its_phase_and_gate(c: Campaign) -> None:
    c.accounts.hashing = Passwords.cheapest()
    c.accounts.set_password("office1", "office1", PASSWORD)
    with TestClient(create_app(WebSettings(), campaign=c)) as client:
        body = api_sign_in(client, "office1").get("/api/campaign").json()
    assert body["phase"] == c.plan.phase() and body["phase_label"]
    assert [line["label"] for line in body["gate"]] == [check.label for check in c.plan.gate()]
    assert [line["satisfied"] for line in body["gate"]] == [
        check.satisfied for check in c.plan.gate()]


# -- moving ----------------------------------------------------------------------------


def test_a_move_through_the_api_is_made_by_the_signed_in_user_on_channel_web(
        served: Campaign, in_approval: int, api_as: ApiAs) -> None:
    item = in_approval
    version = served.reads.get(item).version
    answer = api_as("sup1").post(f"/api/deliverables/{item}/moves",
                                 json={"trigger": "approve", "if_version": version})
    assert answer.status_code == 200, answer.text
    assert answer.json()["deliverable"]["state"] == "publicity"
    event = served.audit.events()[-1]
    assert (event.action, event.actor, event.trigger, event.channel, event.host) == (
        "transition", "sup1", "approve", "web", "testclient")
    assert answer.json()["event"]["seq"] == event.seq


def test_a_verification_offers_the_ratings_and_takes_one(
        served: Campaign, api_as: ApiAs) -> None:
    item = drive(served, "rectification_item", "verification", owner="member1").id
    client = api_as("office1")
    offers = {m["trigger"]: m for m in client.get(f"/api/deliverables/{item}/moves").json()[
        "moves"]}
    assert offers["verify"]["ratings"] == ["好", "较好", "一般", "差"]
    answer = client.post(f"/api/deliverables/{item}/moves",
                         json={"trigger": "verify", "comment": "整改到位", "rating": "较好"})
    assert answer.status_code == 200, answer.text
    assert served.rectification.get(item).rating == "较好"


def test_a_forged_move_is_refused_by_the_engine_and_noted(
        served: Campaign, api_as: ApiAs) -> None:
    # member1's own item: they may read it, not forward it
    item = drive(served, "rectification_item", "review", owner="member1").id
    before = served.reads.get(item)
    answer = api_as("member1").post(f"/api/deliverables/{item}/moves",
                                    json={"trigger": "forward"})
    assert is_error(answer, 403, "PermissionDenied")
    assert served.reads.get(item) == before
    refusal = served.audit.refusals()[-1]
    assert (refusal.actor, refusal.action, refusal.deliverable_id, refusal.channel) == (
        "member1", "forward", item, "web")


def test_a_forged_move_on_a_hidden_deliverable_is_noted_and_answered_as_missing(
        served: Campaign, hidden: int, api_as: ApiAs) -> None:
    answer = api_as("member2").post(f"/api/deliverables/{hidden}/moves",
                                    json={"trigger": "forward"})
    assert is_error(answer, 404, "NotFound")
    assert served.audit.refusals()[-1].actor == "member2"


@pytest.mark.one_backend(BEFORE_THE_ENGINE)
def test_a_move_without_the_csrf_header_is_refused_before_the_engine(
        served: Campaign, in_approval: int, api_as: ApiAs) -> None:
    client = api_as("sup1")
    del client.headers[CSRF_HEADER]
    item = in_approval
    answer = client.post(f"/api/deliverables/{item}/moves", json={"trigger": "approve"})
    assert is_error(answer, 403, "FormExpired")
    assert served.reads.get(item).state == "supervisor_approval"


def test_a_move_on_a_stale_version_is_409(
        served: Campaign, in_approval: int, api_as: ApiAs) -> None:
    item = in_approval
    stale = served.reads.get(item).version - 1
    answer = api_as("sup1").post(f"/api/deliverables/{item}/moves",
                                 json={"trigger": "approve", "if_version": stale})
    assert is_error(answer, 409, "Conflict")
    assert served.reads.get(item).state == "supervisor_approval"


def test_a_move_needing_a_reason_without_one_is_409(in_approval: int, api_as: ApiAs) -> None:
    answer = api_as("sup1").post(f"/api/deliverables/{in_approval}/moves",
                                 json={"trigger": "reject"})
    assert is_error(answer, 409, "TransitionNotAllowed")


@pytest.mark.one_backend(BEFORE_THE_ENGINE)
def test_a_malformed_request_is_422_in_the_apis_error_shape(api_as: ApiAs) -> None:
    client = api_as("sup1")
    for body in ({"trigger": "Not A Trigger"}, {}, {"trigger": "approve", "if_version": -1},
                 {"trigger": "approve", "comment": "a\x00b"}, "not an object"):
        answer = client.post("/api/deliverables/1/moves", json=body)
        assert is_error(answer, 422, "InvalidInput"), body
    for query in ({"limit": 0}, {"limit": "many"}, {"after": -1}):
        assert is_error(client.get("/api/inbox", params=query), 422, "InvalidInput"), query
    too_big = client.get(f"/api/deliverables/{2**63}")  # beyond the 64-bit ids
    assert is_error(too_big, 422, "InvalidInput")
    text = client.post("/api/session", content='{"account": "sup1", "password": "x"}',
                       headers={"content-type": "text/plain"})
    assert is_error(text, 422, "InvalidInput")  # what a cross-site form could send


@pytest.mark.one_backend("the OpenAPI document is made from the routes alone")
def test_the_openapi_document_lists_the_api_and_its_error_bodies(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert all(path.startswith("/api/") for path in document["paths"])
    move = document["paths"]["/api/deliverables/{deliverable_id}/moves"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(move["responses"])
    assert move["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorBody")
