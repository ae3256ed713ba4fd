"""Rectification items (整改事项) to completion: the five fields, publicity,
progress notes, the completion claim, the office's rating, and lateness.

Every refusal is checked to write nothing: the deliverables, the audit chain,
the revisions (conftest's snapshot) and the rectification tables themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

import click
import pytest
from click.testing import CliRunner
from conftest import snapshot
from drive import at_day, refused
from plan_helpers import execute, query_all

import cli
from workflow import Campaign, from_text
from workflow.cli.commands.rectification import COMMANDS
from workflow.errors import (
    CampaignError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.render.report_build import build_report
from workflow.render.report_formats import render
from workflow.render.report_scope import overdue_items
from workflow.services.rectification import RATINGS, normalise_rating

OWNER = "leader1"
RESPONSIBLE = "member1"
DEADLINE = date(2014, 8, 31)
FIELDS: dict[str, Any] = {
    "matter": "文山会海问题突出", "measures": "精简会议文件，每月会议不超过4次",
    "responsible": RESPONSIBLE, "deadline": DEADLINE, "effect": "会议数量下降30%以上",
}
NAMES = ("matter", "measures", "responsible", "deadline", "effect")


# -- helpers -----------------------------------------------------------------------------


def new_item(campaign: Campaign, owner: str = OWNER, *, office: str = "office1") -> int:
    item = campaign.deliverables.create(office, "rectification_item", "精简会议文件", owner=owner,
                           content=from_text("# 整改方案\n\n措施\n"), due=date(2014, 12, 31))
    return item.id


def to_publicity(campaign: Campaign, item_id: int, owner: str = OWNER,
                 principal: str = "principal1", supervisor: str = "sup1") -> None:
    campaign.moves.fire(owner, item_id, "submit")
    campaign.moves.fire(principal, item_id, "forward")
    campaign.moves.fire(supervisor, item_id, "approve", "同意公示")


def after_window(campaign: Campaign, item_id: int) -> date:
    (window,) = campaign.reads.windows(item_id, open_only=True)
    return window.closes_on + timedelta(days=1)


def to_in_progress(campaign: Campaign, owner: str = OWNER, **fields: Any) -> int:
    item_id = new_item(campaign, owner)
    campaign.rectification.set(owner, item_id, **{**FIELDS, **fields})
    to_publicity(campaign, item_id, owner, *_reviewers(campaign))
    at_day(campaign, after_window(campaign, item_id)).moves.fire(owner, item_id, "start")
    return item_id


def _reviewers(campaign: Campaign) -> tuple[str, str]:
    ids = {u.id for u in campaign.reads.users()}
    return ("principal1", "sup1") if "principal1" in ids else ("prin", "sup1")


def rectification_rows(db_url: str) -> tuple[list[tuple[Any, ...]], ...]:
    return tuple(query_all(
        db_url,
        "SELECT * FROM rectification ORDER BY deliverable_id",
        "SELECT * FROM progress_note ORDER BY id",
        "SELECT id, due FROM deliverable ORDER BY id",
        "SELECT * FROM publicity_window ORDER BY id",
    ))


def refuses(campaign: Campaign, db_url: str, error: type[CampaignError],
            call: Callable[[], object], actor: str | None = None) -> str:
    """``call`` raises exactly ``error`` and writes nothing, here or anywhere else."""
    before = rectification_rows(db_url)
    caught = refused(campaign, db_url, error, call, actor)
    assert rectification_rows(db_url) == before
    return str(caught)


# -- the whole life ------------------------------------------------------------------------


def test_an_item_from_its_fields_to_a_verified_rating(campaign: Campaign) -> None:
    item_id = new_item(campaign)
    version = campaign.reads.get(item_id).version
    view = campaign.rectification.set(OWNER, item_id, **FIELDS)
    assert (view.matter, view.measures, view.responsible, view.deadline, view.effect) == (
        FIELDS["matter"], FIELDS["measures"], RESPONSIBLE, DEADLINE, FIELDS["effect"])
    assert (view.rating, view.notes) == (None, ())
    item = campaign.reads.get(item_id)
    assert (item.due, item.version, item.state) == (DEADLINE, version + 1, "draft")
    set_event = campaign.reads.history(item_id)[-1]
    assert (set_event.action, set_event.source, set_event.dest) == (
        "rectification.set", "draft", "draft")
    assert json.loads(set_event.detail or "{}") == {
        "matter": FIELDS["matter"], "measures": FIELDS["measures"],
        "responsible": RESPONSIBLE, "deadline": "2014-08-31", "effect": FIELDS["effect"],
        "replaced": False,
    }

    # Re-set in draft (here by the office): replaced, audited, the due date follows.
    later = date(2014, 9, 15)
    view = campaign.rectification.set("office1", item_id, **{**FIELDS, "deadline": later,
                                                             "responsible": "member2"})
    assert (view.responsible, view.deadline) == ("member2", later)
    assert campaign.reads.get(item_id).due == later
    reset = campaign.reads.history(item_id)[-1]
    assert (reset.actor, reset.role) == ("office1", "office")
    assert json.loads(reset.detail or "{}")["replaced"] is True
    campaign.rectification.set(OWNER, item_id, **FIELDS)

    to_publicity(campaign, item_id)
    refuses(campaign, _db(campaign), TransitionNotAllowed,
            lambda: campaign.moves.fire(OWNER, item_id, "start"))  # the window is still open
    at_day(campaign, after_window(campaign, item_id)).moves.fire(OWNER, item_id, "start")
    assert campaign.reads.get(item_id).state == "in_progress"

    campaign.rectification.note(RESPONSIBLE, item_id, "已制定会议审批制度")
    note = campaign.rectification.note(OWNER, item_id, "  7月会议3次  ")
    assert (note.action, note.source, note.dest, note.comment) == (
        "rectification.progress", "in_progress", "in_progress", "7月会议3次")
    campaign.moves.fire(OWNER, item_id, "claim_done")
    assert campaign.reads.get(item_id).state == "verification"

    event = campaign.rectification.verify("office1", item_id, "较好", "群众满意度测评92%")
    assert (event.trigger, event.source, event.dest, event.comment) == (
        "verify", "verification", "done", "群众满意度测评92%")
    view = campaign.rectification.get(item_id)
    assert (view.rating, view.rated_by) == ("较好", "office1")
    assert view.rated_at == campaign.reads.history(item_id)[-1].at
    assert view.notes == ("已制定会议审批制度", "7月会议3次")
    assert [(n.author, n.text) for n in campaign.rectification.notes(item_id)] == [
        (RESPONSIBLE, "已制定会议审批制度"), (OWNER, "7月会议3次")]

    done = campaign.reads.get(item_id)
    assert done.state == "done" and done.final
    rate = campaign.reads.history(item_id)[-1]
    assert (rate.action, rate.source, rate.dest, rate.actor) == (
        "rectification.rate", "done", "done", "office1")
    assert json.loads(rate.detail or "{}") == {"rating": "较好", "verify_event": event.seq}
    assert campaign.reads.path(item_id) == [
        ("draft", "submit", "review"), ("review", "forward", "supervisor_approval"),
        ("supervisor_approval", "approve", "publicity"), ("publicity", "start", "in_progress"),
        ("in_progress", "claim_done", "verification"), ("verification", "verify", "done"),
    ]
    assert done.version == len(campaign.reads.history(item_id))
    report = campaign.audit.verify()
    assert report.deliverables >= 1


def test_a_reopened_item_needs_a_new_note_before_it_is_claimed_again(
    campaign: Campaign, db_url: str
) -> None:
    item_id = to_in_progress(campaign)
    campaign.rectification.note(RESPONSIBLE, item_id, "第一次进展")
    campaign.moves.fire(OWNER, item_id, "claim_done")
    campaign.moves.fire("office1", item_id, "reopen", "会议数量未明显下降")
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.moves.fire(OWNER, item_id, "claim_done"))
    assert "progress note" in message
    campaign.rectification.note(RESPONSIBLE, item_id, "第二次进展")
    campaign.moves.fire(OWNER, item_id, "claim_done")
    campaign.rectification.verify("office2", item_id, "good")
    assert campaign.rectification.get(item_id).rating == "好"
    campaign.audit.verify()


def test_ratings_accept_chinese_and_english(campaign: Campaign) -> None:
    assert [normalise_rating(r) for r in RATINGS] == list(RATINGS)
    assert [normalise_rating(r) for r in ("good", "Fairly good", "fairly-good", "FAIR",
                                          "poor")] == ["好", "较好", "较好", "一般", "差"]
    with pytest.raises(InvalidInput):
        normalise_rating("excellent")


# -- refusals: each writes nothing -----------------------------------------------------------


def _db(campaign: Campaign) -> str:
    return campaign.store.engine.url.render_as_string(hide_password=False)


def test_submit_without_the_five_fields_is_refused_naming_them(
    campaign: Campaign, db_url: str
) -> None:
    item_id = new_item(campaign)
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.moves.fire(OWNER, item_id, "submit"))
    for name in NAMES:
        assert name in message
    assert "整改措施" in message and "campaign rectification set" in message


def test_submit_names_only_the_fields_that_are_missing(campaign: Campaign, db_url: str) -> None:
    item_id = new_item(campaign)
    campaign.rectification.set(OWNER, item_id, **FIELDS)
    # a row written before blanks were refused
    execute(db_url, "UPDATE rectification SET measures = '', effect = ' ' "
            "WHERE deliverable_id = :id", id=item_id)
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.moves.fire(OWNER, item_id, "submit"))
    assert "measures" in message and "effect" in message and "2 of its five" in message
    assert "matter" not in message and "deadline" not in message


def test_a_progress_note_outside_in_progress_is_refused(campaign: Campaign, db_url: str) -> None:
    item_id = new_item(campaign)
    campaign.rectification.set(OWNER, item_id, **FIELDS)
    refuses(campaign, db_url, TransitionNotAllowed,
            lambda: campaign.rectification.note(OWNER, item_id, "草稿阶段的进展"))
    to_publicity(campaign, item_id)
    refuses(campaign, db_url, TransitionNotAllowed,
            lambda: campaign.rectification.note(RESPONSIBLE, item_id, "公示期间的进展"))


def test_a_progress_note_by_anyone_else_or_without_text_is_refused(
    campaign: Campaign, db_url: str
) -> None:
    item_id = to_in_progress(campaign)
    refuses(campaign, db_url, PermissionDenied,
            lambda: campaign.rectification.note("office1", item_id, "替写进展"), actor="office1")
    refuses(campaign, db_url, InvalidInput,
            lambda: campaign.rectification.note(RESPONSIBLE, item_id, "   "))


def test_claiming_completion_without_a_progress_note_is_refused(
    campaign: Campaign, db_url: str
) -> None:
    item_id = to_in_progress(campaign)
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.moves.fire(OWNER, item_id, "claim_done"))
    assert f"campaign rectification note {item_id}" in message


def test_finding_5_the_responsible_person_claims_completion(
    campaign: Campaign, db_url: str
) -> None:
    """Issue 9, finding 5: the 整改责任人 answers for the item beside its owner."""
    item_id = to_in_progress(campaign)
    campaign.rectification.note(RESPONSIBLE, item_id, "已完成")
    event = campaign.moves.fire(RESPONSIBLE, item_id, "claim_done", "申报完成")
    assert (event.actor, event.dest) == (RESPONSIBLE, "verification")
    assert RESPONSIBLE in [e.actor for e in campaign.reads.history(item_id) if e.trigger]
    campaign.audit.verify()


def test_finding_5_someone_else_may_not_claim_completion(
    campaign: Campaign, db_url: str
) -> None:
    item_id = to_in_progress(campaign)
    campaign.rectification.note(RESPONSIBLE, item_id, "进展")
    message = refuses(campaign, db_url, PermissionDenied,
                      lambda: campaign.moves.fire("member2", item_id,
                                                  "claim_done"), actor="member2")
    assert f"the owner ({OWNER}) or the responsible person ({RESPONSIBLE})" in message


def test_verify_without_a_rating_is_refused(campaign: Campaign, db_url: str) -> None:
    item_id = to_in_progress(campaign)
    campaign.rectification.note(RESPONSIBLE, item_id, "进展")
    campaign.moves.fire(OWNER, item_id, "claim_done")
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.moves.fire("office1", item_id, "verify", "好"))
    assert f"campaign rectification verify {item_id} --rating" in message
    refuses(campaign, db_url, InvalidInput,
            lambda: campaign.rectification.verify("office1", item_id, "excellent"))
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.rectification.verify("office1", item_id, "差"))
    assert "reopen" in message


def test_rating_by_someone_outside_the_office_is_denied(campaign: Campaign, db_url: str) -> None:
    item_id = to_in_progress(campaign)
    campaign.rectification.note(RESPONSIBLE, item_id, "进展")
    campaign.moves.fire(OWNER, item_id, "claim_done")
    for actor in ("principal1", "sup1", RESPONSIBLE):
        error = refuses(campaign, db_url, PermissionDenied,
                        partial(campaign.rectification.verify, actor, item_id, "好"), actor=actor)
        assert "needs role office" in error
    assert PermissionDenied("x", "y", "z").exit_code == 3


def test_setting_fields_on_another_type_is_refused(campaign: Campaign, db_url: str) -> None:
    other = campaign.deliverables.create(OWNER, "self_review", "对照检查材料",
                            content=from_text("# 对照检查材料\n\n正文\n"))
    message = refuses(campaign, db_url, TransitionNotAllowed,
                      lambda: campaign.rectification.set(OWNER, other.id, **FIELDS))
    assert "self_review" in message
    refuses(campaign, db_url, NotFound, lambda: campaign.rectification.get(other.id))


def test_setting_fields_is_for_the_owner_or_office_in_draft_with_real_people(
    campaign: Campaign, db_url: str
) -> None:
    item_id = new_item(campaign)
    refuses(campaign, db_url, PermissionDenied,
            lambda: campaign.rectification.set("leader2", item_id, **FIELDS), actor="leader2")
    refuses(campaign, db_url, NotFound,
            lambda: campaign.rectification.set(OWNER, item_id, **{**FIELDS,
                                                                   "responsible": "nobody"}))
    for name in ("matter", "measures", "effect", "responsible"):
        refuses(campaign, db_url, InvalidInput,
                partial(campaign.rectification.set, OWNER, item_id, **{**FIELDS, name: " "}))
    refuses(campaign, db_url, NotFound,
            lambda: campaign.rectification.set(OWNER, 999, **FIELDS))
    campaign.rectification.set(OWNER, item_id, **FIELDS)
    campaign.moves.fire(OWNER, item_id, "submit")
    refuses(campaign, db_url, TransitionNotAllowed,
            lambda: campaign.rectification.set(OWNER, item_id, **FIELDS))
    refuses(campaign, db_url, TransitionNotAllowed,
            lambda: campaign.rectification.set("office1", item_id, **FIELDS))
    assert snapshot(db_url).deliverables  # the helper's snapshot saw the item


# -- overdue ----------------------------------------------------------------------------------


def test_an_item_past_its_deadline_in_progress_is_overdue_with_its_responsible_person(
    c: Campaign,
) -> None:
    late = to_in_progress(c, OWNER)
    own = to_in_progress(c, "leader2", responsible="leader2", matter="自己负责的事项")
    today = DEADLINE + timedelta(days=3)
    report = build_report(c, today)
    rows = {o.id: o for o in report.overdue}
    row = rows[late]
    assert (row.owner, row.responsible, row.responsible_name) == (OWNER, RESPONSIBLE, "赵一")
    assert (row.due, row.days_late, row.state) == (DEADLINE, 3, "in_progress")
    assert (rows[own].responsible, rows[own].responsible_name) == (None, None)
    assert "整改责任人 赵一（member1）" in render(report, "markdown")
    assert "整改责任人 赵一" in render(report, "html")
    assert json.loads(render(report, "json"))["overdue"][0].keys() >= {
        "responsible", "responsible_name"}
    assert overdue_items(c, today) == list(report.overdue)
    assert not any(o.id == late for o in build_report(c, DEADLINE).overdue)  # due today
    c.audit.verify()


# -- command line ------------------------------------------------------------------------------


def _cli() -> click.Group:
    """``campaign`` with the rectification group (registered here until cli.py does)."""
    if "rectification" in cli.main.commands:
        return cli.main
    return cli.CampaignGroup(
        name="campaign", params=cli.main.params, callback=cli.main.callback,
        commands={**cli.main.commands, **{c.name or "": c for c in COMMANDS}})


def _run(db_url: str, user: str, *args: object) -> Any:
    result = CliRunner().invoke(_cli(), ["--db", db_url, "--as", user, *map(str, args)])
    assert "Traceback" not in result.output
    return result


def test_the_command_line(campaign: Campaign, db_url: str,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    item_id = new_item(campaign)
    refused_submit = _run(db_url, OWNER, "do", item_id, "submit")
    assert refused_submit.exit_code == 4 and "matter" in refused_submit.stderr
    result = _run(db_url, OWNER, "rectification", "set", item_id, "--matter", FIELDS["matter"],
                  "--measures", FIELDS["measures"], "--responsible", RESPONSIBLE,
                  "--deadline", "2014-08-31", "--effect", FIELDS["effect"], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deadline"] == "2014-08-31"
    to_publicity(campaign, item_id)
    at_day(campaign, after_window(campaign, item_id)).moves.fire(OWNER, item_id, "start")

    assert _run(db_url, "office1", "rectification", "note", item_id, "--text", "x").exit_code == 3
    result = _run(db_url, RESPONSIBLE, "rectification", "note", item_id, "--text", "已整改")
    assert result.exit_code == 0 and "progress noted" in result.stdout
    assert _run(db_url, OWNER, "do", item_id, "claim_done").exit_code == 0

    before = snapshot(db_url)
    plain = _run(db_url, "office1", "do", item_id, "verify")
    assert plain.exit_code == 4 and "--rating" in plain.stderr
    denied = _run(db_url, "leader2", "rectification", "verify", item_id, "--rating", "好")
    assert denied.exit_code == 3 and denied.stderr.startswith("campaign: permission denied")
    assert _run(db_url, "office1", "rectification", "verify", item_id,
                "--rating", "优").exit_code == 7
    assert snapshot(db_url) == before

    result = _run(db_url, "office1", "rectification", "verify", item_id, "--rating", "一般",
                  "--comment", "基本达到")
    assert result.exit_code == 0 and "rated 一般" in result.stdout
    shown = json.loads(_run(db_url, "office1", "rectification", "show", item_id,
                            "--json").stdout)
    assert (shown["rating"], shown["notes"]) == ("一般", ["已整改"])
    assert shown["progress_notes"][0]["author"] == RESPONSIBLE
    table = _run(db_url, "office1", "rectification", "show", item_id)
    assert "整改措施 measures" in table.stdout and "已整改" in table.stdout
    assert _run(db_url, "office1", "rectification", "show", 999).exit_code == 6
    campaign.audit.verify()
