"""The publicity notice (公示) and the dossier (档案): what they contain, that
every value is escaped, and that a dossier never claims a log that does not
verify is valid."""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from drive import at_day
from plan_helpers import drop_append_only, execute

import cli
from workflow import Campaign, from_text
from workflow.cli.commands.documents import COMMANDS as DOCUMENT_COMMANDS
from workflow.errors import InvalidInput, TransitionNotAllowed
from workflow.render import dossier, notices
from workflow.render.diagram_style import PATH_COLOUR
from workflow.render.local_time import local_day, local_time
from workflow.render.notice_wording import cn_date
from workflow.spec.content import Content

V1 = """# 对照检查材料

一、存在的主要问题
深入基层调研不够。
二、具体表现
下基层次数少。
三、主观原因
宗旨意识淡化。
四、思想根源
理论学习不够系统。
五、努力方向和改进措施
每月下基层不少于**五天**。
"""
V2 = V1.replace("下基层次数少。", "下基层次数少，调研走马观花。")
REASON = "具体表现不够具体"
OPINION = "第二部分的数字请核实"
TITLE = "张副主席对照检查材料"
#: The Dragon Boat Festival holiday (a Monday): the five working days are 06-03 … 06-09.
APPROVED_ON = date(2014, 6, 2)
OBJECTED_ON = date(2014, 6, 4)
APPROVED_AGAIN_ON = date(2014, 6, 10)  # a Tuesday: 06-10 … 06-16
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz `dot` is not installed (run `make setup`)")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_app() -> click.Group:
    """``cli.main`` with the document commands added, leaving ``cli.main`` itself untouched."""
    group = copy.copy(cli.main)
    group.commands = dict(cli.main.commands)
    for command in DOCUMENT_COMMANDS:
        group.add_command(command)
    return group


APP = document_app()


Invoke = Callable[..., Result]


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    for name in ("CAMPAIGN_DB", "CAMPAIGN_USER", "CAMPAIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: object, user: str | None = None) -> Result:
        argv = ["--db", db_url] + (["--as", user] if user else []) + [str(a) for a in args]
        result = CliRunner().invoke(APP, argv)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            repr(result.exception))
        return result

    return invoke


def in_publicity(campaign: Campaign, title: str = TITLE, content: str = V2) -> int:
    """Returned once with a reason, revised, approved on 2014-06-02, objected to on
    06-04, approved again on 06-10, with an opinion on a line: now in publicity."""
    item = campaign.deliverables.create("leader1", "self_review", title, content=from_text(V1)).id
    campaign.moves.fire("leader1", item, "submit")
    campaign.moves.fire("principal1", item, "return", REASON)
    campaign.deliverables.revise("leader1", item, from_text(content))
    campaign.moves.fire("leader1", item, "submit")
    campaign.documents.add_opinion("sup1", item, OPINION, line=5)
    campaign.moves.fire("principal1", item, "forward")
    at_day(campaign, APPROVED_ON).moves.fire("sup1", item, "approve", "同意公示")
    at_day(campaign, OBJECTED_ON).moves.object_to("member1", item, "群众反映调研流于形式")
    campaign.moves.fire("principal1", item, "forward")
    at_day(campaign, APPROVED_AGAIN_ON).moves.fire("sup1", item, "approve", "同意公示")
    assert campaign.reads.get(item).state == "publicity"
    return item


# -- the dossier -----------------------------------------------------------------------------


@needs_dot
def test_the_dossier_holds_the_whole_record(campaign: Campaign) -> None:
    item = in_publicity(campaign)
    html, verified = dossier.dossier(campaign, item)
    assert verified
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in html and '<meta charset="utf-8">' in html
    assert "Noto Sans CJK SC" in html and "@media print" in html
    # Self-contained: no external style sheets, scripts or images.
    assert not re.search(r"<(link|script|img)\b", html)
    assert "http://" not in html.split("<svg", 1)[0]

    # The final content, rendered from markdown.
    assert "调研走马观花" in html and "<strong>五天</strong>" in html
    # Every revision with its author and sha256.
    for revision in campaign.reads.revisions(item):
        # Shown in the campaign's zone, to the second (not UTC with microseconds).
        assert revision.sha256 in html and local_time(revision.at, seconds=True) in html
    assert "张副主席（leader1）" in html
    # The change between revisions, collapsible.
    assert "<details><summary>修订 1 → 2（+1 −1）</summary>" in html
    assert '<span class="del">-下基层次数少。</span>' in html
    assert '<span class="add">+下基层次数少，调研走马观花。</span>' in html
    # The opinions: the return's reason, the objection, the one on a line.
    for opinion in campaign.documents.opinions(item):
        assert opinion.text in html
    assert {o.text for o in campaign.documents.opinions(item)} >= {REASON, OPINION,
                                                                   "群众反映调研流于形式"}
    # The whole audit trail of the deliverable, with its hashes.
    for event in campaign.reads.history(item):
        assert f"<td>{event.seq}</td>" in html
        assert event.hash in html and event.prev_hash in html
    assert "opinion.add" in html
    # The verification verdict.
    report = campaign.audit.verify()
    assert "verification passed" in html and report.head is not None and report.head in html
    assert "FAILED" not in html
    # The publicity windows: the one ended by the objection, the open one.
    assert "2014-06-02" in html and "2014-06-09" in html and "有异议" in html
    assert "2014-06-10" in html and "公示中" in html
    # The diagram, inline, with the path taken drawn in the path colour.
    assert '<div class="diagram"><svg' in html and "<?xml" not in html
    assert PATH_COLOUR in html


@needs_dot
def test_dossier_command_writes_the_file(campaign: Campaign, run: Invoke, tmp_path: Path
                                         ) -> None:
    item = in_publicity(campaign)
    out = tmp_path / "dossier.html"
    result = run("dossier", item, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}\n" and result.stderr == ""
    text = out.read_text(encoding="utf-8")
    assert "verification passed" in text and TITLE in text
    assert run("dossier", item).exit_code == 2  # --out is required
    assert run("dossier", 999, "--out", out).exit_code == 6


@needs_dot
def test_a_tampered_log_gives_a_failed_banner_and_exit_8(
    campaign: Campaign, db_url: str, run: Invoke, tmp_path: Path
) -> None:
    item = in_publicity(campaign)
    returned = next(e for e in campaign.reads.history(item) if e.trigger == "return")
    drop_append_only(db_url)
    execute(db_url, "UPDATE audit_event SET comment = '已修改' WHERE seq = :seq", seq=returned.seq)

    html, verified = dossier.dossier(campaign, item)
    assert not verified
    assert '<div class="verdict failed" role="alert">' in html
    assert "verification FAILED" in html and f"event {returned.seq}" in html
    assert "verification passed" not in html
    assert "<title>verification FAILED" in html

    out = tmp_path / "tampered.html"
    result = run("dossier", item, "--out", out)
    assert result.exit_code == 8
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("campaign: audit verification failed")
    assert "verification FAILED" in out.read_text(encoding="utf-8")


@needs_dot
def test_a_non_text_final_revision_is_described(campaign: Campaign) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "扫描件",
                                        content=from_text(V1)).id
    scan = Content("扫描件.pdf", "application/pdf", b"%PDF-1.4\n<script>x</script>\n")
    campaign.deliverables.revise("leader1", item, scan)
    html, verified = dossier.dossier(campaign, item)
    assert verified
    assert f"{len(scan.data)} 字节" in html and scan.sha256 in html
    assert "<script" not in html
    assert "非文本：比较大小与哈希" in html


@needs_dot
def test_a_deliverable_without_content_still_has_a_dossier(campaign: Campaign) -> None:
    item = campaign.deliverables.create("leader1", "self_review", "无正文").id
    html, verified = dossier.dossier(campaign, item)
    assert verified and "尚无正文" in html and "只有一个修订" in html


# -- the notice --------------------------------------------------------------------------------


def test_notice_in_html(campaign: Campaign, run: Invoke) -> None:
    item = in_publicity(campaign)
    window = campaign.reads.windows(item)[-1]
    assert (window.opened_on, window.closes_on) == (APPROVED_AGAIN_ON, date(2014, 6, 16))
    html = notices.notice(campaign, item, "html")
    assert f"<h1>关于《{TITLE}》的公示</h1>" in html
    assert '<html lang="zh-CN">' in html and '<meta charset="utf-8">' in html
    assert "公示期：自2014年6月10日至2014年6月16日（5个工作日）。" in html
    # The approved content, its headings below the notice's own.
    assert "<h2>对照检查材料</h2>" in html and "<strong>五天</strong>" in html
    assert "调研走马观花" in html
    # Not in a campaign: the neutral defaults, a placeholder issuer, no command to run.
    assert "<p>公示期间（至2014年6月16日止），如有意见或异议，请向发布单位反映" in html
    assert "campaign object" not in html and "<code>" not in html
    assert '<div class="signature"><p>（发布单位）</p><p>2014年6月10日</p></div>' in html
    assert "中共绵阳市总工会党组" not in html
    assert "<p>2014年6月10日</p>" in html  # issued the day the window opened
    assert not re.search(r"<(link|script|img)\b", html)

    result = run("notice", item)
    assert result.exit_code == 0 and result.stdout == html


def test_notice_in_markdown(campaign: Campaign, run: Invoke, tmp_path: Path) -> None:
    item = in_publicity(campaign)
    text = notices.notice(campaign, item, "markdown")
    assert text.startswith(f"# 关于《{TITLE}》的公示\n")
    assert "**公示期：自2014年6月10日至2014年6月16日（5个工作日）。**" in text
    assert "## 对照检查材料" in text and "每月下基层不少于**五天**。" in text
    assert "campaign object" not in text and "`" not in text.split("---")[-1]
    assert text.rstrip().endswith("（发布单位）\n\n2014年6月10日")

    out = tmp_path / "notice.md"
    result = run("notice", item, "--format", "markdown", "--out", out)
    assert result.exit_code == 0 and result.stdout == f"wrote {out}\n"
    assert out.read_text(encoding="utf-8") == text
    assert run("notice", item, "--format", "pdf").exit_code == 2
    with pytest.raises(InvalidInput):
        notices.notice(campaign, item, "pdf")


def test_no_notice_before_publicity(campaign: Campaign, run: Invoke) -> None:
    item = campaign.deliverables.create("leader1", "self_review", TITLE, content=from_text(V1)).id
    campaign.moves.fire("leader1", item, "submit")
    with pytest.raises(TransitionNotAllowed, match="never entered publicity"):
        notices.notice(campaign, item, "html")
    result = run("notice", item, "--format", "markdown")
    assert result.exit_code == 4 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"campaign: not allowed: deliverable {item}: it has never entered publicity: "
        "there is nothing to post"]
    assert run("notice", 999).exit_code == 6


def test_a_notice_after_publicity_keeps_its_window(campaign: Campaign) -> None:
    item = in_publicity(campaign)
    at_day(campaign, date(2014, 6, 18)).moves.fire("office1", item, "archive")
    assert "自2014年6月10日至2014年6月16日" in notices.notice(campaign, item, "markdown")


# -- escaping ------------------------------------------------------------------------------------


@needs_dot
def test_every_value_is_escaped(campaign: Campaign) -> None:
    title = '<script>alert("标题")</script>&'
    content = V2 + "\n<script>alert('正文')</script>\n[点我](javascript:alert(1))\n"
    item = in_publicity(campaign, title=title, content=content)
    campaign.documents.add_opinion("sup1", item, "<img src=x onerror=alert(1)>")

    html, verified = dossier.dossier(campaign, item)
    notice = notices.notice(campaign, item, "html")
    for page in (html, notice):
        assert "<script" not in page and "<img" not in page
        assert 'href="javascript:' not in page
        assert "&lt;script&gt;alert(&quot;标题&quot;)&lt;/script&gt;&amp;" in page
        # markdown-it leaves quotes in text alone; the angle brackets are what matter.
        assert re.search(r"&lt;script&gt;alert\((&#x27;|')正文(&#x27;|')\)&lt;/script&gt;",
                         page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert verified

    markdown = notices.notice(campaign, item, "markdown")
    assert markdown.startswith('# 关于《\\<script\\>alert("标题")\\</script\\>&》的公示')


def test_a_briefing_without_a_window_is_dated_the_day_it_was_made(campaign: Campaign) -> None:
    """The meeting plan's "publicity" is a briefing (通报) with no window to object in."""
    plan = ("# 专题民主生活会方案\n\n一、征求意见\n座谈。\n二、谈心谈话\n谈心。\n"
            "三、情况通报\n通报。\n会议时间：1天\n")
    item = campaign.deliverables.create("office1", "meeting_plan", "民主生活会方案",
                           content=from_text(plan)).id
    campaign.moves.fire("office1", item, "submit")
    campaign.moves.fire("principal1", item, "forward")
    campaign.moves.fire("sup1", item, "approve")
    assert campaign.reads.windows(item) == []
    text = notices.notice(campaign, item, "markdown")
    assert text.startswith("# 关于《民主生活会方案》的通报\n")
    day = local_day(campaign.reads.history(item)[-1].at)
    assert f"通报日期：{cn_date(day)}。" in text
    assert "campaign object" not in text
