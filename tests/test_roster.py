"""Rosters: CSV and YAML load; every bad row is reported with its line; a roster
with any bad row is refused whole; and a `start` that fails for any reason
(bad roster, nobody to own a team deliverable, conflicting roles, a second
start, a starter who is not office) leaves the database exactly as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PEOPLE
from plan_helpers import (
    PLAN,
    STANDARD,
    STARTER,
    P,
    db_state,
    open_db,
    write_csv,
    write_yaml,
)

from workflow import Campaign
from workflow.errors import CampaignError, InvalidInput, PermissionDenied, RosterError
from workflow.spec.roster import Person, read_roster

HEADER = "id,name,roles,unit\n"
GOOD_ROW = "office1,王敏,office,群教办\n"


def write(work: Path, name: str, text: str) -> Path:
    path = work / name
    path.write_text(text, encoding="utf-8")
    return path


def as_people(people: tuple[P, ...]) -> list[Person]:
    return [Person(id=p.id, name=p.name, roles=p.roles, unit=p.unit) for p in people]


# -- loading -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "yaml-mapping", "yaml-list", "yml"])
def test_a_roster_loads_every_person_in_order(work: Path, fmt: str) -> None:
    if fmt == "csv":
        path = write_csv(work / "r.csv", STANDARD)
    elif fmt == "yml":
        path = write_yaml(work / "r.yml", STANDARD)
    else:
        path = write_yaml(work / "r.yaml", STANDARD, top=fmt == "yaml-mapping")
    assert read_roster(path) == as_people(STANDARD)


@pytest.mark.parametrize(
    "roles", ["principal leader", "principal;leader", "principal,leader", " principal ; leader "]
)
def test_csv_roles_split_on_spaces_semicolons_and_commas(work: Path, roles: str) -> None:
    path = write(work, "r.csv", f'{HEADER}{GOOD_ROW}prin,李书记,"{roles}",党组\n')
    people = read_roster(path)
    assert people[1].roles == ("principal", "leader")


def test_csv_unit_is_optional_blank_lines_and_bom_are_ignored(work: Path) -> None:
    path = work / "r.csv"
    path.write_bytes(("\ufeffid,name,roles\n\noffice1,王敏,office\n\n,,\nleader1,张,leader\n")
                     .encode("utf-8"))
    people = read_roster(path)
    assert [(p.id, p.unit) for p in people] == [("office1", None), ("leader1", None)]


def test_yaml_roles_may_be_a_string(work: Path) -> None:
    path = write(work, "r.yaml", "- {id: prin, name: 李书记, roles: principal leader}\n")
    assert read_roster(path)[0].roles == ("principal", "leader")


# -- bad rows, each with its line ---------------------------------------------------

BAD_CSV = {
    # case: (file text, line reported, fragment of the problem)
    "unknown role": (f"{HEADER}{GOOD_ROW}x1,甲,wizard,\n", 3, "unknown role 'wizard'"),
    "unknown second role": (f"{HEADER}{GOOD_ROW}x1,甲,leader;boss,\n", 3, "unknown role 'boss'"),
    "missing name": (f"{HEADER}{GOOD_ROW}x1,,leader,\n", 3, "name"),
    "blank name": (f"{HEADER}{GOOD_ROW}x1,   ,leader,\n", 3, "name"),
    "missing roles": (f"{HEADER}{GOOD_ROW}x1,甲,,\n", 3, "roles"),
    "duplicate id": (f"{HEADER}{GOOD_ROW}x1,甲,leader,\noffice1,乙,office,\n", 4,
                     "'office1' already on line 2"),
    "extra cells": (f"{HEADER}{GOOD_ROW}x1,甲,leader,党组,多余\n", 3, "more cells than columns"),
    "space in id": (f"{HEADER}{GOOD_ROW}x 1,甲,leader,\n", 3, "id"),
    "chinese id": (f"{HEADER}{GOOD_ROW}张三,甲,leader,\n", 3, "id"),
    "id starts with dash": (f"{HEADER}{GOOD_ROW}-x,甲,leader,\n", 3, "id"),
    "id with slash": (f"{HEADER}{GOOD_ROW}a/b,甲,leader,\n", 3, "id"),
    "after a blank line": (f"{HEADER}{GOOD_ROW}\n\nx1,甲,wizard,\n", 5, "unknown role"),
    "missing roles column": ("id,name,unit\noffice1,王敏,群教办\n", 1, "id, name, roles"),
    "missing id column": ("name,roles\n王敏,office\n", 1, "id, name, roles"),
    "empty file": ("", 1, "id, name, roles"),
}

BAD_YAML = {
    "unknown role": ("people:\n  - {id: a, name: 甲, roles: [office]}\n"
                     "  - {id: b, name: 乙, roles: [wizard]}\n", 3, "unknown role 'wizard'"),
    "missing name": ("- id: a\n  name: 甲\n  roles: [office]\n- id: b\n  roles: [leader]\n",
                     4, "name"),
    "duplicate id": ("- {id: a, name: 甲, roles: [office]}\n- {id: a, name: 乙, roles: [leader]}\n",
                     2, "'a' already on line 1"),
    "bad id characters": ("- {id: a, name: 甲, roles: [office]}\n"
                          "- {id: 'b c', name: 乙, roles: [leader]}\n", 2, "id"),
    "extra key": ("- {id: a, name: 甲, roles: [office]}\n"
                  "- {id: b, name: 乙, roles: [leader], age: 3}\n", 2, "age"),
    "not a mapping": ("- {id: a, name: 甲, roles: [office]}\n- just a name\n", 2, "mapping"),
    "not a list": ("people: 3\n", 1, "id, name, roles"),
    "yaml syntax error": ("- {id: a, name: 甲, roles: [office]\n- {id: b}\n", 2, "YAML"),
    "duplicate key": ("- {id: a, name: 甲, name: 乙, roles: [office]}\n", 1, "duplicate key"),
}


def _refused(path: Path) -> RosterError:
    with pytest.raises(RosterError) as info:
        read_roster(path)
    assert info.value.exit_code == 7
    assert isinstance(info.value, InvalidInput)
    return info.value


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_CSV.values(), ids=BAD_CSV.keys())
def test_a_bad_csv_row_is_reported_with_its_line(
    work: Path, text: str, line: int, fragment: str
) -> None:
    error = _refused(write(work, "r.csv", text))
    assert len(error.problems) == 1
    assert error.problems[0].startswith(f"line {line}: ")
    assert fragment in error.problems[0]
    assert f"line {line}: " in str(error)
    assert "r.csv" in str(error)
    assert "nothing was loaded" in str(error)


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_YAML.values(), ids=BAD_YAML.keys())
def test_a_bad_yaml_item_is_reported_with_its_line(
    work: Path, text: str, line: int, fragment: str
) -> None:
    error = _refused(write(work, "r.yaml", text))
    assert len(error.problems) == 1
    assert error.problems[0].startswith(f"line {line}: ")
    assert fragment in error.problems[0]


def test_empty_trailing_cells_from_a_spreadsheet_are_ignored(work: Path) -> None:
    people = read_roster(write(work, "r.csv", f"{HEADER}office1,王敏,office,群教办,,\n"))
    assert [(p.id, p.unit) for p in people] == [("office1", "群教办")]


def test_a_roster_with_a_header_and_nobody_is_refused(work: Path) -> None:
    error = _refused(write(work, "r.csv", HEADER + "\n\n"))
    assert "no people" in str(error)


@pytest.mark.parametrize("suffix", ["csv", "yaml"])
def test_an_empty_file_is_refused(work: Path, suffix: str) -> None:
    with pytest.raises(InvalidInput) as info:
        read_roster(write(work, f"r.{suffix}", ""))
    assert info.value.exit_code == 7
    assert f"r.{suffix}" in str(info.value)
    assert "line 1" in str(info.value) or ":1:" in str(info.value)


@pytest.mark.parametrize("suffix", ["csv", "yaml"])
def test_a_non_utf8_roster_is_refused_and_says_so(work: Path, suffix: str) -> None:
    path = work / f"r.{suffix}"
    path.write_bytes(f"{HEADER}{GOOD_ROW}leader1,张副主席,leader,党组\n".encode("gbk"))
    with pytest.raises(InvalidInput) as info:
        read_roster(path)
    assert info.value.exit_code == 7
    assert "UTF-8" in str(info.value)
    assert str(path) in str(info.value)


def test_a_non_utf8_roster_names_the_line_of_the_first_bad_byte(work: Path) -> None:
    path = work / "r.csv"
    path.write_bytes(f"{HEADER}{GOOD_ROW}".encode() + "leader1,张副主席,leader,党组\n"
                     .encode("gbk"))
    with pytest.raises(InvalidInput, match=r"\bline 3\b"):
        read_roster(path)


@pytest.mark.parametrize("bad", [2, 3, 4, 6])
def test_several_bad_rows_are_all_counted(work: Path, bad: int) -> None:
    kinds = ["x{i},甲,wizard,", "x{i},,leader,", "x{i},甲,leader,u,extra", "x {i},甲,leader,",
             "office1,甲,office,"]
    lines = [HEADER.strip(), GOOD_ROW.strip()]
    bad_lines = []
    for i in range(bad):
        lines.append(f"ok{i},好,member,")  # good rows between the bad ones
        lines.append(kinds[i % len(kinds)].format(i=i))
        bad_lines.append(len(lines))
    error = _refused(write(work, "r.csv", "\n".join(lines) + "\n"))

    assert [int(re.match(r"line (\d+):", p)[1]) for p in error.problems] == bad_lines  # type: ignore[index]
    message = str(error)
    for line in bad_lines[:3]:
        assert f"line {line}:" in message
    if bad > 3:
        assert f"(and {bad - 3} more)" in message
    else:
        assert "more)" not in message


# -- nothing half-loaded --------------------------------------------------------------


def _start_fails(
    db_url: str, error: type[CampaignError], people: list[Person], actor: str | None = STARTER
) -> CampaignError:
    campaign = open_db(db_url)
    before = db_state(db_url)
    refusals, runs = campaign.audit.refusals(), campaign.plan.plan_ids()
    try:
        with pytest.raises(CampaignError) as info:
            campaign.plan.start(actor, PLAN, people)
        assert type(info.value) is error, repr(info.value)
        assert db_state(db_url) == before, "a failed start left something behind"
        assert campaign.plan.plan_ids() == runs
        after = campaign.audit.refusals()
        if error is PermissionDenied:
            assert len(after) == len(refusals) + 1 and after[-1].actor == actor
        else:
            assert after == refusals
    finally:
        campaign.store.engine.dispose()
    return info.value


def test_a_bad_roster_file_stops_before_the_database_is_touched(
    empty_db: str, work: Path
) -> None:
    before = db_state(empty_db)
    path = write(work, "r.csv", f"{HEADER}{GOOD_ROW}leader1,张,leader,\nx1,甲,wizard,\n")
    with pytest.raises(RosterError):
        open_db(empty_db).plan.start(STARTER, PLAN, read_roster(path))
    assert db_state(empty_db) == before


def test_nobody_to_own_a_team_deliverable_leaves_nothing(empty_db: str) -> None:
    # summary_report is the plan's last requirement and is owned by the first
    # principal: users, the plan_run and a dozen deliverables would precede it.
    people = [p for p in as_people(STANDARD) if "principal" not in p.roles]
    error = _start_fails(empty_db, InvalidInput, people)
    assert "principal" in str(error) and "summary_report" in str(error)


def test_nobody_in_the_office_on_a_populated_db_leaves_nothing(
    campaign: Campaign, db_url: str
) -> None:
    # office1 exists already, so the starter check passes; the roster itself
    # has no office holder for the implementation plan.
    people = [Person(id=p[0], name=p[1], roles=p[2], unit=p[3]) for p in PEOPLE
              if "office" not in p[2]]
    people.append(Person(id="newleader", name="新领导", roles=("leader",)))
    error = _start_fails(db_url, InvalidInput, people)
    assert "office" in str(error)


def test_an_existing_user_with_other_roles_leaves_nothing(
    campaign: Campaign, db_url: str
) -> None:
    people = [Person(id="newcomer", name="新人", roles=("member",))]
    people += [Person(id=p[0], name=p[1], roles=("member", "leader") if p[0] == "member1"
                      else p[2], unit=p[3]) for p in PEOPLE]
    error = _start_fails(db_url, InvalidInput, people)
    assert "member1" in str(error)


def test_the_failed_start_can_be_retried_with_a_fixed_roster(empty_db: str) -> None:
    broken = [p for p in as_people(STANDARD) if "principal" not in p.roles]
    _start_fails(empty_db, InvalidInput, broken)
    campaign = open_db(empty_db)
    ids = campaign.plan.start(STARTER, PLAN, as_people(STANDARD))
    assert ids and campaign.plan.plan_ids() == [PLAN.spec.id]
    assert {u.id for u in campaign.reads.users()} == {p.id for p in STANDARD}
    campaign.audit.verify()


def test_starting_twice_is_refused_and_writes_nothing(db: str) -> None:
    error = _start_fails(db, InvalidInput, as_people(STANDARD))
    assert "already" in str(error)


@pytest.mark.parametrize("actor", ["leader1", "sup1", "member1", "nobody", None])
def test_on_a_new_db_only_an_office_user_of_the_roster_may_start(
    empty_db: str, actor: str | None
) -> None:
    error = _start_fails(empty_db, InvalidInput, as_people(STANDARD), actor)
    assert error.exit_code == 7


@pytest.mark.parametrize("actor", ["principal1", "leader1", "sup1", "member1", "branch1"])
def test_on_a_populated_db_a_non_office_user_may_not_start(
    campaign: Campaign, db_url: str, actor: str
) -> None:
    people = [Person(id=p[0], name=p[1], roles=p[2], unit=p[3]) for p in PEOPLE]
    error = _start_fails(db_url, PermissionDenied, people, actor)
    assert error.exit_code == 3
    assert actor in str(error)


def test_on_a_populated_db_an_office_user_may_start(campaign: Campaign) -> None:
    people = [Person(id=p[0], name=p[1], roles=p[2], unit=p[3]) for p in PEOPLE]
    assert campaign.plan.start("office2", PLAN, people)
    assert campaign.plan.plan_ids() == [PLAN.spec.id]
