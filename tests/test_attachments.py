"""Attachments: any file, kept content-addressed by sha256 beside the database (or in
it), under a safe name that is never overwritten, within a size limit; served back
only after its hash is checked; bad input refused with nothing left behind."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple

import click
import pytest
from click.testing import CliRunner, Result
from conftest import DEFINITIONS, snapshot
from plan_helpers import execute, query, query_all
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

import cli
from workflow import Campaign, from_text
from workflow import files as files_module
from workflow.cli.commands.attachments import COMMANDS
from workflow.errors import (
    AuditVerificationFailed,
    CampaignError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from workflow.services import attachments as attachments_module
from workflow.services.attachments import store_directory
from workflow.store import audit
from workflow.store.views import DeliverableView


def _main_with_attachments() -> click.Group:
    """``campaign`` with these commands, without touching ``cli.main`` itself (other
    tests compare its command list with the README)."""
    group = copy.copy(cli.main)
    assert isinstance(group, click.Group)
    group.commands = {**cli.main.commands, **{c.name or "": c for c in COMMANDS}}
    return group


MAIN = _main_with_attachments()

DOCX = b"PK\x03\x04\x14\x00\x06\x00word/document.xml" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\xff" * 100
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OWNER = "leader1"
CHINESE = "对照检查材料（附件一）.docx"

KINDS = [
    ("材料.docx", DOCX, DOCX_TYPE),
    ("scan.pdf", PDF, "application/pdf"),
    ("photo.PNG", PNG, "image/png"),
    (CHINESE, DOCX, DOCX_TYPE),
    ("会议记录", b"no suffix at all", "application/octet-stream"),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG",
                 "CAMPAIGN_MAX_ATTACHMENT_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def item(campaign: Campaign) -> DeliverableView:
    return campaign.deliverables.create(OWNER, "self_review", "张副主席对照检查材料")


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """Where the files to attach come from (apart from the database's directory)."""
    directory = tmp_path / "files"
    directory.mkdir()
    return directory


def source(inbox: Path, name: str, data: bytes) -> Path:
    path = inbox / name
    path.write_bytes(data)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- what is on disk and in the database, computed without asking the engine --------------
#
# Beside a SQLite file the blobs are files in ``<name>.attachments/``; on PostgreSQL
# they are rows of ``attachment_blob``.  The helpers below read (and damage) either.


def store(db_url: str) -> Path | None:
    """The blob directory beside a SQLite file; None where blobs are kept in the database."""
    if not db_url.startswith("sqlite:///"):
        return None
    db = Path(db_url.removeprefix("sqlite:///"))
    return db.parent / f"{db.stem}.attachments"


def blob(db_url: str, digest: str) -> Path:
    """Where the file store keeps ``digest`` (SQLite only)."""
    root = store(db_url)
    assert root is not None, "blobs are files only beside a SQLite database"
    return root / digest[:2] / digest


def store_files(db_url: str) -> list[Path]:
    """Everything under the store (blobs, stray temporary files, empty directories)."""
    root = store(db_url)
    return sorted(root.rglob("*")) if root is not None and root.exists() else []


def blob_rows(db_url: str) -> dict[str, bytes]:
    return {digest: bytes(content) for digest, content in
            query(db_url, "SELECT sha256, content FROM attachment_blob")}


def stored(db_url: str, digest: str) -> bytes | None:
    """The bytes kept for ``digest``: its file beside a SQLite database, its row on a server."""
    if store(db_url) is None:
        return blob_rows(db_url).get(digest)
    path = blob(db_url, digest)
    return path.read_bytes() if path.exists() else None


def rewrite(db_url: str, digest: str, data: bytes | None) -> None:
    """Replace the bytes kept for ``digest`` behind the engine's back (None: remove them)."""
    if store(db_url) is None:
        if data is None:
            execute(db_url, "DELETE FROM attachment_blob WHERE sha256 = :d", d=digest)
        else:
            execute(db_url, "UPDATE attachment_blob SET content = :data WHERE sha256 = :d",
                    data=data, d=digest)
    elif data is None:
        blob(db_url, digest).unlink()
    else:
        blob(db_url, digest).write_bytes(data)


def flip_a_byte(db_url: str, digest: str, at: int = 5) -> None:
    data = bytearray(stored(db_url, digest) or b"")
    data[at] ^= 0xFF
    rewrite(db_url, digest, bytes(data))


class State(NamedTuple):
    snapshot: object
    attachments: list[tuple[object, ...]]
    blob_rows: list[str]
    store_exists: bool
    store_files: list[Path]


def state(db_url: str) -> State:
    """Everything a refused or failed attach must leave as it was."""
    rows, blobs = query_all(
        db_url, "SELECT deliverable_id, name, sha256, size FROM attachment ORDER BY id",
        "SELECT sha256 FROM attachment_blob ORDER BY 1")
    root = store(db_url)
    return State(snapshot(db_url), rows, [r[0] for r in blobs],
                 root is not None and root.exists(), store_files(db_url))


def no_store(db_url: str) -> bool:
    """No blob directory was made (there is none on a server)."""
    root = store(db_url)
    return root is None or not root.exists()


# -- attaching and reading back --------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "media_type"), KINDS, ids=[k[0] for k in KINDS])
def test_attach_any_file_and_get_it_back(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    name: str, data: bytes, media_type: str,
) -> None:
    view = campaign.attachments.attach(OWNER, item.id, source(inbox, name, data))

    assert (view.deliverable_id, view.name, view.media_type) == (item.id, name, media_type)
    assert (view.sha256, view.size, view.author) == (sha(data), len(data), OWNER)
    assert stored(db_url, sha(data)) == data
    assert campaign.attachments.of(item.id) == [view]
    assert campaign.attachments.get(item.id, name) == view
    assert campaign.attachments.data(item.id, name) == data


def test_the_office_may_attach_to_anyones_deliverable(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    view = campaign.attachments.attach("office1", item.id, source(inbox, "通知.pdf", PDF))
    assert view.author == "office1"
    event = campaign.audit.events("attachment")[-1]
    assert (event.actor, event.role) == ("office1", "office")


def test_given_name_is_used_instead_of_the_files(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    path = source(inbox, "scan0001.pdf", PDF)
    view = campaign.attachments.attach(OWNER, item.id, path, name="征求意见汇总.pdf")
    assert view.name == "征求意见汇总.pdf"
    assert [a.name for a in campaign.attachments.of(item.id)] == ["征求意见汇总.pdf"]


def test_same_content_under_two_names_is_stored_once(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    other = campaign.deliverables.create("leader2", "self_review", "刘副主席对照检查材料")
    first = campaign.attachments.attach(OWNER, item.id, source(inbox, "a.pdf", PDF))
    second = campaign.attachments.attach(OWNER, item.id, source(inbox, "b.pdf", PDF))
    third = campaign.attachments.attach("leader2", other.id, source(inbox, "a.pdf", PDF))

    assert first.sha256 == second.sha256 == third.sha256 == sha(PDF)
    if store(db_url) is None:
        assert blob_rows(db_url) == {sha(PDF): PDF}
    else:
        assert [p for p in store_files(db_url) if p.is_file()] == [blob(db_url, sha(PDF))]
    assert campaign.attachments.data(item.id, "b.pdf") == PDF
    assert campaign.attachments.data(other.id, "a.pdf") == PDF


def test_attachments_are_audited_without_changing_the_deliverable(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    before = campaign.audit.verify().events
    campaign.attachments.attach(OWNER, item.id, source(inbox, CHINESE, DOCX))
    campaign.attachments.attach("office1", item.id, source(inbox, "scan.pdf", PDF))

    after = campaign.reads.get(item.id)
    assert (after.version, after.state, after.updated_at) == (
        item.version, item.state, item.updated_at)
    events = campaign.audit.events("attachment")
    assert [e.action for e in events] == ["attachment.add", "attachment.add"]
    assert all(e.deliverable_id is None for e in events)
    assert json.loads(events[0].detail or "") == {
        "deliverable": item.id, "name": CHINESE, "sha256": sha(DOCX), "size": len(DOCX),
        "media_type": DOCX_TYPE,
    }
    assert events[0].role == "leader"
    report = campaign.audit.verify()
    assert report.events == before + 2
    assert campaign.audit.verify(report.digest).head == report.head


def test_names_that_look_odd_but_are_safe_are_accepted(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    path = source(inbox, "x.pdf", PDF)
    for name in ("报告..v2.pdf", "a..b", "a b.pdf", "x" * 200, "附件 (1).docx", "~$temp.docx"):
        assert campaign.attachments.attach(OWNER, item.id, path, name=name).name == name


# -- bad input: refused, nothing left behind ------------------------------------------------

BAD_NAMES = [
    "../x", "a/b", "a\\b", "..\\x", "..", ".", ".hidden", "con\x00trol", "tab\tname",
    "line\nbreak", "bell\x07", "del\x7f", "rlo\u202egpj.exe", "zero\u200bwidth", " lead.pdf",
    "trail.pdf ", "x" * 201, "",
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n)[:30] for n in BAD_NAMES])
def test_unsafe_names_are_refused(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path, name: str
) -> None:
    path = source(inbox, "fine.pdf", PDF)
    before = state(db_url)
    with pytest.raises(InvalidInput) as refused:
        campaign.attachments.attach(OWNER, item.id, path, name=name)
    assert refused.value.exit_code == 7
    assert "\n" not in str(refused.value)
    assert state(db_url) == before
    assert no_store(db_url)


def test_an_unsafe_file_name_is_refused_too(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    path = source(inbox, ".hidden", PDF)
    with pytest.raises(InvalidInput, match="--name"):
        campaign.attachments.attach(OWNER, item.id, path)
    assert campaign.attachments.attach(OWNER, item.id, path,
                                       name="visible.pdf").name == "visible.pdf"


def test_an_existing_name_is_never_overwritten(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    before = state(db_url)
    replacement = source(inbox, "other.pdf", b"%PDF-1.4 another document\n")
    for actor in (OWNER, "office1"):
        with pytest.raises(InvalidInput, match=r"scan\.pdf"):
            campaign.attachments.attach(actor, item.id, replacement, name="scan.pdf")
    assert state(db_url) == before
    assert campaign.attachments.data(item.id, "scan.pdf") == PDF


def test_the_same_name_on_another_deliverable_is_fine(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    other = campaign.deliverables.create(OWNER, "research_report", "调研报告")
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    assert campaign.attachments.attach(OWNER, other.id, source(inbox, "scan.pdf",
                                                               PNG)).sha256 == sha(PNG)


def test_an_empty_file_is_refused(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    before = state(db_url)
    with pytest.raises(InvalidInput, match="empty"):
        campaign.attachments.attach(OWNER, item.id, source(inbox, "empty.pdf", b""))
    assert state(db_url) == before


def test_the_size_limit_from_the_environment_is_enforced(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAMPAIGN_MAX_ATTACHMENT_BYTES", "10")
    assert campaign.attachments.max_bytes == 10
    before = state(db_url)
    with pytest.raises(InvalidInput, match="10-byte") as refused:
        campaign.attachments.attach(OWNER, item.id, source(inbox, "big.bin", b"x" * 11))
    assert "CAMPAIGN_MAX_ATTACHMENT_BYTES" in str(refused.value)
    assert state(db_url) == before
    assert campaign.attachments.attach(OWNER, item.id, source(inbox, "ok.bin",
                                                              b"x" * 10)).size == 10


def test_the_size_limit_given_to_the_constructor_wins(
    db_url: str, item: DeliverableView, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPAIGN_MAX_ATTACHMENT_BYTES", "1000")
    small = Campaign.open(db_url, max_attachment_bytes=4)
    try:
        with pytest.raises(InvalidInput, match="4-byte"):
            small.attachments.attach(OWNER, item.id, source(inbox, "five.bin", b"12345"))
        assert small.attachments.attach(OWNER, item.id, source(inbox, "four.bin",
                                                               b"1234")).size == 4
    finally:
        small.store.engine.dispose()
    with pytest.raises(InvalidInput):
        Campaign.open(db_url, max_attachment_bytes=0)


def test_the_default_limit_is_20_mib(campaign: Campaign) -> None:
    assert campaign.attachments.max_bytes == 20 * 1024 * 1024


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "１０"])
def test_a_bad_limit_in_the_environment_is_named(
    campaign: Campaign, item: DeliverableView, inbox: Path, monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.setenv("CAMPAIGN_MAX_ATTACHMENT_BYTES", value)
    with pytest.raises(InvalidInput, match="CAMPAIGN_MAX_ATTACHMENT_BYTES"):
        campaign.attachments.attach(OWNER, item.id, source(inbox, "a.pdf", PDF))


def test_a_huge_file_is_refused_by_its_size_before_it_is_read(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    huge = inbox / "huge.iso"
    with huge.open("wb") as stream:
        stream.truncate(4 * 1024**3)  # sparse: 4 GiB that take no space
    before = state(db_url)

    def no_reading(*_: object, **__: object) -> object:
        raise AssertionError("the file was opened")

    with monkeypatch.context() as patch, pytest.raises(InvalidInput, match=str(4 * 1024**3)):
        patch.setattr(files_module, "_open_nonblocking", no_reading)
        campaign.attachments.attach(OWNER, item.id, huge)
    assert state(db_url) == before


def test_a_file_that_grows_while_read_is_refused(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAMPAIGN_MAX_ATTACHMENT_BYTES", "10")
    path = source(inbox, "growing.log", b"12345")
    real_open = files_module._open_nonblocking

    def grow_then_open(opened: Path) -> int:
        handle = real_open(opened)
        if opened == path:
            path.write_bytes(b"x" * 50)  # after the size was checked, on the open file
        return handle

    before = state(db_url)
    with monkeypatch.context() as patch, pytest.raises(InvalidInput, match="grew"):
        patch.setattr(files_module, "_open_nonblocking", grow_then_open)
        campaign.attachments.attach(OWNER, item.id, path)
    assert state(db_url) == before


def test_what_is_not_a_regular_file_is_refused(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    before = state(db_url)
    with pytest.raises(NotFound, match=r"missing\.pdf"):
        campaign.attachments.attach(OWNER, item.id, inbox / "missing.pdf")
    with pytest.raises(InvalidInput, match="directory"):
        campaign.attachments.attach(OWNER, item.id, inbox)
    if hasattr(os, "mkfifo"):
        fifo = inbox / "pipe"
        os.mkfifo(fifo)
        with pytest.raises(InvalidInput, match="not a regular file"):
            campaign.attachments.attach(OWNER, item.id, fifo)  # and does not block reading it
    assert state(db_url) == before


@pytest.mark.parametrize("actor", ["leader2", "principal1", "sup1", "member1", "branch1"])
def test_only_the_owner_or_the_office_may_attach(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path, actor: str
) -> None:
    before = state(db_url)
    with pytest.raises(PermissionDenied) as refused:
        campaign.attachments.attach(actor, item.id, source(inbox, "scan.pdf", PDF))
    assert refused.value.exit_code == 3
    assert state(db_url) == before
    assert no_store(db_url)
    noted = campaign.audit.refusals()[-1]
    assert (noted.actor, noted.deliverable_id) == (actor, item.id)
    assert "attach" in noted.action


def test_unknown_deliverables_users_and_names(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    path = source(inbox, "scan.pdf", PDF)
    with pytest.raises(NotFound):
        campaign.attachments.attach(OWNER, 999, path)
    with pytest.raises(NotFound):
        campaign.attachments.attach("nobody", item.id, path)
    with pytest.raises(InvalidInput, match="--as"):
        campaign.attachments.attach(None, item.id, path)
    with pytest.raises(NotFound):
        campaign.attachments.of(999)
    with pytest.raises(NotFound):
        campaign.attachments.data(999, "scan.pdf")
    with pytest.raises(NotFound, match=r"scan\.pdf"):
        campaign.attachments.data(item.id, "scan.pdf")
    assert not list(inbox.parent.glob("*.attachments"))


# -- failures after the blob was written -----------------------------------------------------


def _fail_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(audit, "append", boom)  # the module attachments writes through


@pytest.mark.sqlite_only("the blob file written beside the SQLite file is removed again")
def test_a_failure_after_the_blob_was_written_leaves_no_orphan(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = state(db_url)
    written: list[Path] = []
    real_write = attachments_module.write_atomically

    def spy(target: Path, data: bytes, **options: bool) -> None:
        real_write(target, data, **options)
        written.append(target)

    monkeypatch.setattr(attachments_module, "write_atomically", spy)
    _fail_audit(monkeypatch)
    with pytest.raises(RuntimeError, match="simulated"):
        campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    assert written == [blob(db_url, sha(PDF))]  # it was written, then removed
    assert state(db_url) == before
    assert no_store(db_url)


def test_a_failure_keeps_a_blob_that_another_attachment_uses(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    before = state(db_url)
    _fail_audit(monkeypatch)
    with pytest.raises(RuntimeError):
        campaign.attachments.attach(OWNER, item.id, source(inbox, "copy.pdf", PDF))
    assert state(db_url) == before
    assert campaign.attachments.data(item.id, "scan.pdf") == PDF


def test_a_failure_with_new_and_old_blobs_removes_only_the_new(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    before = state(db_url)
    _fail_audit(monkeypatch)
    with pytest.raises(RuntimeError):
        campaign.attachments.attach(OWNER, item.id, source(inbox, "photo.png", PNG))
    assert state(db_url) == before
    assert stored(db_url, sha(PNG)) is None
    if store(db_url) is not None:
        assert not blob(db_url, sha(PNG)).parent.exists()
    assert stored(db_url, sha(PDF)) == PDF


# -- integrity: what fails its hash is reported, never served --------------------------------


def test_a_corrupted_blob_is_reported_not_served(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, CHINESE, DOCX))
    flip_a_byte(db_url, sha(DOCX))
    with pytest.raises(IntegrityError) as caught:
        campaign.attachments.data(item.id, CHINESE)
    error = caught.value
    assert isinstance(error, CampaignError)
    assert error.exit_code == 8
    assert (error.deliverable_id, error.name) == (item.id, CHINESE)
    assert CHINESE in str(error) and sha(DOCX) in str(error)
    assert "\n" not in str(error)


def test_a_grown_or_truncated_blob_is_reported(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    rewrite(db_url, sha(PDF), PDF + b"appended")
    with pytest.raises(IntegrityError):
        campaign.attachments.data(item.id, "scan.pdf")
    rewrite(db_url, sha(PDF), PDF[:-1])
    with pytest.raises(IntegrityError, match="bytes instead of"):
        campaign.attachments.data(item.id, "scan.pdf")


def test_a_missing_blob_is_reported(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    rewrite(db_url, sha(PDF), None)
    with pytest.raises(IntegrityError, match="missing") as caught:
        campaign.attachments.data(item.id, "scan.pdf")
    assert caught.value.exit_code == 8


def test_attaching_the_same_content_again_repairs_a_damaged_blob(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "scan.pdf", PDF))
    flip_a_byte(db_url, sha(PDF))
    campaign.attachments.attach(OWNER, item.id, source(inbox, "again.pdf", PDF))
    assert campaign.attachments.data(item.id, "scan.pdf") == PDF


def test_verify_still_passes_after_attachments(
    campaign: Campaign, item: DeliverableView, inbox: Path
) -> None:
    for index, (name, data, _) in enumerate(KINDS):
        actor = OWNER if index % 2 else "office1"
        campaign.attachments.attach(actor, item.id, source(inbox, name, data),
                                    name=f"{index}-{name}")
    plan = campaign.deliverables.create("office1", "implementation_plan", "实施方案",
                           content=from_text("# 实施方案\n\n正文\n"))
    campaign.attachments.attach("office1", plan.id, source(inbox, "方案.docx", DOCX))
    campaign.moves.fire("office1", plan.id, "submit")
    campaign.attachments.attach("office1", plan.id, source(inbox, "讲话稿.docx", DOCX + b"v2"))
    report = campaign.audit.verify()
    assert report.deliverables >= 2
    assert campaign.reads.get(plan.id).version == 2  # create + submit: attachments do not count
    assert campaign.reads.get(item.id).version == item.version
    assert [e.action for e in campaign.reads.history(plan.id)] == ["create", "transition"]


# -- blobs in the database (PostgreSQL, SQLite in memory) -------------------------------------


@pytest.fixture
def in_table(campaign: Campaign) -> Campaign:
    """The same engine told to keep blobs in the database, as it does for PostgreSQL."""
    campaign.attachments.directory = None
    return campaign


def test_blobs_in_the_database_are_content_addressed(
    in_table: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    in_table.attachments.attach(OWNER, item.id, source(inbox, "a.pdf", PDF))
    in_table.attachments.attach("office1", item.id, source(inbox, "b.pdf", PDF))
    in_table.attachments.attach(OWNER, item.id, source(inbox, CHINESE, DOCX))
    assert blob_rows(db_url) == {sha(PDF): PDF, sha(DOCX): DOCX}
    assert in_table.attachments.data(item.id, "b.pdf") == PDF
    assert in_table.attachments.data(item.id, CHINESE) == DOCX
    assert no_store(db_url)
    in_table.audit.verify()


def test_a_corrupted_blob_in_the_database_is_reported(
    in_table: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    in_table.attachments.attach(OWNER, item.id, source(inbox, "a.pdf", PDF))
    execute(db_url, "UPDATE attachment_blob SET content = :data", data=PDF.replace(b"1.4", b"1.7"))
    with pytest.raises(IntegrityError):
        in_table.attachments.data(item.id, "a.pdf")
    execute(db_url, "DELETE FROM attachment_blob")
    with pytest.raises(IntegrityError, match="missing"):
        in_table.attachments.data(item.id, "a.pdf")


def test_a_failure_rolls_the_database_blob_back(
    in_table: Campaign, db_url: str, item: DeliverableView, inbox: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = state(db_url)
    _fail_audit(monkeypatch)
    with pytest.raises(RuntimeError):
        in_table.attachments.attach(OWNER, item.id, source(inbox, "a.pdf", PDF))
    assert state(db_url) == before
    assert blob_rows(db_url) == {}


def test_init_creates_the_blob_table(tmp_path: Path) -> None:
    fresh = Campaign.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        fresh.deliverables.init(DEFINITIONS)
        assert inspect(fresh.store.engine).has_table("attachment_blob")
        assert inspect(fresh.store.engine).has_table("attachment")
    finally:
        fresh.store.engine.dispose()


def test_where_the_store_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_directory(make_url("sqlite:///data/camp.db")) == (
        tmp_path / "data" / "camp.attachments")
    assert store_directory(make_url("sqlite:////srv/x/campaign.db")) == Path(
        "/srv/x/campaign.attachments")
    assert store_directory(make_url("sqlite://")) is None
    assert store_directory(make_url("sqlite:///:memory:")) is None
    assert store_directory(make_url("postgresql://u@h/campaign")) is None


@pytest.mark.parametrize("url", [
    "sqlite:///file:/srv/x/campaign.db?uri=true",
    "sqlite:///file:/srv/x/campaign.db?mode=rw&uri=true",
    "sqlite:///file:///srv/x/campaign.db?uri=true",
    "sqlite:///file:/srv/x/camp%61ign.db?uri=true",
])
def test_where_the_store_is_for_a_file_uri(url: str) -> None:
    """A ``file:`` URI names the same file as a path: its query, an
    authority and percent-escapes are not part of the file's name."""
    assert store_directory(make_url(url)) == Path("/srv/x/campaign.attachments")


def test_a_memory_uri_keeps_attachments_in_the_database() -> None:
    assert store_directory(make_url("sqlite:///file:x?mode=memory&uri=true")) is None


# -- the command line -------------------------------------------------------------------------


class Run:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def __call__(self, *args: object, user: str | None = OWNER,
                 env: dict[str, str] | None = None) -> Result:
        argv = ["--db", self.db_url] + (["--as", user] if user else [])
        result = CliRunner().invoke(MAIN, argv + [str(a) for a in args], env=env)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            repr(result.exception))
        return result

    def ok(self, *args: object, user: str | None = OWNER) -> Result:
        result = self(*args, user=user)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return result

    def fails(self, code: int, *args: object, user: str | None = OWNER,
              env: dict[str, str] | None = None) -> str:
        result = self(*args, user=user, env=env)
        assert result.exit_code == code, result.output
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("campaign: "), lines
        return lines[0]


@pytest.fixture
def run(db_url: str) -> Run:
    return Run(db_url)


def test_cli_has_both_commands_and_the_global_options() -> None:
    assert {"attach", "attachments"} <= set(MAIN.commands)
    assert {p.name for p in MAIN.params} >= {"db", "user"}
    assert set(cli.main.commands) <= set(MAIN.commands)


def test_cli_attach_list_and_get(
    run: Run, db_url: str, item: DeliverableView, inbox: Path, tmp_path: Path
) -> None:
    path = source(inbox, CHINESE, DOCX)
    said = run.ok("attach", item.id, path).stdout
    assert CHINESE in said and sha(DOCX)[:12] in said
    shown = json.loads(run.ok("attach", item.id, source(inbox, "scan.pdf", PDF),
                              "--name", "扫描件.pdf", "--json").stdout)
    assert shown["name"] == "扫描件.pdf" and shown["sha256"] == sha(PDF)
    assert shown["media_type"] == "application/pdf" and shown["author"] == OWNER

    listed = json.loads(run.ok("attachments", item.id, "--json", user=None).stdout)
    assert [(a["name"], a["size"]) for a in listed] == [(CHINESE, len(DOCX)),
                                                          ("扫描件.pdf", len(PDF))]
    table = run.ok("attachments", item.id, user=None).stdout
    assert CHINESE in table and "扫描件.pdf" in table

    out = tmp_path / "取回.docx"
    said = run.ok("attachments", item.id, "--get", CHINESE, "--out", out).stdout
    assert "verified" in said
    assert out.read_bytes() == DOCX
    got = json.loads(run.ok("attachments", item.id, "--get", "扫描件.pdf", "--out",
                            tmp_path / "scan.pdf", "--json").stdout)
    assert got["out"] == str(tmp_path / "scan.pdf") and got["sha256"] == sha(PDF)
    assert (tmp_path / "scan.pdf").read_bytes() == PDF


def test_cli_get_never_overwrites_without_force(
    run: Run, item: DeliverableView, inbox: Path, tmp_path: Path
) -> None:
    run.ok("attach", item.id, source(inbox, "scan.pdf", PDF))
    out = tmp_path / "exists.pdf"
    out.write_bytes(b"mine")
    assert "--force" in run.fails(7, "attachments", item.id, "--get", "scan.pdf", "--out", out)
    assert out.read_bytes() == b"mine"
    run.ok("attachments", item.id, "--get", "scan.pdf", "--out", out, "--force")
    assert out.read_bytes() == PDF
    assert "directory" in run.fails(7, "attachments", item.id, "--get", "scan.pdf",
                                    "--out", tmp_path)
    assert "does not exist" in run.fails(7, "attachments", item.id, "--get", "scan.pdf",
                                         "--out", tmp_path / "no" / "such.pdf")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_usage_errors(run: Run, item: DeliverableView, tmp_path: Path) -> None:
    assert "--out" in run.fails(2, "attachments", item.id, "--get", "scan.pdf")
    assert "--get" in run.fails(2, "attachments", item.id, "--out", tmp_path / "x")
    run.fails(2, "attach", item.id)


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_cli_reports_a_bad_blob_with_exit_8_and_writes_nothing(
    run: Run, db_url: str, item: DeliverableView, inbox: Path, tmp_path: Path, damage: str
) -> None:
    run.ok("attach", item.id, source(inbox, "scan.pdf", PDF))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if damage == "flip":
        flip_a_byte(db_url, sha(PDF))
    else:
        rewrite(db_url, sha(PDF), None)
    line = run.fails(8, "attachments", item.id, "--get", "scan.pdf", "--out", out_dir / "s.pdf")
    assert "scan.pdf" in line and "not served" in line
    assert list(out_dir.iterdir()) == []


def test_cli_refusals_and_bad_input(
    run: Run, db_url: str, item: DeliverableView, inbox: Path, tmp_path: Path
) -> None:
    path = source(inbox, "scan.pdf", PDF)
    before = state(db_url)
    assert "permission denied" in run.fails(3, "attach", item.id, path, user="member1")
    for name in ("../x", "a/b", ".hidden", "con\x01trol"):
        run.fails(7, "attach", item.id, path, "--name", name)
    run.fails(7, "attach", item.id, source(inbox, "empty.pdf", b""))
    run.fails(6, "attach", item.id, inbox / "missing.pdf")
    line = run.fails(7, "attach", item.id, path,
                     env={"CAMPAIGN_MAX_ATTACHMENT_BYTES": "8"})
    assert "8-byte" in line
    run.fails(6, "attach", 999, path)
    run.fails(6, "attachments", 999, user=None)
    assert state(db_url)[1:] == before[1:]  # no attachment, no blob, no store
    assert state(db_url).snapshot == before.snapshot

    run.ok("attach", item.id, path)
    assert "scan.pdf" in run.fails(7, "attach", item.id, path)
    assert "not found" in run.fails(6, "attachments", item.id, "--get", "nope.pdf",
                                    "--out", tmp_path / "nope.pdf", user=None)
    assert not (tmp_path / "nope.pdf").exists()


def test_verify_rehashes_every_stored_attachment(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, CHINESE, DOCX))
    campaign.audit.verify()
    flip_a_byte(db_url, sha(DOCX))
    with pytest.raises(IntegrityError):
        campaign.audit.verify()


def test_verify_catches_an_attachment_row_swapped_for_another_file(
    campaign: Campaign, db_url: str, item: DeliverableView, inbox: Path
) -> None:
    campaign.attachments.attach(OWNER, item.id, source(inbox, "a.pdf", PDF))
    campaign.attachments.attach(OWNER, item.id, source(inbox, "b.docx", DOCX))
    # point a.pdf at b.docx's (intact) bytes
    execute(db_url, "UPDATE attachment SET sha256 = :sha, size = :size WHERE name = 'a.pdf'",
            sha=sha(DOCX), size=len(DOCX))
    with pytest.raises(AuditVerificationFailed, match=r"a\.pdf"):
        campaign.audit.verify()
