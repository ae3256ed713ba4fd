"""The public notice board (公示): what is in publicity, shown to anyone, and
objections from people with no account — the same move as a user's, by the
public, audited with the objector's name, contact and address."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest
from drive import SPECS, actor_for, at_day, drive
from fastapi.testclient import TestClient
from httpx import Response
from web_fixtures import form_token

from workflow import Campaign
from workflow.errors import AuditVerificationFailed, InvalidInput
from workflow.services import authority, public_objections
from workflow.services.public_objections import Limits

FRIDAY = date(2014, 6, 13)
DAY_AFTER = date(2014, 6, 20)  # the window of five working days ended on the 19th
REASON = "公示材料中“具体表现”与群众反映不符，请核实"
OBJECTOR = {"name": "群众甲", "contact": "13800138000", "reason": REASON}


def publish(campaign: Campaign, title: str = "测试材料") -> int:
    """A self-review approved into publicity on Friday 2014-06-13."""
    item = drive(campaign, "self_review", "supervisor_approval", title=title)
    approve = SPECS["self_review"].transition("supervisor_approval", "approve")
    assert approve is not None
    approver = actor_for(approve, item.owner)
    assert approver is not None
    at_day(campaign, FRIDAY).moves.fire(approver, item.id, "approve", "同意公示")
    return item.id


def object_to(client: TestClient, item_id: int, **changes: str) -> Response:
    return client.post(f"/notices/{item_id}/objection",
                       data={**OBJECTOR, **changes,
                             "csrf": form_token(client)},  # a signed-out visitor's
                       follow_redirects=False)


@pytest.fixture
def notice(served: Campaign) -> int:
    return publish(served)


def test_the_board_lists_what_is_in_publicity_without_signing_in(
        served: Campaign, client: TestClient, notice: int) -> None:
    hidden = drive(served, "self_review", "review", title="尚在审核的材料").id
    board = client.get("/notices")
    assert board.status_code == 200
    assert f'href="/notices/{notice}"' in board.text and "2014-06-19" in board.text
    assert f'href="/notices/{hidden}"' not in board.text
    page = client.get(f"/notices/{notice}")
    assert page.status_code == 200
    assert "2014年6月13日" in page.text and "2014年6月19日" in page.text  # the notice's wording
    assert f'action="/notices/{notice}/objection"' in page.text


@pytest.mark.parametrize("state", ["review", "archived"])
def test_a_deliverable_not_in_publicity_is_not_found_by_the_public(
        served: Campaign, client: TestClient, state: str) -> None:
    item = drive(served, "self_review", state).id
    assert client.get(f"/notices/{item}").status_code == 404
    token = form_token(client)  # a signed-out visitor's token, from any form
    answer = client.post(f"/notices/{item}/objection", data={**OBJECTOR, "csrf": token})
    assert answer.status_code == 404
    assert served.reads.get(item).state == state


def test_an_objection_sends_it_back_to_review_and_is_audited_as_the_publics(
        served: Campaign, client: TestClient, notice: int) -> None:
    answer = object_to(client, notice)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/notices?objected={notice}"
    assert served.reads.get(notice).state == "review"
    assert [w.outcome for w in served.reads.windows(notice)] == ["objection"]
    event = served.reads.history(notice)[-1]
    assert (event.actor, event.role, event.trigger, event.source, event.dest) == (
        authority.PUBLIC_ACTOR, authority.PUBLIC_ROLE, "object", "publicity", "review")
    assert (event.comment, event.channel, event.host) == (REASON, "web", "testclient")
    assert json.loads(event.detail or "{}") == {"objector": "群众甲", "contact": "13800138000"}
    assert client.get(f"/notices/{notice}").status_code == 404  # off the board
    served.audit.verify()  # the replay accepts the public's objection


def test_an_objection_after_the_window_is_refused(
        served: Campaign, client: TestClient, notice: int) -> None:
    at_day(served, DAY_AFTER)
    assert "已期满" in client.get("/notices").text
    answer = object_to(client, notice)
    assert answer.status_code == 409
    assert served.reads.get(notice).state == "publicity"


def test_an_objection_that_cannot_be_followed_up_is_refused_and_kept_on_the_form(
        served: Campaign, client: TestClient, notice: int) -> None:
    answer = object_to(client, notice, contact="tomorrow")
    assert answer.status_code == 422
    assert REASON in answer.text and 'value="群众甲"' in answer.text
    assert served.reads.get(notice).state == "publicity"


@pytest.mark.parametrize(("name", "contact", "reason"), [
    ("", "13800138000", REASON), ("群众甲", "tomorrow", REASON), ("群众甲", "a@b", REASON),
    ("群众甲", "someone@example.org", ""), ("群众甲", "010-6512 3456", "长" * 2001),
    ("群众\x00甲", "13800138000", REASON)])
def test_an_objection_needs_a_name_a_way_to_reach_them_and_a_reason(
        name: str, contact: str, reason: str) -> None:
    with pytest.raises(InvalidInput):
        public_objections._check(name, contact, reason)


def test_content_from_the_database_and_the_visitor_is_escaped(
        served: Campaign, client: TestClient) -> None:
    item = publish(served, title="<script>alert(1)</script>标题")
    assert "<script>alert(1)" not in client.get("/notices").text
    page = object_to(client, item, contact="", reason="<script>alert(2)</script>")
    assert page.status_code == 422
    text = page.text
    assert "<script>" not in text and "&lt;script&gt;alert(2)" in text


def test_an_objection_without_the_form_token_is_refused(
        served: Campaign, client: TestClient, notice: int) -> None:
    client.get(f"/notices/{notice}")
    answer = client.post(f"/notices/{notice}/objection", data={**OBJECTOR, "csrf": "forged"})
    assert answer.status_code == 403
    assert served.reads.get(notice).state == "publicity"


def test_one_address_may_object_only_so_often(served: Campaign, client: TestClient) -> None:
    served.public.limits = Limits(per_address=1)
    first, second = publish(served, "第一份"), publish(served, "第二份")
    assert object_to(client, first).status_code == 303
    answer = object_to(client, second)
    assert answer.status_code == 429
    assert served.reads.get(second).state == "publicity"
    refusal = served.audit.refusals()[-1]
    assert (refusal.actor, refusal.action, refusal.host) == (
        authority.PUBLIC_ACTOR, "object", "testclient")


@pytest.mark.parametrize("forged", [
    {"action": "user.add", "role": "public"},
    {"action": "transition", "role": "office"},
    {"action": "revise", "role": "public"},
], ids=["user-add", "as-a-role", "revise"])
def test_the_replay_accepts_nothing_else_from_the_public(forged: dict[str, str]) -> None:
    event = SimpleNamespace(seq=7, actor=authority.PUBLIC_ACTOR, detail=None, **forged)
    with pytest.raises(AuditVerificationFailed):
        authority.check_actor(event, authority.Roster(roles={"office1": frozenset({"office"})}))


def test_the_replay_accepts_only_an_objection_from_the_public() -> None:
    spec = SPECS["self_review"]
    item = SimpleNamespace(id=1, owner_id="leader1", definition_sha="x")
    rules = authority.Rules()
    objection = SimpleNamespace(seq=9, actor=authority.PUBLIC_ACTOR, role="public",
                                action="transition", source="publicity", trigger="object")
    rules.check(objection, item, spec, None)
    archive = SimpleNamespace(**{**vars(objection), "trigger": "archive"})
    with pytest.raises(AuditVerificationFailed):
        rules.check(archive, item, spec, None)
