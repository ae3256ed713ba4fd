"""The demo's last step: a campaign to open in a browser.

One rectification item waits for the supervision group, returned once with
a reason and revised since (so its page shows what changed), and four
people get a password printed with the command that serves the database.
Passwords are random per run: a demo database is not a place for a known
password, even on loopback.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from campaign_demo import roster as R
from workflow.campaign import Campaign
from workflow.spec.content import from_text

#: Who signs in to the served demo, and as what.
SIGN_INS = ((R.SUPERVISORS[0], "supervisor: approves or returns"),
            (R.PRINCIPAL, "principal: the first reader"),
            ("zhaoyi", "member: owns the item under review"),
            (R.OFFICE, "campaign office: users, dashboard"))


def prepare_served(campaign: Campaign, directory: Path, echo: Callable[..., Any],
                   program: str = "campaign") -> None:
    """``program`` is how the reader runs campaign (``.venv/bin/campaign`` from
    ``make demo``), so the printed command can be pasted as it is."""
    item = _awaiting_supervisor(campaign)
    passwords = {user: f"demo-{secrets.token_urlsafe(9)}" for user, _ in SIGN_INS}
    for user, password in passwords.items():
        campaign.accounts.set_password(user, user, password)
    say = echo
    say("Open the campaign in a browser:")
    say(f"  {program} --db sqlite:///{directory / 'demo.db'} serve    then "
        "http://127.0.0.1:8000/")
    for user, what in SIGN_INS:
        say(f"  {user:<8} password {passwords[user]}   ({what})")
    say(f"  deliverable #{item} waits for {R.SUPERVISORS[0]} in the inbox, with what changed "
        "since it was returned")


#: The item left for the supervisor.
AWAITING_TITLE = "基层服务窗口“门难进、脸难看”问题整改"


def _awaiting_supervisor(campaign: Campaign) -> int:
    title = AWAITING_TITLE
    owner = "zhaoyi"
    draft = R.draft(title, type_id="rectification_item")
    item = campaign.deliverables.create(owner, "rectification_item", title,
                                        content=from_text(draft))
    campaign.rectification.set(owner, item.id, matter=title,
                               measures="公开服务承诺，设立投诉电话", responsible=owner,
                               deadline=campaign.store.today().replace(month=12, day=31),
                               effect="群众满意度测评达到“较好”以上")
    campaign.moves.fire(owner, item.id, "submit")
    campaign.moves.fire(R.PRINCIPAL, item.id, "return", "措施不具体：写明投诉电话和办结时限")
    revised = (R.draft(title, "修改稿", "rectification_item")
               + "\n投诉电话 2345678，五个工作日内办结。\n")
    campaign.deliverables.revise(owner, item.id, from_text(revised))
    campaign.moves.fire(owner, item.id, "submit")
    campaign.moves.fire(R.PRINCIPAL, item.id, "forward")
    return item.id
