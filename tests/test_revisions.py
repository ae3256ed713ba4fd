"""Content: revisions are stored with their sha256, only the owner adds them, only in
editable states, every audit event names the revision it acted on, and bad
files are refused before anything is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import ROLES_OF, snapshot
from drive import (
    COMMENT,
    SPECS,
    USER_IDS,
    advance,
    complete_content,
    drive,
    prepare,
    prerequisites,
    refused,
)

from workflow import Campaign, from_text, read_content
from workflow.errors import (
    CampaignError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.spec.content import MAX_BYTES

TYPES = sorted(SPECS)
EDITABLE = [(t, s) for t in TYPES for s in SPECS[t].editable_states]
NOT_EDITABLE = [
    (t, s.name) for t in TYPES for s in SPECS[t].states if s.name not in SPECS[t].editable_states
]


@pytest.mark.parametrize("type_id", TYPES)
def test_create_with_content_stores_revision_one(
    campaign: Campaign, tmp_path: Path, type_id: str
) -> None:
    source = tmp_path / "材料.md"
    source.write_text("# 对照检查材料\n\n一、主要问题\n", encoding="utf-8")
    content = read_content(source)
    item = drive(campaign, type_id, content=content)

    revisions = campaign.reads.revisions(item.id)
    assert len(revisions) == 1
    first = revisions[0]
    assert first.number == 1
    assert first.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (first.filename, first.media_type) == ("材料.md", "text/markdown")
    assert first.size == len(source.read_bytes())
    assert first.author == item.owner
    assert campaign.reads.content(item.id) == source.read_bytes()
    assert item.revision == first
    created = campaign.reads.history(item.id)[0]
    assert created.action == "create"
    assert created.revision == first.sha256


def test_create_without_content_has_no_revision(campaign: Campaign) -> None:
    item = campaign.deliverables.create("principal1", "self_review", "无正文")
    assert item.revision is None
    assert campaign.reads.revisions(item.id) == []
    assert campaign.reads.history(item.id)[0].revision is None


@pytest.mark.parametrize(("type_id", "state"), EDITABLE, ids=[f"{t}-{s}" for t, s in EDITABLE])
def test_owner_revises_in_an_editable_state(
    campaign: Campaign, db_url: str, type_id: str, state: str
) -> None:
    item = drive(campaign, type_id, state)
    before = snapshot(db_url)
    content = from_text("# 第二稿\n\n修改后的内容\n", "第二稿.md")

    revision = campaign.deliverables.revise(item.owner, item.id, content)

    assert revision.number == 2
    assert revision.sha256 == content.sha256
    assert revision.author == item.owner
    assert campaign.reads.content(item.id) == content.data
    assert campaign.reads.content(item.id, 1) != content.data  # the first stays as it was
    after = campaign.reads.get(item.id)
    assert (after.state, after.version) == (state, item.version + 1)
    assert after.revision == revision
    stored = snapshot(db_url)
    assert stored.revisions == before.revisions + 1
    assert stored.events[:-1] == before.events and len(stored.events) == len(before.events) + 1
    event = campaign.reads.history(item.id)[-1]
    assert (event.action, event.actor, event.source, event.dest) == (
        "revise", item.owner, state, state)
    assert event.revision == content.sha256
    assert event.role in set(ROLES_OF[item.owner]) & set(SPECS[type_id].create_roles)
    campaign.audit.verify()


def test_research_report_can_be_revised_while_researching_again(campaign: Campaign) -> None:
    assert ("research_report", "research_again") in EDITABLE
    item = drive(campaign, "research_report", "research_again")
    revision = campaign.deliverables.revise(item.owner, item.id,
                               complete_content(SPECS["research_report"], body="重新调研后的报告"))
    assert revision.number == 2
    assert campaign.reads.get(item.id).state == "research_again"


@pytest.mark.parametrize("type_id", TYPES)
def test_only_the_owner_revises(campaign: Campaign, db_url: str, type_id: str) -> None:
    item = drive(campaign, type_id)
    for user in USER_IDS:
        if user != item.owner:
            refused(campaign, db_url, PermissionDenied,
                    lambda: campaign.deliverables.revise(user, item.id, from_text("别人的修改")),  # noqa: B023
                    actor=user)
    assert campaign.audit.refusals()[-1].action == "revise"
    assert len(campaign.reads.revisions(item.id)) == 1


@pytest.mark.parametrize(
    ("type_id", "state"), NOT_EDITABLE, ids=[f"{t}-{s}" for t, s in NOT_EDITABLE]
)
def test_no_revision_outside_editable_states(
    campaign: Campaign, db_url: str, type_id: str, state: str
) -> None:
    item = drive(campaign, type_id, state)
    error = refused(campaign, db_url, TransitionNotAllowed,
                    lambda: campaign.deliverables.revise(item.owner, item.id, from_text("改一改")))
    assert state in str(error)


@pytest.mark.parametrize("type_id", TYPES)
def test_no_transition_without_content(campaign: Campaign, db_url: str, type_id: str) -> None:
    spec = campaign.registry.definition(type_id)
    owner = next(u for u in USER_IDS if set(ROLES_OF[u]) & set(spec.create_roles))
    item = campaign.deliverables.create(owner, type_id, "尚无正文")
    prepare(campaign, item.id, "submit")  # content is all it lacks
    submit = spec.transition(spec.initial, "submit")
    assert submit is not None and submit.owner_only
    error = refused(campaign, db_url, TransitionNotAllowed,
                    lambda: campaign.moves.fire(owner, item.id, "submit", COMMENT))
    assert "content" in str(error)
    # Once content is added the same move goes through and names it.
    content = complete_content(spec, body="补充的正文")
    campaign.deliverables.revise(owner, item.id, content)
    event = campaign.moves.fire(owner, item.id, "submit", COMMENT)
    assert event.revision == content.sha256


@pytest.mark.parametrize("type_id", TYPES)
def test_every_event_records_the_revision_it_acted_on(campaign: Campaign, type_id: str) -> None:
    spec = SPECS[type_id]
    first = complete_content(spec, body="第一稿", filename="v1.md")
    second = complete_content(spec, body="第二稿", filename="v2.md")
    item = drive(campaign, type_id, "review", content=first)
    advance(campaign, item.id, "return")
    campaign.deliverables.revise(item.owner, item.id, second)
    advance(campaign, item.id, "submit", "forward", "approve")

    history = campaign.reads.history(item.id)
    revised = next(i for i, e in enumerate(history) if e.action == "revise")
    needed = prerequisites(type_id, "submit")  # written before the first submit only
    assert [e.action for e in history[:revised]] == [
        "create", *needed, "transition", "transition"]
    assert all(e.revision == first.sha256 for e in history[:revised])
    assert all(e.revision == second.sha256 for e in history[revised:])
    assert history[-1].trigger == "approve"
    assert len(history) == 7 + len(needed)
    campaign.audit.verify()


def test_research_again_revision_is_carried_by_later_events(campaign: Campaign) -> None:
    item = drive(campaign, "research_report", "supervisor_approval")
    advance(campaign, item.id, "reject")
    third = complete_content(SPECS["research_report"], body="重新调研后的第三稿")
    campaign.deliverables.revise(item.owner, item.id, third)
    advance(campaign, item.id, "redraft", "submit", "forward", "approve")
    tail = campaign.reads.history(item.id)[-5:]
    assert [e.action for e in tail] == ["revise"] + ["transition"] * 4
    assert {e.revision for e in tail} == {third.sha256}


# -- reading files ------------------------------------------------------------------

BAD_FILES: dict[str, tuple[str, bytes, str]] = {
    # case: (file name, bytes, a word the message must contain)
    "empty": ("空.md", b"", "empty"),
    "blank": ("空白.md", b"  \n\t\n", "empty"),
    "binary": ("图片.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    "nul-in-text": ("材料.md", "正文\x00正文".encode(), "binary"),
    "gbk": ("材料.md", "对照检查材料：主要问题和具体表现".encode("gbk"), "GBK"),
    "docx": ("材料.docx", "正文".encode(), "Word"),  # named .docx, but not a Word file
    "pdf": ("材料.pdf", b"%PDF-1.4 text", ".md"),
    "no-suffix": ("README", "正文".encode(), ".md"),
    "over-size": ("大.md", b"a" * (MAX_BYTES + 1), "limit"),
}


@pytest.fixture(params=sorted(BAD_FILES))
def bad_file(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    name, data, word = BAD_FILES[request.param]
    path = tmp_path / name
    path.write_bytes(data)
    return path, word


def test_bad_files_are_refused_and_nothing_is_created(
    campaign: Campaign, db_url: str, bad_file: tuple[Path, str]
) -> None:
    path, word = bad_file
    item = drive(campaign, "self_review")
    before, refusals = snapshot(db_url), campaign.audit.refusals()
    with pytest.raises(CampaignError) as create:
        campaign.deliverables.create("principal1", "self_review", "坏文件",
                                     content=read_content(path))
    with pytest.raises(CampaignError) as revise:
        campaign.deliverables.revise(item.owner, item.id, read_content(path))
    for info in (create, revise):
        assert type(info.value) is InvalidInput
        assert info.value.exit_code == 7
        assert word in str(info.value)
        assert path.name in str(info.value)
    assert snapshot(db_url) == before
    assert campaign.audit.refusals() == refusals


def test_a_path_that_is_a_directory_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "材料.md"
    path.mkdir()
    with pytest.raises(InvalidInput):
        read_content(path)


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        read_content(tmp_path / "材料.md")


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("a.md", "text/markdown"), ("b.markdown", "text/markdown"), ("c.txt", "text/plain"),
     ("D.MD", "text/markdown")],
)
def test_utf8_text_and_markdown_are_accepted(
    campaign: Campaign, tmp_path: Path, name: str, media_type: str
) -> None:
    path = tmp_path / name
    path.write_text("整改措施：立行立改\n", encoding="utf-8")
    content = read_content(path)
    assert content.media_type == media_type
    item = campaign.deliverables.create("principal1", "self_review", "材料", content=content)
    assert campaign.reads.content(item.id).decode("utf-8") == "整改措施：立行立改\n"


def test_a_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf" + "正文".encode())
    assert read_content(path).data == "正文".encode()


def test_exactly_the_size_limit_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "limit.txt"
    path.write_bytes(b"a" * MAX_BYTES)
    assert len(read_content(path).data) == MAX_BYTES
