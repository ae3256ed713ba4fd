"""Issue 8: trust what it shows.  Each numbered finding of the attacker's
probe (1 the approved text, 2 rule-bearing records, 3 time travel, 5 bad
ids, 8 identity) has its test, and a property test edits any sealed table at
random: ``verify`` must always find it."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from drive import at_day, complete_content
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from plan_helpers import (
    PLAN,
    STARTER,
    build_started,
    drive_to,
    freeze,
    open_db,
    valid_event_kwargs,
)
from sqlalchemy import Boolean

import cli
from workflow import Campaign
from workflow.errors import (
    AuditVerificationFailed,
    ContentIntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from workflow.services.passwords import Passwords
from workflow.store import audit, seals

LEADER, PRINCIPAL, SUPERVISOR, MEMBER, OFFICE = "leader1", "prin", "sup1", "member1", "office1"
FORGED = "伪造的对照检查材料：没有问题。"


# -- a campaign with a row in every sealed table -------------------------------------------


def _populate(campaign: Campaign, files: Path) -> None:
    spec = campaign.registry.definition("self_review")
    item = campaign.deliverables.create(LEADER, "self_review", "张副主席对照检查材料",
                           content=complete_content(spec))
    drive_to(campaign, item.id, "review")
    at_day(campaign, date(2014, 6, 16)).moves.fire(PRINCIPAL, item.id, "return", "缺思想根源")
    campaign.deliverables.revise(LEADER, item.id, complete_content(spec, body="修改后"))
    campaign.documents.add_opinion(SUPERVISOR, item.id, "已阅")
    drive_to(campaign, item.id, "publicity")
    rectification = campaign.deliverables.create(
        LEADER, "rectification_item", "整改事项",
        content=complete_content(campaign.registry.definition("rectification_item")))
    drive_to(campaign, rectification.id, "in_progress")
    campaign.rectification.note(rectification.owner, rectification.id, "已完成一半")
    (files / "scan.pdf").write_bytes(b"%PDF-1.4 scan")
    campaign.attachments.attach(LEADER, item.id, files / "scan.pdf")
    event = PLAN.spec.events[0]
    campaign.records.event(STARTER, event.kind, **valid_event_kwargs(event))
    campaign.records.talk(LEADER, LEADER, "leader2", date(2014, 6, 1))
    campaign.records.target(OFFICE, PLAN.spec.targets[0].id, 2, "首批")
    with pytest.raises(PermissionDenied):
        campaign.moves.fire(MEMBER, item.id, "archive")  # a refusal for the refusals' chain
    campaign.accounts.hashing = Passwords.cheapest()
    campaign.accounts.set_password(OFFICE, MEMBER, "临时密码-temporary")  # sealed: credential
    campaign.accounts.set_email(MEMBER, MEMBER, "member@example.org")  # sealed: user_contact
    campaign.people.grant_role(OFFICE, MEMBER, "branch")  # the next event records its head


@pytest.fixture(scope="session")
def sealed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sealed")
    path = build_started(directory)
    campaign = open_db(path)
    _populate(campaign, directory)
    campaign.audit.verify()
    return freeze(campaign, path)


def copy_with_store(template: Path, directory: Path) -> Path:
    """The database and its attachment store beside it."""
    path = directory / "campaign.db"
    shutil.copy(template, path)
    shutil.copytree(template.with_suffix(".attachments"), path.with_suffix(".attachments"))
    return path


@pytest.fixture
def sealed(sealed_template: Path, tmp_path: Path) -> Iterator[tuple[Campaign, Path]]:
    path = copy_with_store(sealed_template, tmp_path)
    campaign = open_db(path)
    yield campaign, path
    campaign.store.engine.dispose()


def raw(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(sql, params)


def failure(campaign: Campaign) -> str:
    with pytest.raises(AuditVerificationFailed) as raised:
        campaign.audit.verify()
    assert raised.value.exit_code == 8
    return str(raised.value)


def cli_run(path: Path, *args: object, user: str | None = None) -> Result:
    prefix = ["--db", f"sqlite:///{path}", *(["--as", user] if user else [])]
    result = CliRunner().invoke(cli.main, [*prefix, *map(str, args)])
    assert "Traceback" not in result.output
    return result


def approved_self_review(campaign: Campaign) -> int:
    return next(d.id for d in campaign.reads.deliverables("self_review") if d.state == "publicity")


# -- 1. the approved text --------------------------------------------------------------------


def test_finding_1_swapped_revision_text_is_named_by_verify(
        sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    item = approved_self_review(campaign)
    raw(path, "UPDATE revision SET content = ? WHERE deliverable_id = ? AND number = 2",
        FORGED.encode(), item)
    assert f"deliverable {item} revision 2" in failure(campaign)


def test_finding_1_swapped_text_with_its_hash_column_is_still_caught(
        sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    item = approved_self_review(campaign)
    forged = FORGED.encode()
    raw(path, "UPDATE revision SET content = ?, sha256 = ?, size = ? "
        "WHERE deliverable_id = ? AND number = 2",
        forged, hashlib.sha256(forged).hexdigest(), len(forged), item)
    assert f"deliverable {item} revision 2" in failure(campaign)
    with pytest.raises(ContentIntegrityError):
        campaign.reads.content(item)


def test_finding_1_the_notice_and_the_dossier_refuse_forged_text(
        sealed: tuple[Campaign, Path], tmp_path: Path) -> None:
    campaign, path = sealed
    item = approved_self_review(campaign)
    raw(path, "UPDATE revision SET content = ? WHERE deliverable_id = ? AND number = 2",
        FORGED.encode(), item)
    notice = cli_run(path, "notice", item)
    assert notice.exit_code == 8 and FORGED not in notice.stdout
    assert "not presented" in notice.stderr
    out = tmp_path / "dossier.html"
    assert cli_run(path, "dossier", item, "--out", out).exit_code == 8
    page = out.read_text()
    assert FORGED not in page and "content withheld" in page and "FAILED" in page


# -- 2. rule-bearing records ------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "named"), [
    ("INSERT INTO user_role VALUES ('member1', 'supervisor')", "role supervisor of user member1"),
    ("DELETE FROM user_role WHERE user_id = 'sup1'", "role supervisor of user sup1"),
    ("UPDATE app_user SET active = 0 WHERE id = 'leader2'", "user leader2"),
    ("UPDATE opinion SET text = '同意' WHERE id = 1", "opinion 1"),
    ("UPDATE publicity_window SET closes_on = '2014-06-17'", "publicity window"),
    ("UPDATE rectification SET responsible_id = 'leader2'", "rectification fields"),
    ("UPDATE deliverable SET owner_id = 'prin' WHERE type_id = 'self_review'", "deliverable"),
    ("UPDATE event_record SET days = 3", "event_record"),
    ("UPDATE talk SET second_confirmed_at = '2014-06-02T00:00:00Z'", "talk"),
    ("UPDATE target_entry SET amount = 200", "target_entry"),
    ("UPDATE attachment SET name = 'other.pdf'", "attachment"),
    ("UPDATE workflow_definition SET source = source || ' ' WHERE type_id = 'self_review'",
     "definition self_review"),
])
def test_finding_2_rule_bearing_records_edited_behind_the_engine_are_named(
        sealed: tuple[Campaign, Path], sql: str, named: str) -> None:
    campaign, path = sealed
    raw(path, sql)
    assert named in failure(campaign)


def test_finding_2_deleted_refusals_show(sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    assert campaign.audit.refusals()
    raw(path, "DELETE FROM access_refusal")
    assert "refusal" in failure(campaign)


def test_finding_2_an_edited_refusal_shows(sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    raw(path, "UPDATE access_refusal SET actor = 'leader2'")
    assert "access refusal 1 was edited" in failure(campaign)


def _append_forged(path: Path, **fields: Any) -> None:
    """What an attacker with the file does: drop the triggers, append an event
    with a correct hash after the head of the deliverable's chain."""
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        chain = connection.execute(
            "SELECT chain FROM audit_event WHERE deliverable_id = ? ORDER BY seq DESC LIMIT 1",
            (fields["deliverable_id"],)).fetchone()["chain"]
        last = connection.execute("SELECT * FROM audit_event WHERE chain = ? ORDER BY chain_seq "
                                  "DESC LIMIT 1", (chain,)).fetchone()
        seq = connection.execute("SELECT max(seq) FROM audit_event").fetchone()[0]
        event = {name: None for name in audit.CHAINED_FIELDS}
        event.update(seq=seq + 1, chain=chain, chain_seq=last["chain_seq"] + 1,
                     prev_hash=last["hash"], at="2014-06-20T01:00:00.0Z", **fields)
        event["hash"] = audit.event_hash(event)
        columns = ", ".join(event)
        connection.execute(f"INSERT INTO audit_event ({columns}) VALUES "
                           f"({', '.join('?' * len(event))})", list(event.values()))
        if fields.get("action") == "transition":
            connection.execute("UPDATE deliverable SET state = ?, version = version + 1 "
                               "WHERE id = ?", (fields["dest"], fields["deliverable_id"]))


@pytest.mark.parametrize(("actor", "role", "problem"), [
    (MEMBER, "supervisor", "did not hold role supervisor"),
    (MEMBER, "member", "needs role"),
    ("nobody", "office", "was not a user"),
])
def test_finding_2_a_forged_approval_after_the_digest_is_refused_by_the_replay(
        sealed: tuple[Campaign, Path], actor: str, role: str, problem: str) -> None:
    campaign, path = sealed
    item = campaign.deliverables.create(LEADER, "self_review", "另一份材料",
                           content=complete_content(campaign.registry.definition("self_review")))
    drive_to(campaign, item.id, "supervisor_approval")
    digest = campaign.audit.digest()
    _append_forged(path, actor=actor, role=role, action="transition", deliverable_id=item.id,
                   trigger="approve", source="supervisor_approval", dest="publicity",
                   revision=campaign.reads.revision(item.id).sha256)
    with pytest.raises(AuditVerificationFailed) as raised:
        campaign.audit.verify(digest)  # the kept digest is still reached: only the replay can tell
    assert "not allowed" in str(raised.value) and problem in str(raised.value)


def test_finding_2_a_forged_self_approval_is_refused_by_the_replay(
        sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    campaign.people.grant_role(OFFICE, LEADER, "supervisor")
    item = campaign.deliverables.create(LEADER, "self_review", "自己审批",
                           content=complete_content(campaign.registry.definition("self_review")))
    drive_to(campaign, item.id, "supervisor_approval")
    _append_forged(path, actor=LEADER, role="supervisor", action="transition",
                   deliverable_id=item.id, trigger="approve", source="supervisor_approval",
                   dest="publicity", revision=campaign.reads.revision(item.id).sha256)
    assert "self-approval" in failure(campaign)


def test_finding_2_roles_follow_their_events(sealed: tuple[Campaign, Path]) -> None:
    campaign, _ = sealed
    assert "branch" in campaign.reads.user(MEMBER).roles
    campaign.people.revoke_role(OFFICE, MEMBER, "branch")
    assert campaign.reads.user(MEMBER).roles == ("member",)
    campaign.people.deactivate_user(OFFICE, "leader2")
    with pytest.raises(PermissionDenied, match="deactivated"):
        campaign.records.talk("leader2", "leader2", LEADER, date(2014, 6, 2))
    actions = [e.action for e in campaign.audit.events("role") + campaign.audit.events("user")]
    assert {"role.grant", "role.revoke", "user.deactivate"} <= set(actions)
    campaign.audit.verify()


def test_finding_2_only_the_office_changes_roles(sealed: tuple[Campaign, Path]) -> None:
    campaign, _ = sealed
    for change in (lambda: campaign.people.grant_role(PRINCIPAL, MEMBER, "supervisor"),
                   lambda: campaign.people.revoke_role(LEADER, "sup1", "supervisor"),
                   lambda: campaign.people.deactivate_user(MEMBER, "sup1")):
        with pytest.raises(PermissionDenied):
            change()
    assert campaign.reads.user("sup1").roles == ("supervisor",)
    campaign.audit.verify()


# -- 3. time travel ------------------------------------------------------------------------------


def _today() -> date:
    return Campaign.open("sqlite://").store.today()


@pytest.mark.parametrize("command", [("tick",), ("object", "1", "--reason", "异议")])
def test_finding_3_a_write_on_a_later_day_is_refused_and_writes_nothing(
        sealed: tuple[Campaign, Path], command: tuple[str, ...]) -> None:
    campaign, path = sealed
    before = campaign.audit.digest()
    later = _today() + timedelta(days=8)
    result = cli_run(path, *command, "--today", later, user=OFFICE)
    assert result.exit_code == 7, result.output
    assert "later than today" in result.stderr or "not today" in result.stderr
    assert campaign.audit.digest() == before


def test_finding_3_the_api_refuses_a_tick_ahead_of_its_clock(
        sealed: tuple[Campaign, Path]) -> None:
    campaign, _ = sealed
    campaign = at_day(campaign, date(2014, 6, 20))
    with pytest.raises(InvalidInput, match="later than today"):
        campaign.moves.tick(OFFICE, today=date(2014, 6, 30))
    assert campaign.moves.tick(OFFICE, today=date(2014, 6, 18)) == []  # an earlier day does less


def test_finding_3_writes_take_their_day_from_the_clock(sealed: tuple[Campaign, Path]) -> None:
    campaign, _ = sealed
    item = approved_self_review(campaign)
    window = campaign.reads.windows(item)[-1]
    at_day(campaign, window.closes_on + timedelta(days=1))
    (event,) = campaign.moves.tick(OFFICE)
    assert event.at.startswith(str(window.closes_on + timedelta(days=1)))


# -- 5. ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["", " ", "a b", "bad\nid", "\x1b[31m", "x/y", "x" * 65])
def test_finding_5_user_ids_outside_the_roster_rule_are_refused(
        sealed: tuple[Campaign, Path], user_id: str) -> None:
    campaign, path = sealed
    before = campaign.audit.digest()
    result = cli_run(path, "users", "add", user_id, "--name", "某人", "--role", "member",
                     user=OFFICE)
    assert result.exit_code == 7 and len(result.stderr.splitlines()) == 1
    with pytest.raises(InvalidInput):
        campaign.reads.inbox(user_id or " ")
    assert campaign.audit.digest() == before


@pytest.mark.parametrize("name", ["", "   "])
def test_finding_5_a_user_needs_a_name(sealed: tuple[Campaign, Path], name: str) -> None:
    campaign, _ = sealed
    with pytest.raises(InvalidInput):
        campaign.people.add_user(OFFICE, "member9", name, ["member"])


def test_finding_5_an_unknown_attendee_is_refused(sealed: tuple[Campaign, Path]) -> None:
    campaign, _ = sealed
    event = PLAN.spec.events[0]
    before = campaign.audit.digest()
    with pytest.raises(NotFound, match="nobody"):
        campaign.records.event(STARTER, event.kind, attendees=["leader1", "nobody"],
                              **valid_event_kwargs(event))
    assert campaign.audit.digest() == before


# -- 8. who typed it -------------------------------------------------------------------------------


def test_finding_8_each_event_records_its_channel_login_and_host(
        sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    api = campaign.audit.events()[-1]
    assert api.channel == "api" and api.os_user and api.host
    result = cli_run(path, "users", "grant", LEADER, "supervisor", user=OFFICE)
    assert result.exit_code == 0, result.output
    typed = campaign.audit.events()[-1]
    assert (typed.action, typed.channel) == ("role.grant", "cli")
    assert typed.os_user == api.os_user and typed.host == api.host
    assert campaign.audit.refusals()[-1].channel == "api"
    campaign.audit.verify()


def test_finding_8_the_origin_is_hashed_into_the_chain(sealed: tuple[Campaign, Path]) -> None:
    campaign, path = sealed
    raw(path, "DROP TRIGGER audit_event_no_update")
    raw(path, "UPDATE audit_event SET os_user = 'someone-else' WHERE seq = 3")
    assert "edited" in failure(campaign)


# -- every edit is found ------------------------------------------------------------------------

_EDITABLE = seals.sealed_tables()


def _mutations(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(table, column, key) for every sealed cell of the template."""
    cells = []
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        for name, sealed_table in _EDITABLE.items():
            for row in connection.execute(f'SELECT * FROM "{name}"'):
                key = {c: row[c] for c in sealed_table.key}
                cells += [(name, column, key) for column in sealed_table.columns
                          if column not in sealed_table.key]
    return cells


def _changed(value: object, boolean: bool) -> object:
    """Another value that means something else to the engine."""
    if boolean:
        return 0 if value else 1
    if value is None:
        return "x"
    if isinstance(value, bytes):
        return value + b" "
    if isinstance(value, int | float):
        return value + 1000  # clear of its neighbours' unique keys
    return f"{value}x"


def _is_boolean(table: str, column: str) -> bool:
    return isinstance(_EDITABLE[table].table.c[column].type, Boolean)


def _edit_and_verify(template: Path, directory: Path, table: str, column: str,
                     key: dict[str, Any]) -> bool:
    """Edit one cell behind the engine; ``verify`` must fail.  False if SQLite
    itself refuses the edit (a constraint): then there is nothing to find."""
    path = copy_with_store(template, directory)
    where = " AND ".join(f'"{c}" = ?' for c in key)
    with sqlite3.connect(path) as connection:
        (value,) = connection.execute(f'SELECT "{column}" FROM "{table}" WHERE {where}',
                                      list(key.values())).fetchone()
        try:
            connection.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE {where}',
                               [_changed(value, _is_boolean(table, column)), *key.values()])
        except sqlite3.IntegrityError:
            return False
    campaign = open_db(path)
    try:
        with pytest.raises(AuditVerificationFailed):
            campaign.audit.verify()
    finally:
        campaign.store.engine.dispose()
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_edit_of_a_sealed_table_is_found_by_verify(
        sealed_template: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    table, column, key = data.draw(st.sampled_from(_mutations(sealed_template)), label="cell")
    assume(_edit_and_verify(sealed_template, tmp_path_factory.mktemp("edit"), table, column,
                            key))


@pytest.mark.parametrize(("table", "column"), [
    (name, column) for name, sealed_table in _EDITABLE.items()
    for column in sealed_table.columns if column not in sealed_table.key
])
def test_an_edit_of_every_sealed_column_is_found_by_verify(
        sealed_template: Path, tmp_path: Path, table: str, column: str) -> None:
    with sqlite3.connect(sealed_template) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute(f'SELECT * FROM "{table}" LIMIT 1').fetchone()
    key = {c: row[c] for c in _EDITABLE[table].key}
    if not _edit_and_verify(sealed_template, tmp_path, table, column, key):
        pytest.skip(f"SQLite itself refuses this edit of {table}.{column} (a constraint)")


def test_the_sealed_template_has_a_row_in_every_sealed_table(sealed_template: Path) -> None:
    with sqlite3.connect(sealed_template) as connection:
        empty = [name for name in _EDITABLE
                 if not connection.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone()]
    assert empty == []
