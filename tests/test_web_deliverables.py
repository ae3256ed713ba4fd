"""The inbox and a deliverable's page in the browser: what each user sees, the
buttons the engine allows and no others, and the moves, uploads and opinions
posted from them — refused, recorded and audited as on the command line."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import docx
import pytest
from drive import SPECS, complete_content, complete_text, drive, rectification_fields
from fastapi.testclient import TestClient
from web_fixtures import form_token

from workflow import Campaign
from workflow.spec.content import DOCX
from workflow.store.views import DeliverableView

AsUser = Callable[[str], TestClient]
_TRIGGERS = re.compile(r'name="trigger" value="([^"]+)"')
_LINKED = re.compile(r'href="/deliverables/(\d+)"')
#: Someone of every role (principal1 is also a leader; leader1 only one).
#: A light page whose forms carry the session's token (every page's forms do).
TOKEN_PAGE = "/password"
ONE_PER_ROLE = ("office1", "principal1", "leader1", "sup1", "member1", "branch1")


def page_of(client: TestClient, deliverable_id: int) -> str:
    answer = client.get(f"/deliverables/{deliverable_id}")
    assert answer.status_code == 200, answer.text
    return answer.text


def buttons(page: str) -> list[str]:
    return _TRIGGERS.findall(page)


def post_move(client: TestClient, item: DeliverableView, trigger: str,
              comment: str = "", **extra: str) -> int:
    data = {"trigger": trigger, "comment": comment, "if_version": str(item.version),
            "csrf": form_token(client, TOKEN_PAGE), **extra}
    return client.post(f"/deliverables/{item.id}/moves", data=data,
                       follow_redirects=False).status_code


def engine_triggers(campaign: Campaign, user: str, deliverable_id: int) -> list[str]:
    """What the engine (the inbox's query) says ``user`` may fire on it now."""
    return next((list(i.triggers) for i in campaign.reads.inbox(user)
                 if i.deliverable.id == deliverable_id), [])


# -- the inbox -----------------------------------------------------------------


def test_each_roles_inbox_page_lists_what_the_engine_inbox_lists(
        served: Campaign, as_user: AsUser) -> None:
    for state in ("draft", "review", "supervisor_approval"):
        drive(served, "self_review", state, owner="leader1")
    drive(served, "rectification_item", "draft", owner="member1")
    drive(served, "summary_report", "review")
    for user in ONE_PER_ROLE:
        page = as_user(user).get("/inbox")
        assert page.status_code == 200
        expected = [i.deliverable.id for i in served.reads.inbox(user)]
        assert [int(n) for n in _LINKED.findall(page.text)] == expected, user


def test_the_inbox_marks_late_items_and_says_why_an_item_came_back(
        served: Campaign, as_user: AsUser) -> None:
    late = served.deliverables.create("leader1", "self_review", "逾期的材料",
                                      content=None, due=date(2014, 6, 1))
    served.deliverables.revise("leader1", late.id, complete_content(SPECS["self_review"]))
    returned = drive(served, "self_review", "review", owner="leader1", title="退回的材料")
    served.moves.fire("principal1", returned.id, "return", "第三部分缺少思想根源的剖析")
    page = as_user("leader1").get("/inbox").text
    assert page.count('class="late"') == 1 and "逾期的材料" in page
    assert "第三部分缺少思想根源的剖析" in page and "退回原因" in page


def test_the_inbox_pages_through_many_items(served: Campaign, as_user: AsUser,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workflow.web.deliverable_pages.PAGE", 2)
    made = [drive(served, "self_review", "review", owner="leader1").id for _ in range(3)]
    client = as_user("principal1")
    first = client.get("/inbox").text
    assert [int(n) for n in _LINKED.findall(first)] == made[:2]
    second = client.get(f"/inbox?after={made[1]}").text
    assert [int(n) for n in _LINKED.findall(second)] == made[2:]


def test_my_deliverables_lists_what_i_own_and_the_items_i_answer_for(
        served: Campaign, as_user: AsUser) -> None:
    mine = drive(served, "rectification_item", "draft", owner="member1")
    drive(served, "rectification_item", "draft", owner="member2")
    answered = drive(served, "rectification_item", "draft", owner="office1")
    served.rectification.set("office1", answered.id,  # member1 its responsible person
                             **rectification_fields("member1"))  # type: ignore[arg-type]
    page = as_user("member1").get("/mine").text
    assert [int(n) for n in _LINKED.findall(page)] == [mine.id, answered.id]
    assert "我负责整改的事项" in page


# -- the buttons ---------------------------------------------------------------


@pytest.mark.parametrize("type_id, state", [
    ("self_review", "review"), ("self_review", "supervisor_approval"),
    ("rectification_item", "draft"),
])
def test_the_page_shows_exactly_the_moves_the_engine_allows_each_user(
        served: Campaign, as_user: AsUser, type_id: str, state: str) -> None:
    owner = "member1" if type_id == "rectification_item" else "leader1"
    item = drive(served, type_id, state, owner=owner)
    for user in ("principal1", "leader1", "sup1", "member1", "member2"):
        client = as_user(user)
        if not served.visibility.may_read(user, item.id):
            assert client.get(f"/deliverables/{item.id}").status_code == 404
            continue
        assert buttons(page_of(client, item.id)) == engine_triggers(served, user, item.id), user


# -- moves from the page ----------------------------------------------------------


def test_approving_from_the_page_moves_it_and_audits_the_signed_in_user_from_the_web(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "supervisor_approval", owner="leader1")
    client = as_user("sup1")
    answer = client.post(f"/deliverables/{item.id}/moves", data={
        "trigger": "approve", "if_version": str(item.version),
        "csrf": form_token(client, TOKEN_PAGE)}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/deliverables/{item.id}?done=approve"
    assert served.reads.get(item.id).state == "publicity"
    event = served.reads.history(item.id)[-1]
    assert (event.action, event.trigger, event.actor, event.channel, event.host) == (
        "transition", "approve", "sup1", "web", "testclient")
    assert "审核通过" in client.get(answer.headers["location"]).text


def test_a_return_with_a_reason_stores_the_reason(served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "review", owner="leader1")
    assert post_move(as_user("principal1"), item, "return", "请补充具体表现") == 303
    assert served.reads.get(item.id).state == "draft"
    assert [o.text for o in served.documents.opinions(item.id)] == ["请补充具体表现"]


def test_a_return_asks_for_its_reason_and_is_refused_without_one(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "review", owner="leader1")
    client = as_user("principal1")
    page = page_of(client, item.id)
    returning = page[page.index('value="return"'):]
    assert '<textarea name="comment" required>' in returning[:returning.index("</form>")]
    assert post_move(client, item, "return", "   ") == 409
    assert served.reads.get(item.id) == item


def test_a_forged_move_is_refused_recorded_and_changes_nothing(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "rectification_item", "supervisor_approval", owner="member1")
    client = as_user("member1")
    assert "approve" not in buttons(page_of(client, item.id))
    assert post_move(client, item, "approve") == 403
    assert served.reads.get(item.id) == item
    refusal = served.audit.refusals()[-1]
    assert (refusal.actor, refusal.action, refusal.deliverable_id, refusal.channel) == (
        "member1", "approve", item.id, "web")


def test_a_forged_move_on_a_deliverable_i_may_not_read_is_missing_yet_recorded(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "rectification_item", "supervisor_approval", owner="member1")
    client = as_user("member2")
    assert client.get(f"/deliverables/{item.id}").status_code == 404
    assert post_move(client, item, "approve") == 404  # as if it did not exist
    assert served.reads.get(item.id) == item
    refusal = served.audit.refusals()[-1]
    assert (refusal.actor, refusal.action, refusal.deliverable_id, refusal.channel) == (
        "member2", "approve", item.id, "web")


def test_a_move_from_a_stale_page_or_without_the_form_token_is_refused(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "supervisor_approval", owner="leader1")
    client = as_user("sup1")
    stale = item.model_copy(update={"version": item.version - 1})  # an older page's
    assert post_move(client, stale, "approve") == 409
    forged = client.post(f"/deliverables/{item.id}/moves", data={
        "trigger": "approve", "if_version": str(item.version)})
    assert forged.status_code == 403
    assert served.reads.get(item.id) == item


def test_verifying_a_rectification_item_asks_for_the_rating_and_stores_it(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "rectification_item", "verification", owner="member1")
    client = as_user("office1")
    page = page_of(client, item.id)
    assert '<select name="rating" required>' in page and buttons(page) == ["verify", "reopen"]
    assert post_move(client, item, "verify", "效果明显", rating="好") == 303
    assert served.rectification.get(item.id).rating == "好"


# -- content, uploads and opinions ------------------------------------------------


def upload(client: TestClient, item_id: int, what: str, name: str, data: bytes) -> int:
    return client.post(f"/deliverables/{item_id}/{what}", files={"file": (name, data)},
                       data={"csrf": form_token(client, TOKEN_PAGE)},
                       follow_redirects=False).status_code


def test_an_uploaded_revision_shows_as_a_diff_on_the_reviewers_page(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "review", owner="leader1")
    served.moves.fire("principal1", item.id, "return", "请改")
    author = as_user("leader1")
    text = complete_text(SPECS["self_review"], body="修改后的正文")
    assert upload(author, item.id, "revisions", "第二稿.md", text.encode()) == 303
    assert post_move(author, served.reads.get(item.id), "submit") == 303
    page = page_of(as_user("principal1"), item.id)
    assert "自您上次处理的第" in page
    assert '<span class="add">+修改后的正文' in page and '<span class="del">-正文' in page


def test_a_word_revision_shows_its_text_and_downloads_as_it_came(
        served: Campaign, as_user: AsUser, tmp_path: Path) -> None:
    item = drive(served, "self_review", "draft", owner="leader1")
    document = docx.Document()
    document.add_heading("具体表现", 1)
    document.add_paragraph("下基层次数少，调研走马观花。")
    document.save(tmp_path / "对照检查.docx")
    data = (tmp_path / "对照检查.docx").read_bytes()
    client = as_user("leader1")
    assert upload(client, item.id, "revisions", "对照检查.docx", data) == 303
    assert "下基层次数少，调研走马观花。" in page_of(client, item.id)
    original = client.get(f"/deliverables/{item.id}/revisions/2")
    assert original.content == data and original.headers["content-type"] == DOCX
    assert original.headers["content-disposition"].startswith("attachment;")


def test_a_revision_that_is_not_text_or_word_is_refused(served: Campaign,
                                                       as_user: AsUser) -> None:
    item = drive(served, "self_review", "draft", owner="leader1")
    assert upload(as_user("leader1"), item.id, "revisions", "scan.pdf", b"%PDF-1.4") == 422
    assert served.reads.get(item.id) == item


def test_an_opinion_on_a_line_is_shown_with_its_line(served: Campaign,
                                                     as_user: AsUser) -> None:
    item = drive(served, "self_review", "review", owner="leader1")
    client = as_user("principal1")
    answer = client.post(f"/deliverables/{item.id}/opinions", data={
        "text": "这一行说得不具体", "line": "3", "revision": "1",
        "csrf": form_token(client, TOKEN_PAGE)}, follow_redirects=False)
    assert answer.status_code == 303
    [opinion] = served.documents.opinions(item.id)
    assert (opinion.line, opinion.author, opinion.text) == (3, "principal1", "这一行说得不具体")
    assert "<td>3</td>" in page_of(client, item.id)


def test_attachments_download_as_attachments_never_inline(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "draft", owner="leader1")
    client = as_user("leader1")
    assert upload(client, item.id, "attachments", "说明.html", b"<script>alert(1)</script>") == 303
    answer = client.get(f"/deliverables/{item.id}/attachments/说明.html")
    assert answer.status_code == 200 and answer.content == b"<script>alert(1)</script>"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name, size", [("big.txt", 11), ("..", 1), (".hidden", 1)])
def test_an_attachment_over_the_limit_or_badly_named_is_refused(
        served: Campaign, as_user: AsUser, monkeypatch: pytest.MonkeyPatch,
        name: str, size: int) -> None:
    monkeypatch.setenv("CAMPAIGN_MAX_ATTACHMENT_BYTES", "10")
    item = drive(served, "self_review", "draft", owner="leader1")
    assert upload(as_user("leader1"), item.id, "attachments", name, b"x" * size) == 422
    assert served.attachments.of(item.id) == []


# -- who sees what ---------------------------------------------------------------


def test_a_member_cannot_see_anothers_deliverable_while_office_and_supervisors_can(
        served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "rectification_item", "draft", owner="member1")
    for path in ("", "/diagram.svg", "/revisions/1"):
        assert as_user("member2").get(f"/deliverables/{item.id}{path}").status_code == 404
    for user in ("member1", "office1", "sup1"):
        assert as_user(user).get(f"/deliverables/{item.id}").status_code == 200
    stranger = as_user("member2")  # and a post to it answers as if it were missing
    answer = stranger.post(f"/deliverables/{item.id}/opinions", data={
        "text": "看看", "csrf": form_token(stranger, TOKEN_PAGE)})
    assert answer.status_code == 404 and served.documents.opinions(item.id) == []


def test_user_supplied_text_is_escaped(served: Campaign, as_user: AsUser) -> None:
    evil = "<script>alert('x')</script>"
    item = drive(served, "self_review", "review", owner="leader1", title=evil)
    served.documents.add_opinion("principal1", item.id, evil)
    page = page_of(as_user("principal1"), item.id)
    assert evil not in page and "&lt;script&gt;" in page


def test_the_diagram_is_an_svg_image_of_the_path(served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "review", owner="leader1")
    answer = as_user("leader1").get(f"/deliverables/{item.id}/diagram.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in answer.content


def test_the_page_speaks_english_on_request(served: Campaign, as_user: AsUser) -> None:
    item = drive(served, "self_review", "review", owner="leader1")
    page = as_user("principal1").get(f"/deliverables/{item.id}?lang=en").text
    assert "Principal&#39;s review" in page and "Return for revision" in page
