"""The report's and the gates' counts come from GROUP BY statements (issue 11);
they must be exactly what counting the deliverables one by one in Python gives.

A campaign is driven through the API into varied states — plan deliverables
and hand-made ones, complete, overdue, completed late, completed, objected to
and completed again, owners in several units, one with no unit, one whose
unit is blank, a type running under two definitions — and every tally is
compared with the straightforward computation over every deliverable, made
here with :mod:`workflow.services.lateness` (the definitions of complete,
overdue and completed late) and nothing of the SQL.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from drive import at_day, complete_content
from plan_helpers import DEFINITIONS, PLAN_ID, STARTER, drive_to, force_to
from sqlalchemy import event

from workflow import Campaign
from workflow.render.report_build import build_report
from workflow.render.report_model import StateCount, TypeProgress, UnitProgress
from workflow.render.report_scope import overdue_items
from workflow.services.gates import checklist
from workflow.services.lateness import (
    Accepts,
    complete_states,
    find_completed_late,
    find_overdue,
    is_complete,
    is_overdue,
    unit_of,
)
from workflow.store.views import DeliverableView

TODAY = date(2014, 7, 15)


def _at(campaign: Campaign, day: date) -> Campaign:
    return at_day(campaign, day)


def _make(campaign: Campaign, owner: str, type_id: str, title: str, due: date | None,
          target: str | None, day: date) -> int:
    _at(campaign, day)
    spec = campaign.registry.definition(type_id)
    item = campaign.deliverables.create(owner, type_id, title, due=due,
                                        content=complete_content(spec, title=title))
    if target is not None:
        drive_to(campaign, item.id, target)
    return item.id


def _newer_self_review(directory: Path) -> Path:
    """The shipped definitions with self_review retitled and a state relabelled:
    a second definition of one type, loaded after some deliverables run under the first."""
    target = directory / "definitions-v2"
    shutil.copytree(DEFINITIONS, target, ignore=shutil.ignore_patterns("campaigns"))
    path = target / "self_review.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("title: 对照检查材料", "title: 对照检查材料（第二版）", 1)
    text = text.replace("label: 主要负责同志审阅", "label: 主要负责同志审阅（新）", 1)
    path.write_text(text, encoding="utf-8")
    return target


def populate(c: Campaign, directory: Path) -> None:
    """Varied states, units and due dates, all through the API."""
    c.people.add_user(STARTER, "member2", "钱二", ["member"], None)  # no unit
    c.people.add_user(STARTER, "member3", "孙三", ["member"], "")  # a blank unit
    c.people.add_user(STARTER, "member4", "李四", ["member"], "法工部")
    plan_items = {(d.type, d.owner): d.id for d in c.reads.deliverables()}
    # The plan's own deliverables: some complete (one late), some on their way.
    _at(c, date(2014, 2, 18))
    drive_to(c, plan_items["implementation_plan", "office1"], "archived")
    _at(c, date(2014, 4, 25))  # after its due date (04-20): completed late
    drive_to(c, plan_items["research_report", "leader1"], "publicity")
    _at(c, date(2014, 4, 10))
    drive_to(c, plan_items["research_report", "leader2"], "research_again")
    _at(c, date(2014, 5, 5))
    drive_to(c, plan_items["four_winds_list", "office1"], "reported")
    _at(c, date(2014, 6, 1))
    drive_to(c, plan_items["self_review", "leader1"], "supervisor_approval")
    # Hand-made ones, tied to no plan.
    day = date(2014, 6, 2)
    for n, (owner, target, due) in enumerate([
        ("member1", None, TODAY - timedelta(days=3)),
        ("member1", "review", TODAY - timedelta(days=1)),
        ("member2", "in_progress", None),  # the five fields' deadline becomes its due date
        ("member2", "done", None),
        ("member3", "verification", None),
        ("member4", "done", None),
        ("member4", None, TODAY),  # due today: not overdue
        ("member4", None, TODAY + timedelta(days=5)),
    ]):
        _make(c, owner, "rectification_item", f"整改事项 {n}", due, target, day)
    # Completed, objected to during its window, completed again later (and late).
    again = _make(c, "leader2", "self_review", "对照检查材料 反复", date(2014, 6, 20), "publicity",
                  date(2014, 6, 16))
    window = c.reads.windows(again)[-1]
    _at(c, window.opened_on)
    c.moves.object_to("member1", again, "有异议")
    _at(c, date(2014, 6, 24))
    drive_to(c, again, "publicity")
    # A newer definition of self_review, and deliverables under each.
    _make(c, "leader1", "self_review", "对照检查材料 旧版", date(2014, 6, 1), "review",
          date(2014, 6, 25))
    c.deliverables.init(_newer_self_review(directory), actor=STARTER)
    _make(c, "leader2", "self_review", "对照检查材料 新版", date(2014, 7, 1), None,
          date(2014, 6, 26))
    _make(c, "leader1", "self_review", "对照检查材料 新版审阅", None, "review", date(2014, 6, 27))
    _make(c, "office2", "meeting_plan", "会议方案", date(2014, 6, 10), "archived",
          date(2014, 6, 5))
    # Rectification items get their due date when their fields are set (08-31):
    # one finished after it, late.
    _at(c, date(2014, 9, 5))
    late_item = _make(c, "member1", "rectification_item", "整改事项 逾期完成", None, "done",
                      date(2014, 9, 5))
    assert c.reads.get(late_item).due is not None
    # Two phases left by force.
    _at(c, date(2014, 5, 10))
    force_to(c, "implementation.find_and_criticise")
    _at(c, TODAY)


@pytest.fixture
def varied(c: Campaign, work: Path) -> Iterator[Campaign]:
    populate(c, work)
    yield c


# -- the straightforward computations ----------------------------------------------------


def scoped(c: Campaign) -> list[DeliverableView]:
    return [d for d in c.reads.deliverables() if d.plan_id in (PLAN_ID, None)]


def expected_by_type(c: Campaign, items: list[DeliverableView]) -> list[TypeProgress]:
    """The report's table by type, counted item by item (as before issue 11)."""
    plan = c.plan.spec()
    order = list(dict.fromkeys([r.deliverable for r in plan.requirements]
                               + sorted({d.type for d in items})))
    rows = []
    for type_id in order:
        mine = [d for d in items if d.type == type_id]
        if not mine:
            continue
        spec = c.registry.definition_for(mine[-1])
        labels = {d.state: d.state_label for d in mine}
        counts = Counter(d.state for d in mine)
        states = [s.name for s in spec.states] + sorted(set(counts) - {s.name for s in spec.states})
        rows.append(TypeProgress(
            type=type_id, title=spec.title, total=len(mine),
            complete=sum(1 for d in mine if is_complete(d, plan)),
            states=tuple(StateCount(state=s, label=labels[s], count=counts[s])
                         for s in states if counts[s])))
    return rows


def expected_by_unit(c: Campaign, items: list[DeliverableView], today: date,
                     done_late: list[Any]) -> list[UnitProgress]:
    plan = c.plan.spec()
    by_id = {p.id: p for p in c.reads.users()}
    unit = {d.id: unit_of(by_id, d.owner) for d in items}
    rows = []
    for name in sorted(set(unit.values())):
        mine = [d for d in items if unit[d.id] == name]
        rows.append(UnitProgress(
            unit=name, total=len(mine), complete=sum(1 for d in mine if is_complete(d, plan)),
            overdue=sum(1 for d in mine if is_overdue(d, plan, today)),
            completed_late=sum(1 for d in done_late if unit.get(d.id) == name)))
    return sorted(rows, key=lambda u: (-u.overdue, -u.completed_late))


def accepts_for(c: Campaign) -> Accepts:
    """:func:`~workflow.services.lateness.is_complete` for a state the item was
    in, not only the one it is in (as the report judged it before issue 11)."""
    plan = c.plan.spec()

    def accepts(item: DeliverableView, state: str) -> bool:
        gated = complete_states(plan, item.type)
        if gated:
            return state in gated
        return any(s.name == state and s.final for s in c.registry.definition_for(item).states)
    return accepts


def expected_completed_late(c: Campaign) -> list[Any]:
    return find_completed_late(scoped(c), c.reads.users(), c.audit.events("transition"),
                               accepts_for(c), c.reads.responsible_persons())


def expected_missing(c: Campaign, type_id: str, states: tuple[str, ...]) -> tuple[str, ...]:
    """A gate line's missing entries, from the campaign's every deliverable."""
    names = {p.id: p.name for p in c.reads.users()}
    mine = [d for d in c.reads.deliverables() if d.plan_id == PLAN_ID and d.type == type_id]
    if not mine:
        spec = c.registry.definition(type_id)
        return (f"尚未建立任何{spec.title} ({type_id})",)
    return tuple(f"#{d.id} {d.title}（{names.get(d.owner, d.owner)}）当前为「{d.state_label}」"
                 f"({d.state})" for d in mine if d.state not in states)


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("today", [date(2014, 3, 1), TODAY, date(2014, 10, 8)])
def test_report_tallies_are_what_counting_each_deliverable_gives(
    varied: Campaign, today: date,
) -> None:
    c = varied
    plan = c.plan.spec()
    items = scoped(c)
    report = build_report(c, today)
    done_late = expected_completed_late(c)
    assert list(report.by_type) == expected_by_type(c, items)
    assert list(report.by_unit) == expected_by_unit(c, items, today, done_late)
    assert {u.unit for u in report.by_unit} >= {"（未填单位）", "法工部", "保障部"}
    people = c.reads.users()
    responsible = c.reads.responsible_persons()
    assert list(report.overdue) == find_overdue(items, plan, people, today, responsible)
    assert list(report.completed_late) == done_late
    required = [d for d in c.reads.deliverables() if d.plan_id == PLAN_ID]
    done = sum(1 for d in required if is_complete(d, plan))
    assert (report.completion.materials_required, report.completion.materials_complete) == (
        len(required), done)
    assert report.completion.overdue == len(report.overdue)
    for row, (path, phase) in zip(report.phases, plan.leaves(), strict=True):
        mine = [d for d in required if d.phase in (phase.name, path)]
        waived, made_up = (row.forced.waived, row.forced.made_up) if row.forced else (0, 0)
        assert (row.required, row.complete) == (
            len(mine) + waived, sum(1 for d in mine if is_complete(d, plan)) + made_up), path


def test_the_scenario_covers_what_the_tallies_must_get_right(varied: Campaign) -> None:
    report = build_report(varied, TODAY)
    assert report.completed_late and report.overdue
    assert any(p.status == "forced" for p in report.phases)
    (reviews,) = [t for t in report.by_type if t.type == "self_review"]
    assert reviews.title == "对照检查材料（第二版）"  # the latest deliverable's definition
    labels = {s.state: s.label for s in reviews.states}
    assert labels["review"] == "主要负责同志审阅（新）"
    shas = {d.definition_sha256 for d in varied.reads.deliverables("self_review")}
    assert len(shas) == 2


def test_tallies_without_a_plan_count_every_deliverable(varied: Campaign) -> None:
    states, units = varied.reads.tallies(None)
    everything = varied.reads.deliverables()
    assert sum(t.count for t in states) == len(everything)
    counted = Counter((d.type, d.definition_sha256, d.state) for d in everything)
    assert {(t.type_id, t.definition_sha, t.state): t.count for t in states} == dict(counted)
    for tally in states:
        mine = [d for d in everything if (d.type, d.definition_sha256, d.state) == (
            tally.type_id, tally.definition_sha, tally.state)]
        assert tally.last_id == max(d.id for d in mine)
        assert tally.complete == all(is_complete(d, None) for d in mine)
    by_id = {p.id: p for p in varied.reads.users()}
    expected: dict[str, list[int]] = {}
    for d in everything:
        row = expected.setdefault(unit_of(by_id, d.owner), [0, 0])
        row[0] += 1
        row[1] += is_complete(d, None)
    assert {u.unit: [u.total, u.complete] for u in units} == expected
    assert [u.unit for u in units] == sorted(expected)


def test_the_gates_name_people_beyond_the_team(varied: Campaign) -> None:
    """The facts hold the people a gate or the report may name, not every
    member; who they are and what they hold is what the roster says."""
    facts = varied.plan.facts()
    everyone = {p.id: p for p in varied.reads.users()}
    named = {p.id for p in facts.people}
    assert {"prin", "leader1", "leader2", "branch1", "branch2", "office1"} <= named
    assert "member4" not in named
    assert all(p == everyone[p.id] for p in facts.people)
    assert varied.plan.event_records() == list(facts.events)


def test_every_gate_line_lists_what_the_deliverables_say(varied: Campaign) -> None:
    facts = varied.plan.facts()
    lines = 0
    for _, phase in facts.plan.leaves():
        for check, item in zip(checklist(phase, facts), phase.gate, strict=True):
            if item.deliverable is None:
                continue
            lines += 1
            assert check.missing == expected_missing(varied, item.deliverable,
                                                     tuple(item.states)), check.label
    assert lines >= 5
    gate = varied.plan.gate()  # what `phase status` prints
    current = facts.plan.leaf(varied.plan.phase())
    assert [c.missing for c in gate] == [c.missing for c in checklist(current, facts)]


def test_phase_tallies_count_the_campaigns_own_deliverables(varied: Campaign) -> None:
    plan = varied.plan.spec()
    required = [d for d in varied.reads.deliverables() if d.plan_id == PLAN_ID]
    expected = Counter((d.phase, d.type, d.state, is_complete(d, plan)) for d in required)
    found = Counter()
    for t in varied.plan.phase_tallies():
        found[t.phase, t.type_id, t.state, t.complete] += t.count
    assert found == expected


def test_overdue_pages_are_cut_by_the_database(varied: Campaign) -> None:
    plan = varied.plan.spec()
    reads = varied.reads
    whole = reads.overdue(TODAY, plan)
    assert len(whole) >= 4
    for size in (1, 2, 3):
        assert reads.overdue(TODAY, plan, limit=size) == whole[:size]
        pages: list[Any] = []
        after = None
        while page := reads.overdue(TODAY, plan, limit=size, after=after):
            assert len(page) <= size
            pages += page
            after = page[-1].id
        assert pages == whole
    middle = whole[1].id
    assert reads.overdue(TODAY, plan, after=middle) == whole[2:]
    assert reads.overdue(TODAY, plan, after=10**9) == []
    narrowed = reads.overdue(TODAY, plan, type_id="rectification_item", limit=1)
    assert narrowed == [o for o in whole if o.type == "rectification_item"][:1]
    assert overdue_items(varied, TODAY, limit=2, after=whole[0].id) == whole[1:3]


def test_every_subquery_judges_its_own_deliverable() -> None:
    """Whether a state counts as complete depends on the deliverable's own
    definition: no subquery may read ``deliverable`` afresh (uncorrelated)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from workflow.services import tallies

    done = tallies.complete_table([("t", "sha", "done")])
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = " ".join(str(tallies.completed_select(None, done).compile(dialect=dialect)).split())
        assert sql.count("FROM complete JOIN deliverable") == 1
        assert "FROM complete, deliverable" not in sql and "deliverable, complete" not in sql


def test_completed_late_is_what_walking_each_items_transitions_gives(varied: Campaign) -> None:
    found = varied.reads.completed_late(varied.plan.spec())
    assert found == expected_completed_late(varied)
    assert len(found) >= 2


@contextmanager
def statements(c: Campaign) -> Iterator[list[str]]:
    """Every statement ``c`` sends to the database inside the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(c.store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(c.store.engine, "before_cursor_execute", count)


def test_the_report_runs_as_many_statements_for_more_deliverables(varied: Campaign) -> None:
    """No statement per row: more deliverables, in more states and units, the
    same statements."""
    c = varied
    build_report(c, TODAY)  # the definitions' specs are read once, then kept
    with statements(c) as before:
        build_report(c, TODAY)
    for n in range(6):
        _make(c, ("member1", "member2", "member4")[n % 3], "rectification_item",
              f"追加整改事项 {n}", TODAY - timedelta(days=n), (None, "review", "done")[n % 3],
              date(2014, 7, 2))
    _at(c, TODAY)
    with statements(c) as after:
        build_report(c, TODAY)
    assert len(after) == len(before)
    assert len(before) < 40
