"""The office's roster page: everyone with roles and account, and the forms
that change them — each a service call, so a forged post by anyone else is
refused by the service (403) and noted in the refusal log."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from web_fixtures import PASSWORD, form_token

from workflow import Campaign

PAGE = "/office/users"
TEMPORARY = "临时密码-temporary-1"


def post(client: TestClient, path: str, **data: str | list[str]) -> Response:
    return client.post(f"{PAGE}{path}", data={**data, "csrf": form_token(client, PAGE)},
                       follow_redirects=False)


def test_the_office_sees_everyone_with_roles_unit_and_account(
        served: Campaign, as_user: Callable[[str], TestClient]) -> None:
    served.accounts.set_email("office1", "sup1", "sup1@example.org")
    page = as_user("office1").get(PAGE)
    assert page.status_code == 200
    for user in served.reads.users():
        assert f'id="user-{user.id}"' in page.text and user.name in page.text
    assert "sup1@example.org" in page.text


@pytest.mark.parametrize("user", ["sup1", "member1"])
def test_nobody_but_the_office_sees_the_roster_page(
        as_user: Callable[[str], TestClient], user: str) -> None:
    assert as_user(user).get(PAGE).status_code == 403


def test_the_office_adds_a_user_with_roles(
        served: Campaign, as_user: Callable[[str], TestClient]) -> None:
    answer = post(as_user("office1"), "/add", id="member3", name="孙三", unit="宣传部",
                  roles=["member", "branch"])
    assert answer.status_code == 303
    added = served.reads.user("member3")
    assert (added.name, added.unit, set(added.roles)) == ("孙三", "宣传部", {"member", "branch"})


def test_the_office_grants_and_revokes_a_role(
        served: Campaign, as_user: Callable[[str], TestClient]) -> None:
    office = as_user("office1")
    assert post(office, "/member1/grant", role="branch").status_code == 303
    assert set(served.reads.user("member1").roles) == {"member", "branch"}
    assert post(office, "/member1/revoke", role="member").status_code == 303
    assert served.reads.user("member1").roles == ("branch",)


def test_a_mistake_is_shown_on_the_page(as_user: Callable[[str], TestClient]) -> None:
    answer = post(as_user("office1"), "/member1/revoke", role="member")  # their only role
    assert answer.status_code == 409
    assert 'class="problem"' in answer.text


def test_the_office_deactivates_a_user_who_then_cannot_sign_in(
        served: Campaign, as_user: Callable[[str], TestClient], client: TestClient) -> None:
    assert post(as_user("office1"), "/member2/deactivate").status_code == 303
    assert not served.reads.user("member2").active
    answer = client.post("/signin", data={"account": "member2", "password": PASSWORD,
                                          "csrf": form_token(client)})
    assert answer.status_code == 401


def test_a_temporary_password_must_be_changed_at_the_first_sign_in(
        served: Campaign, as_user: Callable[[str], TestClient], client: TestClient) -> None:
    assert post(as_user("office1"), "/member1/password",
                password=TEMPORARY).status_code == 303
    event = served.audit.events("password.set")[-1]
    assert json.loads(event.detail or "{}") == {"user": "member1", "temporary": True}
    answer = client.post("/signin", data={"account": "member1", "password": TEMPORARY,
                                          "csrf": form_token(client)}, follow_redirects=False)
    assert answer.headers["location"] == "/password"


def test_the_office_sets_an_e_mail_address(
        served: Campaign, as_user: Callable[[str], TestClient]) -> None:
    assert post(as_user("office1"), "/sup2/email",
                email="sup2@example.org").status_code == 303
    assert served.accounts.email_of("sup2") == "sup2@example.org"


@pytest.mark.parametrize(("path", "data", "action"), [
    ("/add", {"id": "intruder", "name": "冒充者", "roles": ["office"]}, "manage users"),
    ("/member2/grant", {"role": "office"}, "manage users"),
    ("/member2/password", {"password": TEMPORARY}, "manage users"),
], ids=["add", "grant", "password"])
def test_a_forged_post_by_anyone_else_is_refused_by_the_service_and_noted(
        served: Campaign, as_user: Callable[[str], TestClient], path: str,
        data: dict[str, str], action: str) -> None:
    answer = post(as_user("member1"), path, **data)
    assert answer.status_code == 403
    refusal = served.audit.refusals()[-1]
    assert (refusal.actor, refusal.action, refusal.channel, refusal.host) == (
        "member1", action, "web", "testclient")
    assert "office" not in served.reads.user("member2").roles
    assert served.reads.user("member2").active


def test_the_office_changes_its_own_password_only_with_the_current_one(
        as_user: Callable[[str], TestClient]) -> None:
    assert post(as_user("office1"), "/office1/password",
                password=TEMPORARY).status_code == 422
