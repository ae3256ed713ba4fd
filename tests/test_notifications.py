"""Issue 12, e-mail notifications: derived after commit from the audit log,
queued in the outbox, sent to a real SMTP server (aiosmtpd, on 127.0.0.1).

The scenario: 张副主席 (leader1) submits a self-review; the principals may now
return or forward it (not its owner), so each principal with an address gets
one mail; a refused move mails nobody; approving opens the publicity window
(the owner and the office hear of it) and ``tick`` closes it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from conftest import START, text
from drive import at_day, shipped_spec
from plan_helpers import query, share_specs

import cli
from workflow import Campaign
from workflow.errors import PermissionDenied
from workflow.services import notify_mail as who
from workflow.services.notifications import SmtpSettings, Summary

BASE = "https://campaign.example.org"
WITH_ADDRESS = ("leader1", "principal1", "office1", "sup1")  # principal2, office2: none


class Received:
    """What the SMTP server was handed: each mail with its envelope's recipients."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), message))
        self.raw.append(bytes(envelope.content))
        return "250 OK"

    def to(self, user: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.mails if rcpt == [f"{user}@example.org"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[Received, SmtpSettings]]:
    received = Received()
    controller = Controller(received, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield received, SmtpSettings("127.0.0.1", controller.port,
                                     sender="campaign@example.org", base_url=BASE)
    finally:
        controller.stop()


@pytest.fixture
def c(campaign: Campaign) -> Campaign:
    """The campaign with addresses for some, the notifier started (at the log's end)."""
    for user in WITH_ADDRESS:
        campaign.accounts.set_email("office1", user, f"{user}@example.org")
    assert campaign.notifications.collect() == Summary()  # the first run: nothing of the past
    return campaign


def self_review(c: Campaign, owner: str = "leader1") -> int:
    item = c.deliverables.create(owner, "self_review", "张副主席对照检查材料",
                                 content=text(spec=shipped_spec("self_review")),
                                 due=date(2014, 6, 30))
    return item.id


def outbox(db: str) -> list[tuple[Any, ...]]:
    return query(db, "SELECT recipient_id, kind, attempts, sent_at IS NOT NULL, last_error "
                     "FROM notification ORDER BY id")


def test_a_submit_mails_each_reviewer_once(c: Campaign, db_url: str,
                                           server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    item = self_review(c)  # leader1's own: only they may submit it, and they made it
    c.moves.fire("leader1", item, "submit")
    summary = c.notifications.run_once(settings)
    # principal1 and principal2 may return or forward it; principal2 has no address.
    assert summary == Summary(queued=1, no_address=1, sent=1)
    [(rcpt, mail)] = received.mails
    assert rcpt == ["principal1@example.org"]
    assert mail["Subject"] == f"【待办】张副主席对照检查材料（#{item}）"
    [subject] = [line for line in received.raw[0].splitlines() if line.startswith(b"Subject:")]
    assert subject.isascii() and b"=?utf-8?" in subject.lower()  # RFC 2047, not raw UTF-8
    body = mail.get_content()
    assert body.index("主要负责同志审阅") < body.index("Principal's review")  # Chinese first
    assert f"{BASE}/deliverables/{item}" in body and "2014-06-30" in body
    assert "退回修改" in body and "Forward to supervisors" in body
    assert mail["To"].addresses[0].display_name == "李书记"
    # Nothing twice, and never the actor.
    assert c.notifications.run_once(settings) == Summary()
    assert len(received.mails) == 1 and not received.to("leader1")
    assert outbox(db_url) == [("principal1", "inbox", 1, True, None)]


def test_a_refused_move_mails_nobody(c: Campaign, server: tuple[Received, SmtpSettings]
                                     ) -> None:
    received, settings = server
    item = self_review(c)
    c.moves.fire("leader1", item, "submit")
    c.notifications.run_once(settings)
    with pytest.raises(PermissionDenied):
        c.moves.fire("leader2", item, "forward")  # only a principal forwards
    assert c.notifications.run_once(settings) == Summary()
    assert len(received.mails) == 1


def test_the_first_run_never_mails_about_the_past(
        campaign: Campaign, server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    campaign.accounts.set_email("office1", "principal1", "principal1@example.org")
    item = self_review(campaign)
    campaign.moves.fire("leader1", item, "submit")
    assert campaign.notifications.run_once(settings) == Summary()
    campaign.moves.fire("principal1", item, "return", "请补充思想根源")
    # Back in draft: only its owner may submit it, and leader1 has no address here.
    assert campaign.notifications.run_once(settings) == Summary(no_address=1)
    assert received.mails == []


def test_created_for_someone_else_it_is_in_their_inbox(
        c: Campaign, server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    item = c.deliverables.create("office1", "self_review", "待写的材料", owner="leader1").id
    assert c.notifications.run_once(settings).sent == 1
    [mail] = received.to("leader1")
    assert mail["Subject"] == f"【待办】待写的材料（#{item}）"


def test_publicity_opening_and_closing_mail_the_owner_and_the_office(
        c: Campaign, db_url: str, server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    item = self_review(c)
    for actor, trigger in (("leader1", "submit"), ("principal1", "forward")):
        c.moves.fire(actor, item, trigger)
    c.notifications.run_once(settings)
    received.mails.clear()
    c.moves.fire("sup1", item, "approve")  # Friday 2014-06-13: five working days
    assert c.notifications.run_once(settings) == Summary(queued=2, no_address=1, sent=2)
    assert {rcpt[0] for rcpt, _ in received.mails} == {"leader1@example.org",
                                                        "office1@example.org"}
    [opened] = received.to("leader1")
    assert opened["Subject"] == f"【公示开始】张副主席对照检查材料（#{item}）"
    assert "2014-06-13至2014-06-19" in opened.get_content()
    received.mails.clear()
    at_day(c, date(2014, 6, 20)).moves.tick("office1")  # archives it; office1 acted
    assert c.notifications.run_once(settings).sent == 1
    [closed] = received.to("leader1")
    assert closed["Subject"] == f"【公示结束】张副主席对照检查材料（#{item}）"
    assert "无异议" in closed.get_content() and "Archived" in closed.get_content()
    assert [kind for _, kind, *_ in outbox(db_url)][-3:] == [
        "publicity.open", "publicity.open", "publicity.close"]


def test_a_failed_send_is_recorded_and_tried_again(
        c: Campaign, db_url: str, server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    item = self_review(c)
    c.moves.fire("leader1", item, "submit")
    down = replace(settings, port=free_port(), timeout=2)  # nobody listens there
    assert c.notifications.run_once(down) == Summary(queued=1, no_address=1, failed=1)
    [(user, _, attempts, sent, error)] = outbox(db_url)
    assert (user, attempts, sent) == ("principal1", 1, False) and "cannot reach" in error
    assert c.notifications.send(settings) == Summary()  # backing off: not yet
    c.store.clock = lambda: START + timedelta(minutes=5)
    assert c.notifications.send(settings) == Summary(sent=1)
    assert outbox(db_url)[0][2:4] == (2, True) and len(received.to("principal1")) == 1


def test_two_notifiers_at_once_send_each_mail_once(
        c: Campaign, db_url: str, server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    items = [self_review(c) for _ in range(6)]
    for item in items:
        c.moves.fire("leader1", item, "submit")
    others = [share_specs(Campaign.open(db_url, clock=lambda: START)) for _ in range(2)]
    errors: list[BaseException] = []

    def run(campaign: Campaign) -> None:
        try:
            campaign.notifications.run_once(settings)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(o,)) for o in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for other in others:
        other.store.engine.dispose()
    assert not errors
    subjects = sorted(m["Subject"] for m in received.to("principal1"))
    assert subjects == sorted(f"【待办】张副主席对照检查材料（#{i}）" for i in items)


def test_a_server_runs_it_in_the_background(
        c: Campaign, server: tuple[Received, SmtpSettings]) -> None:
    received, settings = server
    running = c.notifications.start_background(settings, interval=0.05)
    try:
        c.moves.fire("leader1", self_review(c), "submit")
        deadline = time.monotonic() + 10
        while not received.mails and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        running.stop()
    assert [rcpt for rcpt, _ in received.mails] == [["principal1@example.org"]]


def test_the_rules_narrow_the_roles() -> None:
    spec = shipped_spec("rectification_item")
    people = who.People({"leader": frozenset({"leader1", "leader2"}),
                         "office": frozenset({"office1"}),
                         "member": frozenset({"member1"}),
                         "principal": frozenset({"principal1"})},
                        frozenset({"leader1", "leader2", "office1", "member1", "principal1"}))
    item = who.Item(1, "整改", "leader1", "member1", "in_progress", None, spec)
    done = next(t for t in spec.transitions_from("in_progress") if t.owner_or_responsible)
    assert who.may_fire(done, item, people) == {"leader1", "member1"}
    review = who.Item(1, "整改", "leader1", "principal1", "review", None, spec)
    assert "principal1" not in who.inbox(review, "review", people)  # not_owner: nor responsible
    submit = next(t for t in spec.transitions_from("draft") if t.owner_only)
    assert who.may_fire(submit, item, people) <= {"leader1"}
    event = who.Event(9, "", "member1", "transition", "claim_done", "in_progress",
                      "verification", None, None, None)
    moved = replace(item, state="verification")
    assert "member1" not in who.concerned(event, moved, people)  # never the actor


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAMPAIGN_SMTP_HOST", raising=False)
    result = CliRunner().invoke(cli.main, ["--db", "sqlite:///nowhere.db", "notify", "--once"])
    assert result.exit_code == 7
    assert result.stderr.count("\n") == 1 and "CAMPAIGN_SMTP_HOST" in result.stderr
    assert SmtpSettings.from_env({}) is None


def test_the_command_sends(c: Campaign, db_url: str, server: tuple[Received, SmtpSettings],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    received, settings = server
    c.moves.fire("leader1", self_review(c), "submit")
    monkeypatch.setenv("CAMPAIGN_SMTP_HOST", settings.host)
    monkeypatch.setenv("CAMPAIGN_SMTP_PORT", str(settings.port))
    result = CliRunner().invoke(cli.main, ["--db", db_url, "notify", "--once", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == '{"queued": 1, "no_address": 1, "sent": 1, "failed": 0}'
    assert len(received.to("principal1")) == 1
