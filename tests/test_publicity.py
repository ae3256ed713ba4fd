"""Publicity windows (公示期): entering ``publicity`` opens a window of working days;
an objection is heard up to and including its last day and sends the deliverable
back to review with the reason kept as a review opinion; every other way out
waits until the day after; the daily tick closes what has ended.

Dates are written out by hand (2014-06-13 is a Friday), not computed with the
engine's arithmetic.  A window of five working days spans five working days:
the opening day counts when it is one.  Every refusal is checked to write nothing at all: every
row of every table, read behind the engine's back, stays as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from conftest import LATER, ROLES_OF, cli_clock
from drive import (
    COMMENT,
    SPECS,
    USER_IDS,
    actor_for,
    advance,
    all_rows,
    at_day,
    drive,
    refused,
    working_days_after,
)
from plan_helpers import query

import cli
from workflow import Campaign
from workflow.errors import CampaignError, PermissionDenied, TransitionNotAllowed
from workflow.store.clock import campaign_zone
from workflow.store.views import EventView

FRIDAY = date(2014, 6, 13)
LAST_DAY = date(2014, 6, 19)  # Fri 13, Mon 16 … Thu 19: five working days
DAY_AFTER = date(2014, 6, 20)
REASON = "公示材料中“具体表现”与群众反映不符，请核实"
#: Types with a publicity block, and the move that leaves publicity other than
#: an objection (a rectification item starts its work instead of being archived).
WINDOWED = {"self_review": "archive", "rectification_plan": "archive",
            "rectification_item": "start"}
OFFICE = "office1"


def test_the_shipped_windows() -> None:
    assert {t for t, spec in SPECS.items() if spec.publicity} == set(WINDOWED)
    for type_id, spec in SPECS.items():
        if spec.publicity is not None:
            assert spec.publicity.working_days == 5
            assert spec.publicity.objection_trigger == "object"
            assert spec.publicity.close_trigger == (
                None if type_id == "rectification_item" else "archive")


# -- helpers ---------------------------------------------------------------------------


def publish(campaign: Campaign, type_id: str, on: date = FRIDAY, owner: str | None = None) -> int:
    """A fresh deliverable approved into publicity on ``on``."""
    item = drive(campaign, type_id, "supervisor_approval", owner=owner)
    approve = SPECS[type_id].transition("supervisor_approval", "approve")
    assert approve is not None
    approver = actor_for(approve, item.owner)
    assert approver is not None
    event = at_day(campaign, on).moves.fire(approver, item.id, "approve", "同意公示")
    assert event.dest == "publicity"
    return item.id


def refused_quietly(
    campaign: Campaign, db_url: str, error: type[CampaignError], call: Callable[[], object],
    actor: str | None = None,
) -> str:
    """``call`` raises exactly ``error`` and changes no row of any table."""
    before = all_rows(db_url)
    caught = refused(campaign, db_url, error, call, actor)
    assert all_rows(db_url) == before
    return str(caught)


def opinions(db_url: str, deliverable_id: int) -> list[tuple[object, ...]]:
    return query(db_url, "SELECT revision_number, revision_sha, line, author_id, text, event_seq "
                 "FROM opinion WHERE deliverable_id = :id ORDER BY id", id=deliverable_id)


def leave(campaign: Campaign, type_id: str, item_id: int, today: date) -> EventView:
    """The way out of publicity other than an objection, by someone allowed to."""
    trigger = WINDOWED[type_id]
    transition = SPECS[type_id].transition("publicity", trigger)
    assert transition is not None
    actor = actor_for(transition, campaign.reads.get(item_id).owner)
    assert actor is not None
    return at_day(campaign, today).moves.fire(actor, item_id, trigger, COMMENT)


# -- opening ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened_on", "closes_on"),
    [
        (date(2014, 6, 13), date(2014, 6, 19)),  # Friday counts; the weekend is skipped
        (date(2014, 6, 14), date(2014, 6, 20)),  # Saturday: counts from Monday
        (date(2014, 6, 15), date(2014, 6, 20)),  # Sunday
        (date(2014, 6, 16), date(2014, 6, 20)),  # Monday: that week's Friday
        (date(2014, 6, 19), date(2014, 6, 25)),  # Thursday
        (date(2014, 9, 30), date(2014, 10, 11)),  # National Day off, Saturday 10-11 worked
    ],
    ids=["fri", "sat", "sun", "mon", "thu", "national-day"],
)
@pytest.mark.parametrize("type_id", sorted(WINDOWED))
def test_entering_publicity_opens_a_window_of_five_working_days(
    campaign: Campaign, type_id: str, opened_on: date, closes_on: date
) -> None:
    assert working_days_after(opened_on, 5) == closes_on  # the helper agrees with the hand
    item_id = publish(campaign, type_id, on=opened_on)
    (window,) = campaign.reads.windows(item_id)
    assert (window.deliverable_id, window.opened_on, window.closes_on) == (
        item_id, opened_on, closes_on)
    assert (window.closed_at, window.outcome) == (None, None)
    assert campaign.reads.windows(item_id, open_only=True) == [window]
    assert window in campaign.reads.windows()


def test_the_window_opens_on_the_campaigns_calendar_day(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """17:30 UTC on Friday is 01:30 on Saturday in Shanghai (the default zone)."""
    moment = datetime(2014, 6, 13, 17, 30, tzinfo=UTC)
    for zone, opened_on, closes_on in ((None, date(2014, 6, 14), date(2014, 6, 20)),
                                       ("UTC", date(2014, 6, 13), date(2014, 6, 19))):
        if zone is None:
            monkeypatch.delenv("CAMPAIGN_TZ", raising=False)
        else:
            monkeypatch.setenv("CAMPAIGN_TZ", zone)
        campaign = Campaign.open(db_url, clock=lambda: moment)
        try:
            assert campaign.store.today() == opened_on
            item = drive(campaign, "self_review", "supervisor_approval")
            campaign.moves.fire("sup1", item.id, "approve", "同意公示")  # no today=: the calendar's
            (window,) = campaign.reads.windows(item.id)
            assert (window.opened_on, window.closes_on) == (opened_on, closes_on)
        finally:
            campaign.store.engine.dispose()


def test_a_type_without_a_publicity_block_opens_no_window(campaign: Campaign) -> None:
    assert SPECS["meeting_plan"].publicity is None
    item = drive(campaign, "meeting_plan", "publicity")
    assert campaign.reads.windows(item.id) == []
    advance(campaign, item.id, "archive")  # no window to wait for
    assert campaign.reads.get(item.id).state == "archived"


# -- objections ------------------------------------------------------------------------


@pytest.mark.parametrize("type_id", sorted(WINDOWED))
def test_an_objection_on_the_last_day_sends_it_back_to_review_with_the_reason_as_an_opinion(
    campaign: Campaign, db_url: str, type_id: str
) -> None:
    item_id = publish(campaign, type_id)
    before = campaign.reads.get(item_id)
    assert before.revision is not None

    event = at_day(campaign, LAST_DAY).moves.object_to("member1", item_id, f"  {REASON}  ")

    assert (event.action, event.trigger, event.source, event.dest) == (
        "transition", "object", "publicity", "review")
    assert (event.actor, event.role, event.comment) == ("member1", "member", REASON)
    assert event.revision == before.revision.sha256
    assert campaign.reads.history(item_id)[-1] == event
    after = campaign.reads.get(item_id)
    assert (after.state, after.version) == ("review", before.version + 1)
    (window,) = campaign.reads.windows(item_id)
    assert window.outcome == "objection" and window.closed_at is not None
    assert campaign.reads.windows(item_id, open_only=True) == []
    assert opinions(db_url, item_id) == [
        (before.revision.number, before.revision.sha256, None, "member1", REASON, event.seq)]
    campaign.audit.verify()


@pytest.mark.parametrize("type_id", sorted(WINDOWED))
def test_an_objection_the_day_after_the_window_is_refused_and_writes_nothing(
    campaign: Campaign, db_url: str, type_id: str
) -> None:
    item_id = publish(campaign, type_id)
    message = refused_quietly(
        campaign, db_url, TransitionNotAllowed,
        lambda: at_day(campaign, DAY_AFTER).moves.object_to("member1", item_id, REASON))
    assert str(LAST_DAY) in message
    assert campaign.reads.get(item_id).state == "publicity"


@pytest.mark.parametrize("user", USER_IDS)
def test_every_role_may_object(campaign: Campaign, user: str) -> None:
    item_id = publish(campaign, "self_review", owner="leader1")
    event = at_day(campaign, FRIDAY).moves.object_to(user, item_id, REASON)
    assert (event.actor, event.dest) == (user, "review")
    assert event.role in ROLES_OF[user]


def test_every_role_may_object_covers_every_role() -> None:
    assert {r for u in USER_IDS for r in ROLES_OF[u]} == set(
        SPECS["self_review"].transition("publicity", "object").roles)  # type: ignore[union-attr]


@pytest.mark.parametrize("reason", ["", "   ", "\u3000\t\n"], ids=["empty", "spaces", "blank"])
def test_an_objection_needs_a_reason(
    campaign: Campaign, db_url: str, reason: str
) -> None:
    item_id = publish(campaign, "self_review")
    message = refused_quietly(campaign, db_url, TransitionNotAllowed,
                              lambda: at_day(campaign, FRIDAY).moves.object_to("member1", item_id,
                                                                          reason))
    assert "reason" in message


def test_an_objection_outside_publicity_is_refused(campaign: Campaign, db_url: str) -> None:
    item = drive(campaign, "self_review", "review")
    message = refused_quietly(campaign, db_url, TransitionNotAllowed,
                              lambda: campaign.moves.object_to("member1", item.id, REASON))
    assert "object" in message and "review" in message
    briefing = drive(campaign, "meeting_plan", "publicity")  # no publicity block, no trigger
    message = refused_quietly(campaign, db_url, TransitionNotAllowed,
                              lambda: campaign.moves.object_to("member1", briefing.id, REASON))
    assert "publicity window" in message


# -- leaving otherwise -----------------------------------------------------------------


@pytest.mark.parametrize("type_id", sorted(WINDOWED))
def test_leaving_waits_for_the_day_after_the_last_day(
    campaign: Campaign, db_url: str, type_id: str
) -> None:
    item_id = publish(campaign, type_id)
    for early in (FRIDAY, LAST_DAY):
        message = refused_quietly(campaign, db_url, TransitionNotAllowed,
                                  lambda: leave(campaign, type_id, item_id, early))  # noqa: B023
        assert str(LAST_DAY) in message
    event = leave(campaign, type_id, item_id, DAY_AFTER)
    assert (event.source, event.trigger) == ("publicity", WINDOWED[type_id])
    (window,) = campaign.reads.windows(item_id)
    assert window.outcome == "ended" and window.closed_at is not None
    assert opinions(db_url, item_id) == []  # no reason to quote
    campaign.audit.verify()


def test_an_objection_is_not_heard_once_the_item_has_left_publicity(
    campaign: Campaign, db_url: str
) -> None:
    item_id = publish(campaign, "self_review")
    leave(campaign, "self_review", item_id, DAY_AFTER)
    refused_quietly(campaign, db_url, TransitionNotAllowed,
                    lambda: at_day(campaign, FRIDAY).moves.object_to("member1", item_id, REASON))


# -- republishing ----------------------------------------------------------------------


def test_a_republished_item_gets_a_new_window(campaign: Campaign, db_url: str) -> None:
    item_id = publish(campaign, "self_review")
    at_day(campaign, date(2014, 6, 17)).moves.object_to("member1", item_id, REASON)
    at_day(campaign, date(2014, 6, 18)).moves.fire("principal2", item_id, "forward", "已核实更正")
    at_day(campaign, date(2014, 6, 19)).moves.fire("sup1", item_id, "approve",
                                                   "重新公示")  # Thursday

    first, second = campaign.reads.windows(item_id)
    assert (first.opened_on, first.closes_on, first.outcome) == (FRIDAY, LAST_DAY, "objection")
    assert (second.opened_on, second.closes_on) == (date(2014, 6, 19), date(2014, 6, 25))
    assert (second.closed_at, second.outcome) == (None, None)
    assert campaign.reads.windows(item_id, open_only=True) == [second]
    # The old window's end means nothing now: the new one rules.
    message = refused_quietly(campaign, db_url, TransitionNotAllowed,
                              lambda: leave(campaign, "self_review", item_id, DAY_AFTER))
    assert "2014-06-25" in message
    assert at_day(campaign, DAY_AFTER).moves.tick(OFFICE) == []
    event = at_day(campaign, date(2014, 6, 25)).moves.object_to("member2", item_id, "第二次异议")
    assert event.dest == "review"
    assert [w.outcome for w in campaign.reads.windows(item_id)] == ["objection", "objection"]
    assert [o[4] for o in opinions(db_url, item_id)] == [REASON, "第二次异议"]
    campaign.audit.verify()


# -- the daily tick --------------------------------------------------------------------


def test_tick_on_the_last_day_closes_nothing(campaign: Campaign, db_url: str) -> None:
    ids = [publish(campaign, type_id) for type_id in sorted(WINDOWED)]
    before = all_rows(db_url)
    assert at_day(campaign, LAST_DAY).moves.tick(OFFICE) == []
    assert all_rows(db_url) == before
    assert all(campaign.reads.get(i).state == "publicity" for i in ids)


def test_tick_the_day_after_archives_a_self_review_naming_the_window(
    campaign: Campaign, db_url: str
) -> None:
    item_id = publish(campaign, "self_review")
    before = campaign.reads.get(item_id)

    (event,) = at_day(campaign, DAY_AFTER).moves.tick(OFFICE)

    assert (event.action, event.trigger, event.source, event.dest) == (
        "transition", "archive", "publicity", "archived")
    assert (event.actor, event.role, event.deliverable_id) == (OFFICE, "office", item_id)
    assert event.comment is not None
    assert "2014-06-13" in event.comment and "2014-06-19" in event.comment
    assert campaign.reads.history(item_id)[-1] == event
    after = campaign.reads.get(item_id)
    assert (after.state, after.final, after.version) == ("archived", True, before.version + 1)
    (window,) = campaign.reads.windows(item_id)
    assert window.outcome == "ended" and window.closed_at is not None
    assert opinions(db_url, item_id) == []
    assert at_day(campaign, DAY_AFTER).moves.tick(OFFICE) == []  # nothing left to close
    campaign.audit.verify()


def test_tick_ends_a_rectification_items_window_where_it_stands(
    campaign: Campaign, db_url: str
) -> None:
    """No close trigger: the window ends with an audited ``publicity.end`` event, the
    item stays in publicity, and starting the work needs no date any more."""
    item_id = publish(campaign, "rectification_item")
    before = campaign.reads.get(item_id)

    (event,) = at_day(campaign, DAY_AFTER).moves.tick(OFFICE)

    assert (event.action, event.trigger, event.source, event.dest) == (
        "publicity.end", None, "publicity", "publicity")
    assert (event.actor, event.role, event.deliverable_id) == (OFFICE, "office", item_id)
    assert event.comment is not None
    assert "2014-06-13" in event.comment and "2014-06-19" in event.comment
    assert campaign.reads.history(item_id)[-1] == event
    after = campaign.reads.get(item_id)
    assert (after.state, after.version) == ("publicity", before.version + 1)
    (window,) = campaign.reads.windows(item_id)
    assert window.outcome == "ended" and window.closed_at is not None
    assert at_day(campaign, DAY_AFTER).moves.tick(OFFICE) == []
    campaign.audit.verify()  # replay takes publicity.end for what it is: not a move
    start = leave(campaign, "rectification_item", item_id, FRIDAY)
    assert start.dest == "in_progress"
    campaign.audit.verify()


def test_tick_closes_every_ended_window_and_only_those(campaign: Campaign) -> None:
    ended = {t: publish(campaign, t) for t in sorted(WINDOWED)}
    running = publish(campaign, "self_review", on=date(2014, 6, 16))  # until 06-20
    events = at_day(campaign, DAY_AFTER).moves.tick(OFFICE)
    assert sorted(e.deliverable_id for e in events) == sorted(ended.values())
    assert campaign.reads.get(ended["self_review"]).state == "archived"
    assert campaign.reads.get(ended["rectification_plan"]).state == "archived"
    assert campaign.reads.get(ended["rectification_item"]).state == "publicity"
    assert campaign.reads.get(running).state == "publicity"
    assert [w.deliverable_id for w in campaign.reads.windows(open_only=True)] == [running]
    campaign.audit.verify()


def test_tick_by_someone_outside_the_office_is_denied_and_closes_nothing(
    campaign: Campaign, db_url: str
) -> None:
    item_id = publish(campaign, "self_review")
    refused_quietly(campaign, db_url, PermissionDenied,
                    lambda: at_day(campaign, DAY_AFTER).moves.tick("member1"), actor="member1")
    assert campaign.audit.refusals()[-1].deliverable_id == item_id
    fix = publish(campaign, "rectification_item")
    at_day(campaign, DAY_AFTER).moves.tick(OFFICE)  # archives the self-review...
    assert campaign.reads.get(item_id).state == "archived"
    assert campaign.reads.windows(fix, open_only=True) == []  # ...and ends the item's window


# -- the audit after all this ----------------------------------------------------------


def test_verify_replays_objections_archives_and_ended_windows(campaign: Campaign) -> None:
    review = publish(campaign, "self_review")
    at_day(campaign, LAST_DAY).moves.object_to("branch1", review, REASON)
    advance(campaign, review, "forward", "approve")
    fix = publish(campaign, "rectification_item")
    plan = publish(campaign, "rectification_plan")
    later = campaign.reads.windows(review, open_only=True)[0].closes_on + timedelta(days=1)
    events = at_day(campaign, later).moves.tick(OFFICE)
    assert sorted(e.action for e in events) == ["publicity.end", "transition", "transition"]
    assert {campaign.reads.get(i).state for i in (review, plan)} == {"archived"}
    report = campaign.audit.verify()
    assert report.deliverables == len(campaign.reads.deliverables())
    ends = [e for e in campaign.audit.events("publicity") if e.deliverable_id == fix]
    assert [e.action for e in ends] == ["publicity.end"]


# -- engine bugs, documented -----------------------------------------------------------


def test_an_objection_after_a_tick_ended_the_window_is_refused(
    campaign: Campaign, db_url: str
) -> None:
    item_id = publish(campaign, "rectification_item")
    at_day(campaign, DAY_AFTER).moves.tick(OFFICE)
    refused_quietly(campaign, db_url, TransitionNotAllowed,
                    lambda: at_day(campaign, date(2014, 7, 30)).moves.object_to("member1", item_id,
                                                                          REASON))


def test_an_objection_dated_before_the_window_opened_is_refused(
    campaign: Campaign, db_url: str
) -> None:
    item_id = publish(campaign, "self_review")
    refused_quietly(campaign, db_url, TransitionNotAllowed,
                    lambda: at_day(campaign, date(2014, 6, 1)).moves.object_to("member1", item_id,
                                                                         REASON))


def test_a_refused_tick_names_the_window_it_could_not_end(
    campaign: Campaign, db_url: str
) -> None:
    item_id = publish(campaign, "rectification_item")
    refused_quietly(campaign, db_url, PermissionDenied,
                    lambda: at_day(campaign, DAY_AFTER).moves.tick("member1"), actor="member1")
    refusal = campaign.audit.refusals()[-1]
    assert refusal.deliverable_id == item_id
    assert "manage users" not in refusal.action


# -- the command line ------------------------------------------------------------------


#: The command line's day: it writes on the engine's real clock, which
#: :func:`conftest.cli_clock` sets to :data:`conftest.LATER`, long after the 2014
#: windows and in a year the working-day calendar knows (a window opened on the
#: real day may reach a year it does not know yet).
CLI_NOW = LATER


def run(db_url: str, user: str, *args: object) -> Result:
    result = CliRunner().invoke(cli.main, ["--db", db_url, "--as", user,
                                           *map(str, args)])
    assert "Traceback" not in result.output
    return result


def test_object_and_tick_on_the_command_line(
        campaign: Campaign, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line writes on the engine's clock's day: a window of 2014 has
    long ended, one opened today is open."""
    today = cli_clock(monkeypatch, CLI_NOW).astimezone(campaign_zone()).date()
    late = publish(campaign, "self_review")
    objected = publish(campaign, "self_review", on=today)
    before = all_rows(db_url)
    refused_run = run(db_url, "member1", "object", late, "--reason", REASON)
    assert refused_run.exit_code == 4 and refused_run.stdout == ""
    (line,) = refused_run.stderr.splitlines()
    assert line.startswith("campaign: ") and str(LAST_DAY) in line
    assert all_rows(db_url) == before

    result = run(db_url, "member1", "object", objected, "--reason", REASON, "--json")
    assert result.exit_code == 0, result.output
    event = json.loads(result.stdout)
    assert (event["trigger"], event["source"], event["dest"], event["comment"]) == (
        "object", "publicity", "review", REASON)

    assert json.loads(run(db_url, OFFICE, "tick", "--today", LAST_DAY, "--json").stdout) == []
    result = run(db_url, OFFICE, "tick", "--json")
    assert result.exit_code == 0, result.output
    (closed,) = json.loads(result.stdout)
    assert (closed["deliverable_id"], closed["trigger"], closed["dest"]) == (
        late, "archive", "archived")
    assert str(LAST_DAY) in closed["comment"]
    assert campaign.reads.get(objected).state == "review"
