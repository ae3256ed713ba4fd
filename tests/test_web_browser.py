"""The served interface end to end, in a real browser: Debian's Chromium,
headless, driven by Playwright, against the application served by uvicorn on
loopback over the test's campaign.

What a person does, by the controls they see (labels and button texts in
Chinese, the transitions' labels from the shipped definitions): sign in,
approve from the inbox, return with a reason, upload a revision and review
its diff, object to a notice without signing in; and a move one may not make
is not offered, and refused when forged.  Screenshots of the inbox and of the
deliverable page go to ``test-artefacts/`` (named after the test).

One browser per module, a new context (its own cookies) per visitor; one
server per test, over that test's campaign.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, Protocol

import pytest
from browser_fixtures import CHROMIUM_ARGS, Loopback, artefact, browser_required, chromium
from drive import complete_content, complete_text, drive, make_move
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from web_fixtures import PASSWORD

from workflow import Campaign
from workflow.store.views import EventView

pytestmark = pytest.mark.sqlite_only(
    "the browser drives the same routes the client tests run on both backends")

#: How long (ms) an action or expectation waits: pages come from loopback, but
#: a loaded CI machine runs many workers beside the browser.
PATIENCE = 30_000
expect.set_options(timeout=PATIENCE)


def unavailable(why: str) -> NoReturn:
    """No browser test can start: skip, saying why (fail where CI requires them)."""
    if browser_required():
        pytest.fail(f"browser tests required, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright gives each launch a fresh
    temporary profile (user-data dir) and removes it on close."""
    executable = chromium()
    if executable is None:
        unavailable("no `chromium` on PATH: Debian's package, which `make setup` installs")
    with sync_playwright() as driver:
        try:
            launched = driver.chromium.launch(executable_path=executable, headless=True,
                                              args=list(CHROMIUM_ARGS))
        except PlaywrightError as why:
            unavailable(f"Chromium at {executable} did not start: {why.message}")
        yield launched
        launched.close()


@pytest.fixture
def site(app: FastAPI) -> Iterator[str]:
    """The base URL of the test's application, served on loopback."""
    with Loopback(app) as url:
        yield url


class Visit(Protocol):
    def __call__(self, user: str | None = None) -> Page: ...


@pytest.fixture
def visit(browser: Browser, site: str) -> Iterator[Visit]:
    """``visit("sup1")``: a page of a new browser context, signed in as that
    user through the sign-in form; ``visit()``: a visitor not signed in."""
    opened: list[BrowserContext] = []

    def open_page(user: str | None = None) -> Page:
        context = browser.new_context(base_url=site, locale="zh-CN")
        context.set_default_timeout(PATIENCE)
        opened.append(context)
        page = context.new_page()
        if user is not None:
            sign_in(page, user)
        return page

    yield open_page
    for context in opened:
        context.close()


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shoot(page, "inbox")``: a full-page screenshot kept as a test artefact."""

    def take(page: Page, what: str) -> Path:
        path = artefact(request.node.name, what)
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


def fill_in_sign_in(page: Page, user: str, password: str = PASSWORD) -> Page:
    page.goto("/signin")
    page.get_by_label("账号").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    return page


def sign_in(page: Page, user: str) -> Page:
    """Signed in through the form, on the inbox where it lands."""
    fill_in_sign_in(page, user).wait_for_url("**/inbox")
    return page


# -- signing in -------------------------------------------------------------------


def test_a_user_signs_in_with_the_form_and_lands_on_the_inbox(visit: Visit) -> None:
    page = sign_in(visit(), "sup1")
    expect(page.get_by_role("heading", name="待办")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("陈督导（sup1）")
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def test_a_wrong_password_is_told_on_the_form_and_signs_nobody_in(
        served: Campaign, visit: Visit) -> None:
    page = fill_in_sign_in(visit(), "sup1", "not the password")
    expect(page.get_by_role("alert")).to_have_text("账号或密码错误。")
    expect(page.get_by_label("账号")).to_have_value("sup1")
    assert not [e for e in served.audit.events() if e.action == "session.start"]


# -- reviewing from the inbox -------------------------------------------------------


def moved(campaign: Campaign, deliverable_id: int, trigger: str) -> EventView:
    """The transition event of the last ``trigger`` fired on the deliverable."""
    return [e for e in campaign.audit.events("transition")
            if e.deliverable_id == deliverable_id and e.trigger == trigger][-1]


def move_form(page: Page, label: str) -> Locator:
    """The form of the move whose button says ``label`` (its own reason box)."""
    return page.locator("form").filter(has=page.get_by_role("button", name=label, exact=True))


def test_a_supervisor_opens_an_item_from_the_inbox_and_approves_it(
        served: Campaign, visit: Visit, shoot: Callable[[Page, str], Path]) -> None:
    item = drive(served, "self_review", "supervisor_approval", title="领导班子对照检查材料")
    page = visit("sup1")  # on the inbox, where signing in lands
    row = page.get_by_role("row").filter(has_text=item.title)
    expect(row).to_contain_text("审核通过")  # what the supervisor may do, listed in the row
    shoot(page, "inbox")
    row.get_by_role("link", name=item.title).click()
    page.wait_for_url(f"**/deliverables/{item.id}")
    shoot(page, "deliverable")
    page.get_by_role("button", name="审核通过", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已完成：审核通过")
    expect(page.locator("dd.state")).to_have_text("公示")
    assert served.reads.get(item.id).state == "publicity"
    event = moved(served, item.id, "approve")
    assert (event.actor, event.channel, event.host) == ("sup1", "web", "127.0.0.1")


def test_a_principal_returns_a_draft_with_a_reason_the_owner_then_reads_in_the_inbox(
        served: Campaign, visit: Visit) -> None:
    item = drive(served, "self_review", "review", title="班子成员对照检查材料")
    reason = "思想根源剖析不够深刻，请补充具体事例"
    page = visit("principal1")
    page.goto(f"/deliverables/{item.id}")
    returning = move_form(page, "退回修改")
    reason_box = returning.get_by_label("理由（必填）")
    returning.get_by_role("button").click()  # without a reason the browser keeps the form
    assert reason_box.evaluate("box => box.validity.valueMissing")
    reason_box.fill(reason)
    returning.get_by_role("button").click()
    expect(page.get_by_role("status")).to_contain_text("已完成：退回修改")
    expect(page.locator("dd.state")).to_have_text("草稿")
    [event] = [e for e in served.audit.events("transition") if e.trigger == "return"]
    assert (event.actor, event.comment, event.channel) == ("principal1", reason, "web")
    owner = visit(item.owner)
    owner.goto("/inbox")
    expect(owner.get_by_role("row").filter(has_text=item.title)).to_contain_text(reason)


def test_a_move_from_a_page_someone_else_has_since_acted_on_is_refused_as_stale(
        served: Campaign, visit: Visit) -> None:
    item = drive(served, "self_review", "supervisor_approval", title="过时的页面")
    page = visit("sup1")
    page.goto(f"/deliverables/{item.id}")
    make_move(served, "sup2", item.id, "approve")  # while sup1's page stays open
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="审核通过", exact=True).click()
    assert answer.value is not None and answer.value.status == 409
    expect(page.get_by_role("heading", name="现在不能这样做")).to_be_visible()
    assert [e.actor for e in served.audit.events("transition") if e.trigger == "approve"] \
        == ["sup2"]


# -- what one may not do ------------------------------------------------------------


def test_a_member_is_offered_no_approval_of_their_own_item_and_a_forged_one_is_refused(
        served: Campaign, visit: Visit) -> None:
    item = drive(served, "rectification_item", "supervisor_approval", owner="member1",
                 title="精简会议文件")
    page = visit("member1")
    page.goto(f"/deliverables/{item.id}")
    expect(page.get_by_role("heading", name=item.title)).to_be_visible()
    expect(page.locator("section.moves")).to_contain_text("现在没有您可以进行的操作。")
    expect(page.get_by_role("button", name="审核通过，予以公示")).to_have_count(0)
    refusals = len(served.audit.refusals())
    # What the supervisor's form would post, with the member's own session and token.
    csrf = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post(f"/deliverables/{item.id}/moves", form={
        "trigger": "approve", "comment": "", "if_version": str(item.version), "csrf": csrf},
        max_redirects=0)
    assert answer.status == 403
    assert served.reads.get(item.id).state == "supervisor_approval"
    logged = served.audit.refusals()[refusals:]
    assert [(r.actor, r.deliverable_id, r.channel) for r in logged] == [
        ("member1", item.id, "web")]


# -- revisions ------------------------------------------------------------------


def test_an_owner_uploads_a_revision_and_the_reviewer_sees_what_changed(
        served: Campaign, visit: Visit, shoot: Callable[[Page, str], Path]) -> None:
    spec = served.registry.definition("self_review")
    item = drive(served, "self_review", "review", title="对照检查材料（修改）",
                 content=complete_content(spec, body="原来的表述"))
    make_move(served, "principal1", item.id, "return", "请具体一些")
    owner = visit(item.owner)
    owner.goto(f"/deliverables/{item.id}")
    owner.get_by_label("上传新版本").set_input_files({
        "name": "对照检查材料.md", "mimeType": "text/markdown",
        "buffer": complete_text(spec, body="具体的表述").encode()})
    owner.get_by_role("button", name="上传新版本", exact=True).click()
    expect(owner.get_by_role("status")).to_contain_text("已上传第2版")
    owner.get_by_role("button", name="提交审阅", exact=True).click()
    expect(owner.locator("dd.state")).to_have_text("主要负责同志审阅")

    reviewer = visit("principal1")
    reviewer.goto(f"/deliverables/{item.id}")
    changes = reviewer.locator("section.content")
    expect(changes).to_contain_text("自您上次处理的第1版以来")
    expect(changes.locator("pre.diff .add").filter(has_text="具体的表述").first).to_be_visible()
    expect(changes.locator("pre.diff .del").filter(has_text="原来的表述").first).to_be_visible()
    shoot(reviewer, "deliverable")


# -- the public notice board -----------------------------------------------------------


def test_anyone_objects_to_a_notice_without_signing_in_and_it_goes_back_to_review(
        served: Campaign, visit: Visit, shoot: Callable[[Page, str], Path]) -> None:
    item = drive(served, "self_review", "publicity", title="领导班子对照检查材料（公示）")
    page = visit()
    page.goto("/notices")
    page.get_by_role("link", name=item.title).click()
    page.wait_for_url(f"**/notices/{item.id}")
    shoot(page, "notice")
    page.get_by_label("姓名").fill("群众甲")
    page.get_by_label("联系电话或电子邮箱").fill("0816-2345678")
    page.get_by_label("异议理由").fill("材料与实际情况不符")
    page.get_by_role("button", name="提交异议").click()
    expect(page.get_by_role("status")).to_contain_text("您的异议已经收到")
    expect(page.get_by_role("link", name=item.title)).to_have_count(0)  # no longer on notice
    assert served.reads.get(item.id).state == "review"
    event = moved(served, item.id, "object")
    assert (event.comment, event.channel) == ("材料与实际情况不符", "web")
    assert "群众甲" in (event.detail or "")  # who objected, for the check the notice promises
