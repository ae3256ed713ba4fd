"""Reads answered by the database (issue 11) give exactly what asking the
policy row by row gives: the inbox for every shipped definition × state ×
user × owner × content × responsible person, the lists and their pages, the
overdue list and the state counts.

The database is made through the API, then its deliverables are put straight
into every state of their definition (the inbox reads only the state, so the
audit chain is not needed here), with and without content, and rectification
items given a responsible person who is or is not their owner.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import cycle
from typing import Any

import click
import pytest
from click.testing import CliRunner
from conftest import BACKENDS, PEOPLE, START, USER_IDS, driver_trace, people_database, text
from drive import SPECS, creators
from plan_helpers import reader
from sqlalchemy import Connection
from sqlalchemy import text as sql_text

from workflow import Campaign
from workflow.cli import main as cli
from workflow.cli.commands.deliverables import deliverable_header, deliverable_row
from workflow.cli.common import emit
from workflow.cli.streaming import stream_csv, stream_json
from workflow.machine import policy
from workflow.services.lateness import find_overdue
from workflow.store.views import InboxItem

TODAY = date(2014, 7, 1)


@pytest.fixture(scope="module", params=BACKENDS)
def every_state(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """Deliverables of every shipped type in every state, owned by each creator
    in turn, every other one with content, some due before ``TODAY``; its URL."""
    directory = tmp_path_factory.mktemp("every_state")
    with people_database(request, request.param, directory) as url:
        campaign = Campaign.open(url, clock=lambda: START)
        placed: list[tuple[int, str]] = []
        number = 0
        for type_id, spec in sorted(SPECS.items()):
            owners = cycle(creators(spec))
            for state in spec.states:
                for variant in range(3):
                    owner = next(owners)
                    number += 1
                    view = campaign.deliverables.create(
                        owner, type_id, f"{type_id} {state.name} {variant}",
                        content=text(spec=spec) if variant != 1 else None,
                        due=TODAY - timedelta(days=number % 5 - 2))
                    placed.append((view.id, state.name))
        campaign.store.engine.dispose()
        with reader(url).begin() as raw:
            raw.execute(sql_text("UPDATE deliverable SET state = :state WHERE id = :id"),
                        [{"state": state, "id": item} for item, state in placed])
            _responsible_persons(raw)
        yield url


def _responsible_persons(raw: Connection) -> None:
    """Rectification items: the responsible person is someone else, the owner, or a member."""
    items = raw.execute(sql_text("SELECT id, owner_id FROM deliverable WHERE type_id = "
                                 "'rectification_item' ORDER BY id")).all()
    people = cycle(["member1", None, "leader2", "principal2"])
    for item, owner in items:
        person = next(people) or owner
        raw.execute(sql_text(
            "INSERT INTO rectification (deliverable_id, matter, measures, responsible_id,"
            " deadline, effect) VALUES (:item, 'm', 'm', :person, '2014-07-01', 'e')"),
            {"item": item, "person": person})


@pytest.fixture
def reads_campaign(every_state: str) -> Iterator[Campaign]:
    campaign = Campaign.open(every_state, clock=lambda: START)
    yield campaign
    campaign.store.engine.dispose()


def policy_inbox(campaign: Campaign, user: str) -> list[InboxItem]:
    """The inbox as the engine used to list it: every deliverable, the policy asked per row."""
    reads, registry = campaign.reads, campaign.registry
    who = policy.Actor(user, frozenset(reads.user(user).roles))
    responsible = reads.responsible_persons()
    items = []
    for view in reads.deliverables():
        spec = registry.definition_for(view)
        answerable = policy.Answerable(view.owner, responsible.get(view.id))
        triggers = tuple(t.trigger for t in spec.transitions_from(view.state)
                         if policy.may_fire(who, answerable, t)) if view.revision else ()
        to_revise = (view.revision is None and view.owner == user
                     and view.state in spec.editable_states)
        if triggers or to_revise:
            items.append(InboxItem(deliverable=view, triggers=triggers))
    return items


@pytest.mark.parametrize("user", USER_IDS)
def test_the_inbox_is_what_the_policy_says_for_every_definition_and_user(
    reads_campaign: Campaign, user: str,
) -> None:
    expected = policy_inbox(reads_campaign, user)
    assert reads_campaign.reads.inbox(user) == expected
    assert {i.deliverable.type for i in expected} or user.startswith("sup")


@pytest.mark.parametrize("user", ["office1", "leader1", "member2"])
def test_inbox_pages_put_together_are_the_whole_inbox(
    reads_campaign: Campaign, user: str,
) -> None:
    whole = reads_campaign.reads.inbox(user)
    pages: list[InboxItem] = []
    after = None
    while page := reads_campaign.reads.inbox(user, limit=4, after=after):
        assert len(page) <= 4
        pages += page
        after = page[-1].deliverable.id
    assert pages == whole


@pytest.mark.parametrize("filters", [{}, {"type_id": "rectification_item"},
                                     {"state": "draft"}, {"owner": "leader1"},
                                     {"type_id": "self_review", "state": "review"}])
def test_list_pages_and_filters_agree_with_the_whole_list(
    reads_campaign: Campaign, filters: dict[str, Any],
) -> None:
    reads = reads_campaign.reads
    everything = reads.deliverables()
    expected = [d for d in everything
                if filters.get("type_id", d.type) == d.type
                and filters.get("state", d.state) == d.state
                and filters.get("owner", d.owner) == d.owner]
    assert reads.deliverables(**filters) == expected
    assert [d.id for d in everything] == sorted(d.id for d in everything)
    assert [reads.get(d.id) for d in expected[:5]] == expected[:5]
    first = reads.deliverables(**filters, limit=5)
    assert first == expected[:5]
    assert first + reads.deliverables(**filters, after=first[-1].id) == expected


def test_each_view_carries_its_latest_revision(reads_campaign: Campaign) -> None:
    reads = reads_campaign.reads
    for view in reads.deliverables():
        revisions = reads.revisions(view.id)
        assert view.revision == (revisions[-1] if revisions else None)


def test_overdue_and_counts_agree_with_the_rows(reads_campaign: Campaign) -> None:
    reads = reads_campaign.reads
    everything = reads.deliverables()
    assert reads.overdue(TODAY, None) == find_overdue(
        everything, None, reads.users(), TODAY, reads.responsible_persons())
    assert reads.overdue(TODAY, None, owner="leader1") == [
        o for o in reads.overdue(TODAY, None) if o.owner == "leader1"]
    for type_id in SPECS:
        held = [d.state for d in everything if d.type == type_id]
        assert reads.state_counts(type_id) == {s: held.count(s) for s in set(held)}


@pytest.mark.sqlite_only("counts the statements as SQLite's driver traces them")
def test_a_page_is_a_fixed_number_of_statements(reads_campaign: Campaign) -> None:
    """No query per row: the inbox and a list are as many statements for 3
    deliverables as for all of them."""
    reads = reads_campaign.reads
    reads.inbox("office1")  # the definitions parsed once
    counts = []
    for limit in (3, None):
        with driver_trace(reads_campaign.store.engine) as statements:
            reads.inbox("office1", limit=limit)
            reads.deliverables(limit=limit)
        counts.append(len([s for s in statements if s.startswith(("SELECT", "WITH"))]))
    assert counts[0] == counts[1]
    assert len(PEOPLE) == len(USER_IDS)


def test_list_and_inbox_page_on_the_command_line(every_state: str) -> None:
    def ids(*argv: str) -> list[int]:
        result = CliRunner().invoke(cli.main, ["--db", every_state, *argv,
                                               "--json"], env={"CAMPAIGN_USER": "office1"})
        assert result.exit_code == 0, result.output
        return [item["deliverable"]["id"] if "deliverable" in item else item["id"]
                for item in json.loads(result.stdout)]

    everything = ids("list")
    assert ids("list", "--limit", "3") == everything[:3]
    assert ids("list", "--after", str(everything[2]), "--limit", "2") == everything[3:5]
    inbox = ids("inbox")
    assert ids("inbox", "--after", str(inbox[0]), "--limit", "4") == inbox[1:5]
    overdue = ids("list", "--overdue", "--today", "2014-07-01")
    assert len(overdue) >= 3
    assert ids("list", "--overdue", "--today", "2014-07-01", "--limit", "2") == overdue[:2]
    assert ids("list", "--overdue", "--today", "2014-07-01", "--after", str(overdue[0]),
               "--limit", "2") == overdue[1:3]


def test_streamed_json_and_csv_are_what_emit_prints(reads_campaign: Campaign) -> None:
    """Streaming changes the memory, not a byte: odd text, one item, none."""
    views = reads_campaign.reads.deliverables(limit=3)
    odd = views[0].model_copy(update={"title": '引号 "q", 行\n尾\x85 \x7f'})
    for items in ([odd, *views[1:]], views[:1], []):
        for fmt in ("json", "csv"):
            def streamed(fmt: str = fmt, items: list[Any] = items) -> None:
                if fmt == "json":
                    stream_json(d.to_json() for d in items)
                else:
                    stream_csv((deliverable_row(d) for d in items), deliverable_header())

            def emitted(fmt: str = fmt, items: list[Any] = items) -> None:
                emit(fmt, items, lambda: None, rows=[deliverable_row(d) for d in items],
                     header=deliverable_header())

            outputs = [CliRunner().invoke(click.command()(f)).output for f in (streamed, emitted)]
            assert outputs[0] == outputs[1]


def test_the_same_reads_on_postgresql(pg_url: str) -> None:
    """The permission table, the latest-revision join, paging, overdue and
    counts on a PostgreSQL server (its typing of a VALUES list included)."""
    campaign = Campaign.open(pg_url, clock=lambda: START)
    campaign.deliverables.init(actor="office1")
    for user_id, name, roles, unit in PEOPLE:
        campaign.people.add_user("office1", user_id, name, list(roles), unit)
    for type_id, spec in sorted(SPECS.items()):
        for number, owner in enumerate(creators(spec)[:2]):
            item = campaign.deliverables.create(
                owner, type_id, type_id, content=text(spec=spec) if number else None,
                due=TODAY - timedelta(days=number))
            if number and type_id == "self_review":
                campaign.moves.fire(owner, item.id, "submit", comment="理由")
    reads = campaign.reads
    for user in USER_IDS:
        assert reads.inbox(user) == policy_inbox(campaign, user)
    first = reads.deliverables(limit=3)
    assert first + reads.deliverables(after=first[-1].id) == reads.deliverables()
    assert reads.overdue(TODAY, None) == find_overdue(
        reads.deliverables(), None, reads.users(), TODAY, reads.responsible_persons())
    assert sum(reads.state_counts("self_review").values()) == 2
    assert len(list(campaign.audit.export("jsonl"))) == len(campaign.audit.events())
    campaign.store.engine.dispose()
