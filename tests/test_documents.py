"""Review documents: diffs between revisions (against the one a reviewer last
saw), review opinions (who may give them, on which line, how they are audited
and shown), and the content check that tells what submitting would refuse."""

from __future__ import annotations

import copy
import hashlib
import json
from functools import partial
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from conftest import snapshot
from drive import refused

import cli
from workflow import Campaign, from_text
from workflow.cli.commands.documents import COMMANDS as DOCUMENT_COMMANDS
from workflow.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflow.spec.content import Content

# A self-review material with the four analyses and the measures (content_complete).
V1 = """# 张副主席对照检查材料

一、存在的主要问题
深入基层调研不够。
二、具体表现
下基层次数少。
三、主观原因
宗旨意识淡化。
四、思想根源
理论学习不够系统。
五、努力方向和改进措施
每月下基层不少于五天。
"""
V2 = V1.replace("下基层次数少。", "下基层次数少，调研走马观花。")
V3 = V2 + "六、其他\n按期完成整改。\n"
INCOMPLETE = "# 张副主席对照检查材料\n\n一、存在的主要问题\n调研不够。\n二、具体表现\n次数少。\n"
MEETING = """# 专题民主生活会方案

一、征求意见
召开座谈会征求意见。
二、谈心谈话
班子成员之间开展谈心谈话。
三、情况通报
会后向党员干部通报情况。
会议时间：1天
"""
REASON = "具体表现不够具体"
EVENT_FIELDS = {"seq", "actor", "role", "action", "trigger", "source", "dest", "comment",
                "revision", "at", "prev_hash", "hash"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the command line, with the document commands registered -----------------------------


def document_app() -> click.Group:
    """``cli.main`` with the document commands added, leaving ``cli.main`` itself untouched."""
    group = copy.copy(cli.main)
    group.commands = dict(cli.main.commands)
    for command in DOCUMENT_COMMANDS:
        group.add_command(command)
    return group


APP = document_app()


class Run:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def __call__(self, *args: object, user: str | None = None) -> Result:
        argv = ["--db", self.db_url] + (["--as", user] if user else []) + [str(a) for a in args]
        result = CliRunner().invoke(APP, argv)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            repr(result.exception))
        return result

    def ok(self, *args: object, user: str | None = None) -> str:
        result = self(*args, user=user)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: object, user: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", user=user))

    def fails(self, code: int, *args: object, user: str | None = None) -> str:
        result = self(*args, user=user)
        assert result.exit_code == code, result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("campaign: "), lines
        return lines[0]


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapping of long cells
    return Run(db_url)


# -- set-ups -----------------------------------------------------------------------------


def three_revisions(campaign: Campaign) -> int:
    """leader1's material: v1 submitted and returned by principal1, then v2 and v3."""
    item = campaign.deliverables.create("leader1", "self_review", "张副主席对照检查材料",
                           content=from_text(V1))
    campaign.moves.fire("leader1", item.id, "submit")
    campaign.moves.fire("principal1", item.id, "return", REASON)
    campaign.deliverables.revise("leader1", item.id, from_text(V2))
    campaign.deliverables.revise("leader1", item.id, from_text(V3))
    campaign.moves.fire("leader1", item.id, "submit")
    return item.id


# -- diffs -------------------------------------------------------------------------------


def test_diff_by_default_compares_the_previous_revision_with_the_latest(
    campaign: Campaign, run: Run
) -> None:
    item = three_revisions(campaign)
    result = campaign.documents.diff(item)
    assert result.from_revision is not None
    assert (result.from_revision.number, result.to_revision.number) == (2, 3)
    assert result.basis == "previous" and result.text and not result.identical
    assert "+六、其他" in result.lines and "+按期完成整改。" in result.lines
    assert result.lines[0] == "--- revision 2 (content.md)"
    assert not any(line.startswith("-") and not line.startswith("---")
                   for line in result.lines)

    out = run.ok("diff", item)
    assert out.splitlines()[0] == f"#{item} revisions 2 → 3 (against the previous revision)"
    assert "+按期完成整改。" in out
    # The owner's own last event carries the latest revision: nothing older to go back to.
    assert run.ok("diff", item, user="leader1") == out


def test_diff_explicit_revisions(campaign: Campaign, run: Run) -> None:
    item = three_revisions(campaign)
    out = run.ok("diff", item, "--from", 1, "--to", 2)
    assert out.splitlines()[0] == f"#{item} revisions 1 → 2 (as asked)"
    assert "-下基层次数少。" in out and "+下基层次数少，调研走马观花。" in out
    assert "六、其他" not in out
    # --from alone ends at the latest; --to alone starts at the one before it.
    assert campaign.documents.diff(item, 1).to_revision.number == 3
    only_to = campaign.documents.diff(item, to_n=2)
    assert only_to.from_revision is not None and only_to.from_revision.number == 1
    # Backwards is allowed too; the same revision twice shows no change.
    assert "-六、其他" in run.ok("diff", item, "--from", 3, "--to", 1)
    assert run.ok("diff", item, "--from", 2, "--to", 2).splitlines()[1] == "no changes"

    data = run.json("diff", item, "--from", 1, "--to", 3)
    assert data["from_revision"]["sha256"] == sha(V1)
    assert data["to_revision"]["sha256"] == sha(V3)
    assert (data["basis"], data["text"], data["identical"]) == ("explicit", True, False)
    assert "+六、其他" in data["lines"]

    assert "revision of deliverable" in run.fails(6, "diff", item, "--from", 9)
    run.fails(6, "diff", 999)


def test_a_reviewer_sees_the_diff_since_the_revision_they_last_reviewed(
    campaign: Campaign, run: Run
) -> None:
    item = three_revisions(campaign)
    # principal1 returned revision 1; revisions 2 and 3 came after.
    result = campaign.documents.diff(item, reader="principal1")
    assert result.basis == "last_reviewed"
    assert result.from_revision is not None and result.from_revision.number == 1
    assert result.to_revision.number == 3
    assert result.reason == "since the revision you last reviewed, 1"

    out = run.ok("diff", item, user="principal1")
    assert out.splitlines()[0] == (
        f"#{item} revisions 1 → 3 (since the revision you last reviewed, 1)")
    assert "-下基层次数少。" in out and "+六、其他" in out
    # Someone who never acted on it sees the previous revision's changes.
    assert campaign.documents.diff(item, reader="sup1").basis == "previous"
    # An explicit --from wins over the reader's history.
    assert campaign.documents.diff(item, 2, reader="principal1").basis == "explicit"

    # Once principal1 has acted on the latest revision, they are up to date.
    campaign.moves.fire("principal1", item, "forward")
    assert campaign.documents.diff(item, reader="principal1").basis == "previous"


def test_a_comment_on_an_older_revision_counts_as_having_read_it(campaign: Campaign) -> None:
    item = three_revisions(campaign)
    campaign.documents.add_opinion("sup1", item, "第二稿仍需充实", revision=2)
    result = campaign.documents.diff(item, reader="sup1")
    assert result.basis == "last_reviewed"
    assert result.from_revision is not None and result.from_revision.number == 2


def test_the_first_revision_diffs_against_nothing(campaign: Campaign, run: Run) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "初稿", content=from_text(V1)).id
    result = campaign.documents.diff(item)
    assert result.from_revision is None and result.basis == "first"
    assert all(line.startswith("+") for line in result.lines[2:] if not line.startswith("@@"))
    assert run.ok("diff", item).splitlines()[0] == (
        f"#{item} revision 1 (the first revision: nothing before it)")
    empty = campaign.deliverables.create("leader1", "self_review", "无正文").id
    assert "no content" in run.fails(4, "diff", empty)


def test_a_non_text_revision_shows_size_and_hash(campaign: Campaign, run: Run) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "扫描件",
                                        content=from_text(V1)).id
    scan = Content("扫描件.pdf", "application/pdf", b"%PDF-1.4\n\x00\x01binary\n%%EOF\n")
    campaign.deliverables.revise("leader1", item, scan)
    result = campaign.documents.diff(item)
    assert not result.text and result.lines == ()
    out = run.ok("diff", item)
    assert f"revision 1: content.md (text/markdown), {len(V1.encode())} bytes, " \
           f"sha256 {sha(V1)}" in out
    assert f"revision 2: 扫描件.pdf (application/pdf), {len(scan.data)} bytes, " \
           f"sha256 {scan.sha256}" in out
    assert "content differs" in out
    assert "%PDF" not in out


# -- opinions ----------------------------------------------------------------------------


def test_participants_may_give_opinions(campaign: Campaign, run: Run) -> None:
    item = three_revisions(campaign)
    # owner, office, and every role of the self-review flow (member, branch may object).
    for user in ("leader1", "office2", "principal2", "sup1", "member1", "branch1"):
        opinion = campaign.documents.add_opinion(user, item, f"{user} 的意见")
        assert (opinion.author, opinion.revision_number) == (user, 3)
    assert run.json("comment", item, "--text", "请补充数据", user="sup2")["author"] == "sup2"


def test_outsiders_may_not_give_opinions(campaign: Campaign, db_url: str, run: Run) -> None:
    # The meeting plan's flow involves only office, principal and supervisors.
    item = campaign.deliverables.create("office1", "meeting_plan", "民主生活会方案",
                           content=from_text(MEETING)).id
    for user in ("branch1", "member1", "leader1"):
        error = refused(campaign, db_url, PermissionDenied,
                        partial(campaign.documents.add_opinion, user, item, "看看"), actor=user)
        assert "office, principal, supervisor" in str(error)
    line = run.fails(3, "comment", item, "--text", "看看", user="branch1")
    assert "permission denied: branch1 may not comment" in line
    assert campaign.audit.refusals()[-1].action == "comment"
    # Those who take part may.
    for user in ("office1", "office2", "principal1", "sup1"):
        campaign.documents.add_opinion(user, item, "同意")
    assert len(campaign.documents.opinions(item)) == 4


def test_opinion_lines_must_exist_in_their_revision(
    campaign: Campaign, db_url: str, run: Run
) -> None:
    item = three_revisions(campaign)
    lines_v1, lines_v3 = len(V1.splitlines()), len(V3.splitlines())
    assert lines_v3 > lines_v1
    for line in (0, -1, lines_v3 + 1):
        refused(campaign, db_url, InvalidInput,
                partial(campaign.documents.add_opinion, "principal1", item, "x", line=line))
    # A line of revision 3 that revision 1 does not have.
    error = refused(campaign, db_url, InvalidInput, lambda: campaign.documents.add_opinion(
        "principal1", item, "x", line=lines_v3, revision=1))
    assert f"line {lines_v3} does not exist in revision 1 (it has {lines_v1} lines)" in str(error)
    refused(campaign, db_url, NotFound,
            lambda: campaign.documents.add_opinion("principal1", item, "x", revision=7))
    refused(campaign, db_url, InvalidInput,
            lambda: campaign.documents.add_opinion("principal1", item, "   "))
    run.fails(7, "comment", item, "--text", "x", "--line", 99, user="principal1")
    run.fails(6, "comment", item, "--text", "x", "--revision", 9, user="principal1")

    first = campaign.documents.add_opinion("principal1", item, "首行标题可更具体", line=1,
                                           revision=1)
    last = campaign.documents.add_opinion("principal1", item, "末行", line=lines_v3)
    assert (first.revision_number, first.line, first.revision_sha) == (1, 1, sha(V1))
    assert (last.revision_number, last.line, last.revision_sha) == (3, lines_v3, sha(V3))
    out = run.ok("comment", item, "--text", "第二行", "--line", 2, user="sup1")
    assert "on revision 3, line 2" in out


def test_no_line_opinions_on_a_non_text_revision_and_none_without_content(
    campaign: Campaign, db_url: str
) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "扫描件",
                                        content=from_text(V1)).id
    campaign.deliverables.revise("leader1", item, Content("scan.pdf", "application/pdf",
                                                          b"%PDF-1.4\n"))
    refused(campaign, db_url, InvalidInput,
            lambda: campaign.documents.add_opinion("principal1", item, "x", line=1))
    assert campaign.documents.add_opinion("principal1", item, "扫描件不清晰").revision_number == 2
    empty = campaign.deliverables.create("leader1", "self_review", "无正文").id
    refused(campaign, db_url, TransitionNotAllowed,
            lambda: campaign.documents.add_opinion("principal1", empty, "x"))


def test_an_opinion_is_audited_and_verify_still_passes(campaign: Campaign) -> None:
    item = three_revisions(campaign)
    before = campaign.reads.get(item)
    opinion = campaign.documents.add_opinion("sup1", item, "第三部分要深挖", line=4)
    after = campaign.reads.get(item)
    assert after.version == before.version and after.state == before.state
    event = campaign.reads.history(item)[-1]
    assert opinion.event_seq == event.seq
    assert (event.action, event.actor, event.role) == ("opinion.add", "sup1", "supervisor")
    assert (event.source, event.dest, event.comment) == ("review", "review", "第三部分要深挖")
    assert event.revision == sha(V3)
    assert json.loads(event.detail or "{}") == {"revision": 3, "line": 4}
    report = campaign.audit.verify()
    assert report.events == len(campaign.audit.events())


def test_finding_6_a_remark_leaves_the_version_so_if_version_still_holds(
        campaign: Campaign) -> None:
    """Issue 9, finding 6: the version is the optimistic lock on what moves a
    deliverable; an opinion moves nothing, so a move prepared before it goes through."""
    item = three_revisions(campaign)
    before = campaign.reads.get(item).version
    campaign.documents.add_opinion("sup1", item, "第三部分要深挖")
    campaign.documents.add_opinion("office1", item, "格式规范")
    campaign.moves.fire("principal1", item, "forward", expected_version=before)
    with pytest.raises(Conflict):  # a real move still makes a stale version conflict
        campaign.moves.fire("sup1", item, "approve", "同意", expected_version=before)
    campaign.audit.verify()


def test_returns_quote_their_reason_and_opinions_come_in_order(campaign: Campaign) -> None:
    item = three_revisions(campaign)
    campaign.documents.add_opinion("office1", item, "格式规范")
    opinions = campaign.documents.opinions(item)
    assert [(o.author, o.text, o.revision_number) for o in opinions] == [
        ("principal1", REASON, 1), ("office1", "格式规范", 3)]
    returned = next(e for e in campaign.reads.history(item) if e.trigger == "return")
    assert opinions[0].event_seq == returned.seq
    with pytest.raises(NotFound):
        campaign.documents.opinions(999)


def test_opinions_are_shown_by_show_and_history(campaign: Campaign, run: Run) -> None:
    item = three_revisions(campaign)
    run.ok("comment", item, "--text", "第5行：表述不准确", "--line", 5, user="sup1")

    shown = run.json("show", item)
    assert shown["version"] == campaign.reads.get(item).version and "next" in shown
    assert [(o["author"], o["text"], o["line"]) for o in shown["opinions"]] == [
        ("principal1", REASON, None), ("sup1", "第5行：表述不准确", 5)]
    assert shown["opinions"][1]["revision_sha"] == sha(V3)

    events = run.json("history", item)
    for event in events:
        assert event.keys() >= EVENT_FIELDS | {"opinions"}
    by_action = {(e["action"], e["trigger"]): e["opinions"] for e in events}
    assert [o["text"] for o in by_action[("transition", "return")]] == [REASON]
    assert [o["text"] for o in by_action[("opinion.add", None)]] == ["第5行：表述不准确"]
    assert by_action[("create", None)] == []

    text_show = run.ok("show", item)
    assert "Opinions on" in text_show and REASON in text_show and "第5行：表述不准确" in text_show
    text_history = run.ok("history", item)
    assert "opinion.add" in text_history and "第5行：表述不准确" in text_history


def test_show_lists_no_opinions_when_there_are_none(campaign: Campaign, run: Run) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "初稿", content=from_text(V1)).id
    assert run.json("show", item)["opinions"] == []
    assert "Opinions on" not in run.ok("show", item)


# -- the content check -------------------------------------------------------------------


def test_check_names_the_missing_sections_without_submitting(
    campaign: Campaign, db_url: str, run: Run
) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "未完成",
                                        content=from_text(INCOMPLETE)).id
    missing = campaign.documents.check_content(item)
    assert [s.label for s in missing] == ["主观原因", "思想根源", "努力方向和改进措施"]

    before = snapshot(db_url)
    result = run("check", item)
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        f"campaign: deliverable {item} lacks 3 required sections: "
        "主观原因、思想根源、努力方向和改进措施"]
    for label in ("主观原因", "思想根源", "努力方向和改进措施"):
        assert label in result.stdout
    data = json.loads(run("check", item, "--json").stdout)
    assert data["complete"] is False
    assert [m["name"] for m in data["missing"]] == [
        "subjective_causes", "ideological_roots", "measures"]
    assert len(data["required"]) == 5
    assert snapshot(db_url) == before  # a check writes nothing

    # Submitting refuses with the same sections.
    with pytest.raises(TransitionNotAllowed, match="主观原因、思想根源、努力方向和改进措施"):
        campaign.moves.fire("leader1", item, "submit")

    campaign.deliverables.revise("leader1", item, from_text(V1))
    assert campaign.documents.check_content(item) == []
    assert run.ok("check", item) == (
        f"#{item} complete: every required section present (5)\n")
    assert run.json("check", item)["complete"] is True
    campaign.moves.fire("leader1", item, "submit")


def test_check_patterns_and_missing_content(campaign: Campaign, run: Run) -> None:
    item = campaign.deliverables.create("office1", "meeting_plan", "方案",
                           content=from_text(MEETING.replace("会议时间：1天", "会议时间：半天"))).id
    assert [s.name for s in campaign.documents.check_content(item)] == ["duration"]
    campaign.deliverables.revise("office1", item, from_text(MEETING))
    run.ok("check", item)
    empty = campaign.deliverables.create("leader1", "self_review", "无正文").id
    assert len(campaign.documents.check_content(empty)) == 5
    assert "lacks 5 required sections" in run.fails(4, "check", empty)
    run.fails(6, "check", 999)
