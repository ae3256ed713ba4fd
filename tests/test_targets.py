"""Targets (十大惠民行动, 四有四增强): progress is added entry by entry, a negative
entry with a note corrects, every entry is audited, and nothing is ever edited
— a total is always the sum of the entries made."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner, Result
from plan_helpers import (
    PLAN_ID,
    SPEC,
    STARTER,
    audit_rows,
    db_state,
    query,
)

import cli
from workflow import Campaign
from workflow.errors import CampaignError, InvalidInput, PermissionDenied
from workflow.store.views import TargetView

TARGET_IDS = [t.id for t in SPEC.targets]


def target(c: Campaign, target_id: str) -> TargetView:
    return next(t for t in c.plan.targets() if t.id == target_id)


def entries(db: str) -> list[tuple[Any, ...]]:
    return query(db, "SELECT id, target_id, amount, note, actor, at FROM target_entry ORDER BY id")


def refused(c: Campaign, db: str, error: type[CampaignError], **kwargs: Any) -> CampaignError:
    arguments = {"actor": STARTER, "target_id": "job_fairs", "amount": 1.0, "note": "招聘会"}
    arguments.update(kwargs)
    before, refusals = db_state(db), c.audit.refusals()
    with pytest.raises(CampaignError) as info:
        c.records.target(**arguments)
    assert type(info.value) is error, repr(info.value)
    assert db_state(db) == before
    after = c.audit.refusals()
    assert len(after) == len(refusals) + (error is PermissionDenied)
    return info.value


def test_every_target_starts_at_zero_with_the_plans_goal(c: Campaign) -> None:
    assert [(t.id, t.goal, t.unit, t.done, t.entries) for t in c.plan.targets()] == [
        (t.id, t.goal, t.unit, 0, 0) for t in SPEC.targets]


@pytest.mark.parametrize("target_id", TARGET_IDS)
def test_entries_add_up(c: Campaign, target_id: str) -> None:
    amounts = [3, 5, 12]
    for i, amount in enumerate(amounts):
        view = c.records.target(STARTER if i % 2 else "office2", target_id, amount, f"第{i + 1}批")
        assert view.id == target_id
        assert view.done == sum(amounts[: i + 1])
        assert view.entries == i + 1
    view = target(c, target_id)
    assert view.done == sum(amounts)
    assert view.percent == round(100 * sum(amounts) / view.goal, 1)
    others = [t for t in c.plan.targets() if t.id != target_id]
    assert all(t.done == 0 and t.entries == 0 for t in others)


def test_a_negative_entry_with_a_note_corrects(c: Campaign, db: str) -> None:
    c.records.target(STARTER, "job_fairs", 5, "三月招聘会")
    first = entries(db)
    view = c.records.target(STARTER, "job_fairs", -2, "更正：两场重复统计")
    assert (view.done, view.entries) == (3, 2)
    rows = entries(db)
    assert rows[:1] == first  # the wrong entry is still there, untouched
    assert rows[1][2:4] == (-2, "更正：两场重复统计")


@pytest.mark.parametrize("note", ["", "   ", "\n\t"])
def test_a_note_is_required(c: Campaign, db: str, note: str) -> None:
    error = refused(c, db, InvalidInput, note=note)
    assert error.exit_code == 7
    refused(c, db, InvalidInput, note=note, amount=-1)


def test_a_zero_amount_records_nothing(c: Campaign, db: str) -> None:
    refused(c, db, InvalidInput, amount=0)


@pytest.mark.parametrize("target_id", ["job_fair", "", "JOB_FAIRS", "wage_rights"])
def test_an_unknown_target_is_refused(c: Campaign, db: str, target_id: str) -> None:
    error = refused(c, db, InvalidInput, target_id=target_id)
    assert "job_fairs" in str(error)  # the known ones are listed


@pytest.mark.parametrize("actor", ["prin", "leader1", "sup1", "member1", "branch1"])
def test_only_the_office_records_progress(c: Campaign, db: str, actor: str) -> None:
    error = refused(c, db, PermissionDenied, actor=actor)
    assert error.exit_code == 3
    assert c.audit.refusals()[-1].actor == actor
    assert target(c, "job_fairs").entries == 0


def test_finding_8_a_leader_is_told_who_records_targets(c: Campaign, db: str) -> None:
    message = str(refused(c, db, PermissionDenied, actor="leader1"))
    assert "the campaign office records target progress" in message
    assert "manage users" not in message


@pytest.mark.parametrize("amount", [0.5, -1.25])
def test_finding_8_counted_targets_take_whole_numbers(c: Campaign, db: str,
                                                      amount: float) -> None:
    message = str(refused(c, db, InvalidInput, amount=amount))
    assert "whole" in message and "场" in message


def test_finding_8_a_negative_correction_is_a_number_on_the_command_line(
        c: Campaign, db: str) -> None:
    def run(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["--db", db, "--as", STARTER,
                                             "targets", "record", *args])

    assert run("job_fairs", "3", "--note", "首批").exit_code == 0
    corrected = run("job_fairs", "-2", "--note", "更正")
    assert corrected.exit_code == 0, corrected.output
    assert target(c, "job_fairs").done == 1
    assert run("job_fairs", "--note", "更正", "-1").exit_code == 0  # after the option too
    assert target(c, "job_fairs").done == 0


def test_every_entry_is_audited(c: Campaign) -> None:
    before = len(audit_rows(c))
    made = [("job_fairs", 2.0, "四月招聘会"), ("school_aid", 150.0, "金秋助学首批"),
            ("job_fairs", -1.0, "更正")]
    for target_id, amount, note in made:
        c.records.target("office2", target_id, amount, f" {note} ")
    rows = audit_rows(c)[before:]
    assert [r["action"] for r in rows] == ["target.record"] * len(made)
    for row, (target_id, amount, note) in zip(rows, made, strict=True):
        assert (row["actor"], row["role"], row["comment"]) == ("office2", "office", note)
        assert row["detail"] == {"plan": PLAN_ID, "target": target_id, "amount": amount}
        assert row["deliverable_id"] is None
    c.audit.verify()


def test_entries_are_only_ever_appended(c: Campaign, db: str) -> None:
    history: list[tuple[Any, ...]] = []
    for i, amount in enumerate([10, 20, -5, 7, -2]):
        target_id = TARGET_IDS[i % 2]
        c.records.target(STARTER, target_id, amount, f"第{i}条")
        rows = entries(db)
        assert rows[: len(history)] == history  # earlier entries never change
        assert len(rows) == len(history) + 1
        history = rows
        for view in c.plan.targets():
            mine = [r for r in rows if r[1] == view.id]
            assert view.done == sum(r[2] for r in mine)  # a total is the sum, never stored
            assert view.entries == len(mine)
    assert [r[3] for r in history] == [f"第{i}条" for i in range(5)]
