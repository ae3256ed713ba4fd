"""``campaign demo``: the main job on a fresh embedded database, end to end."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SHIPPED_TYPES

import cli
from workflow import Campaign
from workflow.diagram import _CURRENT_FILL, _PATH_COLOUR

CONSOLE_SCRIPT = Path(sys.executable).parent / "campaign"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def needs_dot() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed (run `make setup`)")


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


def the_self_review(campaign: Campaign) -> int:
    (item,) = campaign.deliverables(type_id="self_review")
    return item.id


def return_reason(campaign: Campaign, item: int) -> str:
    (reason,) = [e.comment for e in campaign.history(item) if e.trigger == "return"]
    assert reason
    return reason


def counts(directory: Path) -> tuple[int, int, int, int]:
    with sqlite3.connect(directory / "demo.db") as raw:
        return tuple(  # type: ignore[return-value]
            raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("audit_event", "deliverable", "app_user", "access_refusal")
        )


def test_demo_runs_the_main_job(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    stdout = run_demo(out).stdout
    campaign = open_demo(out)
    item = the_self_review(campaign)

    assert f"History of self-review material #{item}" in stdout
    assert return_reason(campaign, item) in stdout  # the history shows why it came back
    assert "refused as expected: permission denied" in stdout
    assert "audit verify: ok" in stdout

    view = campaign.get(item)
    assert (view.state, view.final) == ("archived", True)
    assert [trigger for _, trigger, _ in campaign.path(item)] == [
        "submit", "return", "submit", "forward", "approve", "archive"]
    assert len(campaign.revisions(item)) == 2


def test_demo_writes_a_diagram_per_type_and_the_highlighted_one(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run_demo(out)
    campaign = open_demo(out)
    types = tuple(sorted(spec.id for spec in campaign.definitions()))
    assert types == SHIPPED_TYPES
    item = the_self_review(campaign)
    expected = {f"{t}.svg" for t in types} | {f"self_review-{item}.svg"}
    assert {p.name for p in out.glob("*.svg")} == expected
    for name in expected:
        svg = (out / name).read_text(encoding="utf-8")
        assert "<svg" in svg
    plain = (out / "self_review.svg").read_text(encoding="utf-8")
    highlighted = (out / f"self_review-{item}.svg").read_text(encoding="utf-8")
    assert "草稿" in plain and "归档" in plain
    assert _PATH_COLOUR not in plain.lower()
    assert _PATH_COLOUR in highlighted.lower() and _CURRENT_FILL in highlighted.lower()


def test_demo_database_verifies_through_the_api(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run_demo(out)
    campaign = open_demo(out)
    report = campaign.verify()
    deliverables = campaign.deliverables()
    assert report.deliverables == len(deliverables) == counts(out)[1]
    assert {d.type for d in deliverables} <= set(SHIPPED_TYPES)
    assert len({d.type for d in deliverables}) == len(deliverables)  # one of each
    assert report.events == counts(out)[0]
    assert report.head == campaign.digest()
    assert len(campaign.refusals()) == 1


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
    assert open_demo(out).verify().events == seen[1][0]


def test_demo_twice_in_one_process_starts_fresh(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run_demo(out)
    first = counts(out)
    run_demo(out)
    assert counts(out) == first


def test_demo_creates_one_of_every_shipped_type(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run_demo(out)
    assert {d.type for d in open_demo(out).deliverables()} == set(SHIPPED_TYPES)


def test_demo_shows_the_full_return_reason_at_80_columns(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    stdout = run_demo(out, columns=80).stdout
    campaign = open_demo(out)
    assert return_reason(campaign, the_self_review(campaign)) in stdout
