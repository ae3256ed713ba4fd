"""``campaign demo``: the main job on a fresh embedded database, end to end."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SHIPPED_TYPES
from drive import working_days_after

import cli
from campaign_demo.served import AWAITING_TITLE
from workflow import Campaign
from workflow.render.diagram_style import CURRENT_FILL, PATH_COLOUR

CONSOLE_SCRIPT = Path(sys.executable).parent / "campaign"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def demo_needs_dot(needs_dot: None) -> None:
    """Every demo test draws diagrams."""


def run_demo(directory: Path, columns: int = 200) -> Result:
    result = CliRunner().invoke(cli.main, ["demo", "--dir", str(directory)],
                                env={"COLUMNS": str(columns)})
    assert "Traceback" not in result.output
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result


def open_demo(directory: Path) -> Campaign:
    database = directory / "demo.db"
    assert database.is_file()
    return Campaign.open(f"sqlite:///{database}")


@dataclass(frozen=True)
class Demo:
    out: Path
    stdout: str
    campaign: Campaign


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One run of the demo, shared by the tests that only read its results."""
    out = tmp_path_factory.mktemp("demo") / "out"
    return Demo(out, run_demo(out, columns=80).stdout, open_demo(out))


def the_returned_self_review(campaign: Campaign) -> int:
    (item,) = [d.id for d in campaign.reads.deliverables(type_id="self_review")
               if any(e.trigger == "return" for e in campaign.reads.history(d.id))]
    return item


def return_reason(campaign: Campaign, item: int) -> str:
    (reason,) = [e.comment for e in campaign.reads.history(item) if e.trigger == "return"]
    assert reason
    return reason


def counts(directory: Path) -> tuple[int, int, int, int]:
    with sqlite3.connect(directory / "demo.db") as raw:
        return tuple(  # type: ignore[return-value]
            raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("audit_event", "deliverable", "app_user", "access_refusal")
        )


def test_the_returned_self_review_is_revised_approved_published_and_archived(
    demo: Demo,
) -> None:
    """Its outline is refused for the sections it lacks, the full draft is returned
    with a reason, revised, approved, published, and archived by the daily tick
    once its window of 5 working days has ended without objection."""
    item = the_returned_self_review(demo.campaign)
    assert f"History of self-review material #{item}" in demo.stdout
    # The full reason, even at 80 columns: the history shows why it came back.
    assert return_reason(demo.campaign, item) in demo.stdout
    assert "refused as it should be: permission denied" in demo.stdout
    (refused_submit,) = [line for line in demo.stdout.splitlines()
                         if line.startswith("submit refused as it should be")]
    for label in ("具体表现", "主观原因", "思想根源", "努力方向和改进措施"):
        assert label in refused_submit
    view = demo.campaign.reads.get(item)
    assert view.state == "archived"
    assert [trigger for _, trigger, _ in demo.campaign.reads.path(item)] == [
        "submit", "return", "submit", "forward", "approve", "archive"]
    revisions = demo.campaign.reads.revisions(item)
    assert len(revisions) == 3  # the refused outline, the returned draft, the approved one
    history = demo.campaign.reads.history(item)
    approval, archive = history[-2:]
    assert approval.trigger == "approve"
    assert approval.revision == revisions[-1].sha256  # bound to the content approved
    (window,) = demo.campaign.reads.windows(item)
    assert window.opened_on == date(2014, 6, 16)
    # Five working days counting the opening Monday: 06-16 to 06-20.
    assert window.closes_on == working_days_after(window.opened_on, 5) == date(2014, 6, 20)
    assert window.outcome == "ended"
    assert (archive.trigger, archive.source, archive.dest) == ("archive", "publicity", "archived")
    assert archive.role == "office"
    assert archive.comment is not None
    assert str(window.opened_on) in archive.comment and str(window.closes_on) in archive.comment
    assert archive.comment in demo.stdout
    assert archive.revision == revisions[-1].sha256


def test_the_campaign_walks_every_phase_to_closed(demo: Demo) -> None:
    assert demo.campaign.plan.phase() == "closed"
    moves = demo.campaign.audit.events("phase")
    assert [e.dest for e in moves] == [
        "implementation.study_and_listen", "implementation.find_and_criticise",
        "implementation.rectify_and_build", "summary", "closed"]
    (forced,) = [e for e in moves if e.action == "phase.force"]
    assert forced.comment and forced.comment in demo.stdout
    assert "advance refused: not allowed: cannot leave 查摆问题、开展批评" in demo.stdout


def test_a_rejected_research_report_is_researched_again(demo: Demo) -> None:
    reads = demo.campaign.reads
    paths = [reads.path(d.id) for d in reads.deliverables("research_report")]
    again = [p for p in paths if ("supervisor_approval", "reject", "research_again") in p]
    assert len(again) == 1
    assert again[0][-1][2] == "publicity"


def test_talks_targets_and_the_overdue_item_are_in_the_report(demo: Demo) -> None:
    talks = demo.campaign.plan.talks()
    assert len(talks) == 21 and all(t.confirmed for t in talks)  # 7 team members
    assert all(t.done > 0 for t in demo.campaign.plan.targets())
    assert "进展情况报告" in demo.stdout and "逾期事项" in demo.stdout
    html = (demo.out / "report.html").read_text(encoding="utf-8")
    (late,) = [d for d in demo.campaign.reads.deliverables("rectification_item")
               if d.state != "done" and d.title != AWAITING_TITLE]
    assert late.title in demo.stdout and late.title in html


def test_the_demo_records_every_event_kind_of_the_plan_and_only_its_story_is_flagged(
    demo: Demo,
) -> None:
    """Every kind the plan names has a valid record; the two records flagged are the
    walk's story (a one-day field research, a branch meeting held before the
    democratic-life meeting), each followed by a valid one of its own."""
    plan = demo.campaign.plan.spec()
    records = demo.campaign.plan.event_records()
    valid = {r.kind for r in records if not r.flags}
    assert valid == {e.kind for e in plan.events}
    flagged = sorted((r.kind, r.person) for r in records if r.flags)
    assert flagged == [("field_research", "liufu"), ("organisational_life_meeting", "zhibu1")]
    for kind, person in flagged:
        assert any(r.kind == kind and r.person == person for r in records if not r.flags)
    assert "须在专题民主生活会之后举行" in demo.stdout
    (check,) = [r for r in records if r.short]
    assert any(r.kind == plan.event(check.kind).follow_up and r.person in check.short
               and r.held_on >= check.held_on for r in records)


def test_the_principals_own_materials_go_straight_to_the_supervisors(demo: Demo) -> None:
    reads = demo.campaign.reads
    own = [d for d in reads.deliverables() if d.owner == "lishuji" and d.plan_id
           and any(t == "to_supervisors" for _, t, _ in reads.path(d.id))]
    assert {d.type for d in own} == {"research_report", "rectification_item", "self_review",
                                     "rectification_plan"}
    (winds,) = reads.deliverables("four_winds_list")
    assert winds.state == "reported"


def test_demo_writes_a_diagram_per_type_the_highlighted_one_and_the_campaigns(demo: Demo) -> None:
    types = tuple(sorted(spec.id for spec in demo.campaign.registry.definitions()))
    assert types == SHIPPED_TYPES
    item = the_returned_self_review(demo.campaign)
    plan = demo.campaign.plan.spec().id
    expected = ({f"{t}.svg" for t in types} | {f"self_review-{item}.svg"}
                | {f"{plan}-phases.svg", f"{plan}-calendar.svg"})
    assert expected <= {p.name for p in demo.out.glob("*.svg")}
    plain = (demo.out / "self_review.svg").read_text(encoding="utf-8")
    highlighted = (demo.out / f"self_review-{item}.svg").read_text(encoding="utf-8")
    assert "草稿" in plain and "公示" in plain
    assert PATH_COLOUR not in plain.lower()
    assert PATH_COLOUR in highlighted.lower() and CURRENT_FILL in highlighted.lower()


def test_demo_database_verifies_through_the_api(demo: Demo) -> None:
    report = demo.campaign.audit.verify()
    deliverables = demo.campaign.reads.deliverables()
    assert report.deliverables == len(deliverables) == counts(demo.out)[1]
    assert {d.type for d in deliverables} == set(SHIPPED_TYPES)  # one of every type at least
    assert report.events == counts(demo.out)[0]
    assert report.head == demo.campaign.audit.digest()
    assert len(demo.campaign.audit.refusals()) == 1
    assert "audit verify: ok" in demo.stdout


@pytest.mark.slow  # the whole demo twice, as processes
def test_demo_twice_in_the_same_directory_starts_fresh(tmp_path: Path) -> None:
    """Run as a user would (two processes), so nothing is shared between the runs."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"{CONSOLE_SCRIPT} is not installed")
    out = tmp_path / "demo"
    seen = []
    for _ in range(2):
        done = subprocess.run([str(CONSOLE_SCRIPT), "demo", "--dir", str(out)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "audit verify: ok" in done.stdout
        seen.append(counts(out))
    assert seen[0] == seen[1]
    assert open_demo(out).audit.verify().events == seen[1][0]


def test_demo_twice_in_one_process_starts_fresh(demo: Demo, tmp_path: Path) -> None:
    """A second run in the process that ran the shared one, into a copy of its
    directory, starts from nothing again."""
    out = tmp_path / "demo"
    shutil.copytree(demo.out, out)
    first = counts(out)
    run_demo(out)
    assert counts(out) == first




def test_the_demo_prints_accounts_that_sign_in_to_the_served_demo(demo: Demo) -> None:
    """What `make demo` prints is enough to open the served demo: the supervisor
    signs in with the printed password and finds the returned item in the inbox."""
    from fastapi.testclient import TestClient
    from web_fixtures import sign_in

    from workflow.web.app import create_app
    from workflow.web.settings import WebSettings

    found = re.search(r"chenzz\s+password (\S+)", demo.stdout)
    item = re.search(r"deliverable #(\d+) waits for chenzz", demo.stdout)
    assert found and item and "serve" in demo.stdout
    with TestClient(create_app(WebSettings(), campaign=demo.campaign)) as client:
        inbox = sign_in(client, "chenzz", found.group(1)).get("/inbox")
        assert f"/deliverables/{item.group(1)}" in inbox.text
        page = client.get(f"/deliverables/{item.group(1)}")
        assert "投诉电话 2345678" in page.text  # what changed since the return
