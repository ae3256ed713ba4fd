"""Signing in to the served interface: passwords, sessions, throttling, and
answers that never tell which accounts exist."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from web_fixtures import PASSWORD, form_token, sign_in

from workflow import Campaign
from workflow.errors import InvalidInput, PermissionDenied, SignInRefused
from workflow.web.context import SESSION_COOKIE


def attempt(client: TestClient, account: str, password: str) -> int:
    return client.post("/signin", data={"account": account, "password": password,
                                        "csrf": form_token(client)},
                       follow_redirects=False).status_code


def test_a_user_signs_in_and_lands_on_the_inbox(client: TestClient) -> None:
    answer = client.post("/signin", data={"account": "sup1", "password": PASSWORD,
                                          "csrf": form_token(client), "next": "/inbox"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox"
    cookie = answer.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Max-Age=28800" in cookie


def test_a_sign_in_and_out_are_audited_with_web_as_channel_and_the_client_address(
        served: Campaign, client: TestClient) -> None:
    sign_in(client, "sup1")
    client.post("/signout", data={"csrf": form_token(client, "/password")})
    events = [e for e in served.audit.events() if e.action.startswith("session.")]
    assert [(e.action, e.actor, e.channel, e.host) for e in events] == [
        ("session.start", "sup1", "web", "testclient"), ("session.end", "sup1", "web",
                                                         "testclient")]


def test_signing_out_ends_the_session_on_the_server(client: TestClient) -> None:
    sign_in(client, "sup1")
    kept = client.cookies.get(SESSION_COOKIE)
    client.post("/signout", data={"csrf": form_token(client, "/password")})
    client.cookies.set(SESSION_COOKIE, kept or "")  # a copy of the old cookie is dead too
    assert client.get("/password", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("account, password", [
    ("sup1", "wrong password!"), ("nobody", PASSWORD), ("", PASSWORD)])
def test_every_failed_sign_in_gets_the_same_answer(
        client: TestClient, account: str, password: str) -> None:
    answer = client.post("/signin", data={"account": account, "password": password,
                                          "csrf": form_token(client)})
    assert answer.status_code == 401
    assert "账号或密码错误" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_a_deactivated_user_cannot_sign_in_and_is_told_nothing_more(
        served: Campaign, client: TestClient) -> None:
    served.people.deactivate_user("office1", "member1")
    wrong = client.post("/signin", data={"account": "sup1", "password": "not the password",
                                         "csrf": form_token(client)})
    gone = client.post("/signin", data={"account": "member1", "password": PASSWORD,
                                        "csrf": form_token(client)})
    assert gone.status_code == wrong.status_code == 401
    assert _problem(gone.text) == _problem(wrong.text)


def _problem(page: str) -> str:
    start = page.index('class="problem"')
    return page[start:page.index("</p>", start)]


def test_failed_sign_ins_are_noted_in_the_refusal_log(served: Campaign,
                                                      client: TestClient) -> None:
    attempt(client, "sup1", "wrong password!")
    refusals = served.audit.refusals()
    assert [(r.actor, r.action, r.channel, r.host) for r in refusals][-1:] == [
        ("sup1", "sign in", "web", "testclient")]


def test_too_many_failures_for_one_account_lock_it_for_a_while(client: TestClient) -> None:
    codes = [attempt(client, "sup2", f"wrong password {n}") for n in range(5)]
    assert codes == [401] * 5
    throttled = client.post("/signin", data={"account": "sup2", "password": PASSWORD,
                                             "csrf": form_token(client)})
    assert throttled.status_code == 429 and "失败次数过多" in throttled.text
    assert attempt(client, "sup1", PASSWORD) == 303  # another account is not locked


def test_an_unknown_account_is_throttled_like_a_known_one(client: TestClient) -> None:
    codes = [attempt(client, "ghost", f"wrong password {n}") for n in range(6)]
    assert codes == [401] * 5 + [429]


def test_too_many_failures_from_one_address_stop_it_guessing_any_account(
        served: Campaign, client: TestClient) -> None:
    limit = served.accounts.limits.per_address
    for n in range(limit):
        attempt(client, f"guess{n}", "wrong password!")
    assert attempt(client, "sup1", PASSWORD) == 429


def test_a_temporary_password_must_be_changed_before_anything_else(
        served: Campaign, client: TestClient) -> None:
    assert served.accounts.set_password("office1", "member1", "临时密码-temporary") is True
    answer = client.post("/signin", data={"account": "member1", "password": "临时密码-temporary",
                                          "csrf": form_token(client)}, follow_redirects=False)
    assert answer.headers["location"] == "/password"
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/password"
    changed = client.post("/password", data={
        "csrf": form_token(client, "/password"), "current": "临时密码-temporary",
        "new": "我自己的新密码-mine", "again": "我自己的新密码-mine"}, follow_redirects=False)
    assert changed.status_code == 303
    again = sign_in(TestClient(client.app), "member1", "我自己的新密码-mine")
    assert again.get("/inbox", follow_redirects=False).status_code == 200


def test_the_office_resetting_a_password_signs_the_user_out(
        served: Campaign, as_user: Callable[[str], TestClient]) -> None:
    member = as_user("member1")
    served.accounts.set_password("office1", "member1", "临时密码-temporary")
    assert member.get("/password", follow_redirects=False).headers["location"].startswith(
        "/signin")


def test_only_the_user_or_the_office_sets_a_password(served: Campaign) -> None:
    with pytest.raises(PermissionDenied):
        served.accounts.set_password("member2", "member1", "another password 1")


@pytest.mark.parametrize("password", ["short", "x" * 300, "member1-is-my-name"])
def test_a_weak_password_is_refused(served: Campaign, password: str) -> None:
    with pytest.raises(InvalidInput):
        served.accounts.set_password("member1", "member1", password)


def test_a_password_change_needs_the_current_password(served: Campaign) -> None:
    with pytest.raises(SignInRefused):
        served.accounts.change_password("member1", "not the current one", "新的密码-new-one")


def test_the_password_hash_is_sealed_so_a_rewrite_is_found(served: Campaign) -> None:
    event = next(e for e in served.audit.events() if e.action == "password.set"
                 and '"sup2"' in (e.detail or ""))
    assert json.loads(event.detail or "{}") == {"user": "sup2", "temporary": False}
    assert "credential:sup2" in (event.sealed or "")


def test_a_sign_in_form_without_its_token_is_refused(client: TestClient) -> None:
    client.get("/signin")
    answer = client.post("/signin", data={"account": "sup1", "password": PASSWORD,
                                          "csrf": "forged"})
    assert answer.status_code == 403


def test_next_never_leaves_the_site(client: TestClient) -> None:
    answer = client.post("/signin", data={"account": "sup1", "password": PASSWORD,
                                          "csrf": form_token(client),
                                          "next": "//evil.example/x"}, follow_redirects=False)
    assert answer.headers["location"] == "/inbox"
