"""The campaign's dashboard: the phase, the gate as ``campaign phase status``
reports it, progress by unit, the overdue items a page at a time, targets
and talks — for those who run, lead or supervise the campaign only."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator

import pytest
from conftest import START
from fastapi.testclient import TestClient
from plan_helpers import STANDARD, open_db
from web_fixtures import PASSWORD, signing_in

from workflow import Campaign
from workflow.services.passwords import Passwords
from workflow.web import campaign_pages
from workflow.web.app import create_app
from workflow.web.settings import WebSettings


@pytest.fixture
def served_plan(db: str) -> Iterator[Campaign]:
    """The shipped plan started on plan_helpers.STANDARD, everyone with a password."""
    campaign = open_db(db, clock=lambda: START)
    campaign.accounts.hashing = Passwords.cheapest()
    for person in STANDARD:
        campaign.accounts.set_password(person.id, person.id, PASSWORD)
    yield campaign
    campaign.store.engine.dispose()


@pytest.fixture
def plan_user(served_plan: Campaign) -> Iterator[Callable[[str], TestClient]]:
    with signing_in(create_app(WebSettings(), campaign=served_plan)) as open_as:
        yield open_as


@pytest.mark.parametrize("user", ["office1", "sup1"])
def test_the_dashboard_shows_the_phase_and_the_gate_as_phase_status_does(
        served_plan: Campaign, plan_user: Callable[[str], TestClient], user: str) -> None:
    page = plan_user(user).get("/dashboard")
    assert page.status_code == 200
    text = html.unescape(page.text)
    phase = served_plan.plan.spec().leaf(served_plan.plan.phase())
    assert phase.label in text
    gate = served_plan.plan.gate()
    assert gate and any(check.missing for check in gate)
    for check in gate:
        assert check.label in text
        for line in check.missing:
            assert f"缺：{line}" in text


def test_the_dashboard_shows_progress_by_unit_targets_and_talks(
        served_plan: Campaign, plan_user: Callable[[str], TestClient]) -> None:
    text = html.unescape(plan_user("prin").get("/dashboard").text)
    _, units = served_plan.reads.tallies(served_plan.plan.spec())
    assert units and all(f"<td>{unit.unit}</td>" in text for unit in units)
    for target in served_plan.plan.targets():
        assert target.label in text
    assert "谈心谈话" in text and "应谈" in text  # the plan requires talks


def test_a_member_may_not_see_the_dashboard_since_it_lists_everyones_items(
        plan_user: Callable[[str], TestClient]) -> None:
    assert plan_user("member1").get("/dashboard").status_code == 403


def test_the_overdue_items_come_a_page_at_a_time(
        served_plan: Campaign, plan_user: Callable[[str], TestClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    late_day = max(d for d in (p.end for _, p in served_plan.plan.spec().leaves()) if d)
    served_plan.store.clock = lambda: START.replace(year=late_day.year + 1)
    overdue = served_plan.reads.overdue(served_plan.store.today(), served_plan.plan.spec())
    assert len(overdue) > 2
    monkeypatch.setattr(campaign_pages, "PAGE", 2)
    office = plan_user("office1")
    first = office.get("/dashboard").text
    assert f'href="/deliverables/{overdue[0].id}"' in first
    assert f'href="/deliverables/{overdue[2].id}"' not in first
    assert f"/dashboard?after={overdue[1].id}" in first
    second = office.get(f"/dashboard?after={overdue[1].id}").text
    assert f'href="/deliverables/{overdue[2].id}"' in second
    assert f'href="/deliverables/{overdue[0].id}"' not in second


def test_signed_out_visitors_are_sent_to_sign_in(served_plan: Campaign) -> None:
    with TestClient(create_app(WebSettings(), campaign=served_plan)) as client:
        answer = client.get("/dashboard", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
