"""Findings 13 and 14 of issue 9: Word files as content, and a publicity notice
that is the campaign's own, with windows counted on the official calendar.

Word files are made here with python-docx.  Dates are written out by hand
from the State Council's 2014 holiday notice: National Day off 10-01 … 10-07,
with Sunday 09-28 and Saturday 10-11 worked; Spring Festival off 01-31 …
02-06, with Sunday 01-26 and Saturday 02-08 worked.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import docx
import pytest
from click.testing import CliRunner
from conftest import snapshot
from drive import SPECS, at_day, drive, window_last_day
from plan_helpers import PLAN, STANDARD, STARTER, drive_to, open_db, query, roster

import cli
from workflow import Campaign, read_content
from workflow.errors import InvalidInput, TransitionNotAllowed
from workflow.machine import publicity
from workflow.render import content_html, notices
from workflow.render.notice_wording import cn_date
from workflow.spec.content import DOCX, MAX_BYTES, check
from workflow.spec.loader import parse_plan

#: The four analyses as Word headings (Word numbers them: no 一、 in the text);
#: the measures in a table cell, as a form would hold them.
HEADINGS = ("存在的主要问题", "具体表现", "主观原因", "思想根源")
MANIFESTATION = "下基层次数少。"
SHARPER = "下基层次数少，调研走马观花。"
MONDAY = date(2014, 6, 16)


def word_file(path: Path, *, headings: tuple[str, ...] = HEADINGS,
              manifestation: str = MANIFESTATION) -> Path:
    document = docx.Document()
    document.add_heading("对照检查材料", 0)
    for heading in headings:
        document.add_heading(heading, 1)
        document.add_paragraph(manifestation if heading == "具体表现" else "深入基层调研不够。")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "五、努力方向和改进措施"
    table.cell(0, 1).text = "每月下基层不少于五天。"
    document.save(path)
    return path


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def working_days(first: date, last: date) -> int:
    """Counted with the calendar library itself, not the engine."""
    return sum(chinese_calendar.is_workday(first + timedelta(days=n))
               for n in range((last - first).days + 1))


def approve_on(campaign: Campaign, day: date, type_id: str = "self_review") -> int:
    item = drive(campaign, type_id, "supervisor_approval", owner="leader1")
    at_day(campaign, day).moves.fire("sup1", item.id, "approve", "同意公示")
    return item.id


# -- finding 13: Word files ------------------------------------------------------------------


def test_finding_13_word_file_content_is_stored_and_its_text_checked(
    campaign: Campaign, tmp_path: Path
) -> None:
    first = word_file(tmp_path / "材料.docx")
    content = read_content(first)
    assert (content.filename, content.media_type) == ("材料.docx", DOCX)
    assert content.data == first.read_bytes()  # the original, byte for byte

    # The section check reads the extracted text: headings and a table cell count.
    lacking = campaign.deliverables.create("leader1", "self_review", "缺一项",
                              content=read_content(word_file(tmp_path / "缺.docx",
                                                             headings=HEADINGS[:3])))
    assert [s.label for s in campaign.documents.check_content(lacking.id)] == ["思想根源"]
    with pytest.raises(TransitionNotAllowed, match="思想根源"):
        campaign.moves.fire("leader1", lacking.id, "submit")

    item = campaign.deliverables.create("leader1", "self_review", "张副主席对照检查材料",
                                        content=content)
    assert campaign.documents.check_content(item.id) == []
    (revision,) = campaign.reads.revisions(item.id)
    assert (revision.media_type, revision.sha256, revision.size) == (
        DOCX, content.sha256, len(content.data))
    assert campaign.reads.content(item.id) == first.read_bytes()
    campaign.moves.fire("leader1", item.id, "submit")
    assert campaign.reads.get(item.id).state == "review"

    # The diff and line numbers are those of the text.
    campaign.moves.fire("principal1", item.id, "return", "具体表现不够具体")
    second = word_file(tmp_path / "材料2.docx", manifestation=SHARPER)
    campaign.deliverables.revise("leader1", item.id, read_content(second))
    diff = campaign.documents.diff(item.id)
    assert diff.text and f"-{MANIFESTATION}" in diff.lines and f"+{SHARPER}" in diff.lines
    text = content.text
    assert "# 具体表现" in text.splitlines() and "五、努力方向和改进措施" in text
    line = text.splitlines().index(MANIFESTATION) + 1
    campaign.documents.add_opinion("principal1", item.id, "请写具体", line=line, revision=1)
    with pytest.raises(InvalidInput, match=f"has {len(text.splitlines())} lines"):
        campaign.documents.add_opinion("principal1", item.id, "无此行", line=999)

    # The dossier and the notice show the text, escaped.
    latest = campaign.reads.revisions(item.id)[-1]
    html = content_html.render_content(latest, campaign.reads.content(item.id))
    assert html.startswith('<div class="plain">') and SHARPER in html


def test_finding_13_a_word_file_through_the_command_line(db_url: str, tmp_path: Path) -> None:
    def new(path: Path) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli.main, [
            "--db", db_url, "--as", "leader1", "new", "self_review", "--title", "材料",
            "--content", str(path)])
        assert "Traceback" not in result.output
        return result.exit_code, result.stdout, result.stderr

    code, _, stderr = new(word_file(tmp_path / "材料.docx"))
    assert code == 0, stderr
    broken = tmp_path / "坏.docx"
    broken.write_bytes(b"not a zip at all")
    code, stdout, stderr = new(broken)
    assert (code, stdout) == (7, "")
    assert stderr.splitlines() == [
        "campaign: 坏.docx: not a Word (.docx) file: not a zip archive"]


def test_finding_13_word_files_are_bounded_like_other_content(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a Word"):
        check("a.docx", b"PK\x03\x04 truncated")
    with pytest.raises(InvalidInput, match="not a readable Word"):
        check("a.docx", zipped({"hello.txt": b"hi"}))  # a zip, but no Word document
    with pytest.raises(InvalidInput, match="old Word"):
        check("a.doc", b"\xd0\xcf\x11\xe0")
    # A zip bomb: tens of KiB that would inflate to 40 MiB, refused before inflating.
    bomb = zipped({"[Content_Types].xml": b"<x/>", "word/document.xml": bytes(40 << 20)})
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInput, match="inflate"):
        check("bomb.docx", bomb)
    with pytest.raises(InvalidInput, match="limit"):
        check("big.docx", bytes(MAX_BYTES + 1))
    # The text is capped at the same limit as the file: a small file of much text.
    document = docx.Document()
    document.add_paragraph("无" * 40_000)
    buffer = io.BytesIO()
    document.save(buffer)
    assert len(buffer.getvalue()) < 60_000
    with pytest.raises(InvalidInput, match="over 60000 bytes of text"):
        check("long.docx", buffer.getvalue(), limit=60_000)
    empty = docx.Document()
    empty.save(tmp_path / "空.docx")
    with pytest.raises(InvalidInput, match="no text"):
        read_content(tmp_path / "空.docx")


# -- finding 14: the notice ------------------------------------------------------------------


def plan_notice(c: Campaign, fmt: str = "html") -> tuple[int, str]:
    """A self-review of the started campaign approved on a Monday, and its notice."""
    (item, *_) = c.reads.deliverables("self_review")
    at_day(c, MONDAY)
    drive_to(c, item.id, "publicity")
    return item.id, notices.notice(c, item.id, fmt)


def test_finding_14_notice_issuer_comes_from_the_plan(
    c: Campaign, campaign: Campaign, empty_db: str, tmp_path: Path
) -> None:
    _, html = plan_notice(c)
    assert ('<div class="signature"><p>中共绵阳市总工会党组</p>'
            "<p>绵阳市总工会党的群众路线教育实践活动办公室（群教办）</p>"
            "<p>2014年6月16日</p></div>") in html

    # Another campaign's plan, another issuer: nothing of Mianyang's is left.
    source = PLAN.source.replace("id: mianyang-2014", "id: other-2014").replace(
        "issuer: 中共绵阳市总工会党组", "issuer: 中共某县总工会党组").replace(
        "office: 绵阳市总工会党的群众路线教育实践活动办公室（群教办）", 'office: ""')
    other = open_db(empty_db)
    try:
        other.plan.start(STARTER, parse_plan(source, "other.yaml"), roster(tmp_path, STANDARD))
        _, html = plan_notice(other)
    finally:
        other.store.engine.dispose()
    assert '<div class="signature"><p>中共某县总工会党组</p><p>2014年6月16日</p></div>' in html
    assert "绵阳" not in html.split('<div class="signature">')[1]

    # Outside any campaign: a placeholder, never another unit's name.
    loose = approve_on(campaign, MONDAY)
    assert campaign.reads.get(loose).plan_id is None
    text = notices.notice(campaign, loose, "markdown")
    assert text.rstrip().endswith("（发布单位）\n\n2014年6月16日") and "绵阳" not in text


def test_finding_14_notice_has_no_shell_command(c: Campaign) -> None:
    item, html = plan_notice(c)
    markdown = notices.notice(c, item, "markdown")
    for page in (html, markdown):
        assert "campaign " not in page and "--reason" not in page
        assert ("公示期间（至2014年6月20日止），如有意见或异议，"
                "请向市总工会群教办（书面或当面）反映") in page
    assert "<code>" not in html and "`" not in markdown


def test_finding_14_a_plan_with_a_bad_notice_template_is_refused_with_the_plan() -> None:
    for template, problem in (("{{ phone }}", "unknown name"), ("{{ title", "template error")):
        source = PLAN.source.replace('dated: "{{ kind }}日期：{{ issued }}。"',
                                     f'dated: "{template}"')
        with pytest.raises(InvalidInput, match=f"notice.dated: {problem}"):
            parse_plan(source, "bad.yaml")


# -- finding 14: the window ------------------------------------------------------------------


@pytest.mark.parametrize(("opened_on", "closes_on"), [
    (MONDAY, date(2014, 6, 20)),  # Monday to Friday
    (date(2014, 6, 13), date(2014, 6, 19)),  # Friday, then Monday to Thursday
    (date(2014, 6, 14), date(2014, 6, 20)),  # a Saturday does not count
], ids=["monday", "friday", "saturday"])
def test_finding_14_five_working_days_span_five_working_days(
    campaign: Campaign, opened_on: date, closes_on: date
) -> None:
    assert SPECS["self_review"].publicity is not None
    assert SPECS["self_review"].publicity.working_days == 5
    item = approve_on(campaign, opened_on)
    (window,) = campaign.reads.windows(item)
    assert (window.opened_on, window.closes_on) == (opened_on, closes_on)
    assert working_days(window.opened_on, window.closes_on) == 5
    assert window_last_day(opened_on, 5) == closes_on  # the tests' helper agrees
    notice = notices.notice(campaign, item, "markdown")
    assert (f"公示期：自{cn_date(opened_on)}至{cn_date(closes_on)}"
            "（5个工作日）。") in notice


@pytest.mark.parametrize(("opened_on", "closes_on"), [
    (date(2014, 9, 30), date(2014, 10, 11)),  # National Day off; Saturday 10-11 worked
    (date(2014, 9, 26), date(2014, 10, 8)),  # Sunday 09-28 worked, then the holiday
    (date(2014, 10, 3), date(2014, 10, 13)),  # opened on the holiday: counts from 10-08
    (date(2014, 1, 26), date(2014, 1, 30)),  # a make-up Sunday before Spring Festival counts
    (date(2014, 1, 30), date(2014, 2, 11)),  # Spring Festival off; Saturday 02-08 worked
], ids=["national-day", "makeup-sunday", "in-the-holiday", "makeup-first-day",
        "spring-festival"])
def test_finding_14_windows_skip_official_holidays_and_count_makeup_days(
    campaign: Campaign, opened_on: date, closes_on: date
) -> None:
    item = approve_on(campaign, opened_on)
    (window,) = campaign.reads.windows(item)
    assert (window.opened_on, window.closes_on) == (opened_on, closes_on)
    assert working_days(opened_on, closes_on) == 5
    assert "（5个工作日）" in notices.notice(campaign, item, "markdown")
    # Objections are heard to the last day; the tick ends it the day after.
    assert at_day(campaign, closes_on).moves.tick("office1") == []
    (event,) = at_day(campaign, closes_on + timedelta(days=1)).moves.tick("office1")
    assert event.dest == "archived"


def test_finding_14_a_year_the_calendar_does_not_cover_is_refused(
    campaign: Campaign, db_url: str
) -> None:
    first, last = publicity.covered_years()
    assert first <= 2014 <= last  # the campaign's own year is covered
    item = drive(campaign, "self_review", "supervisor_approval", owner="leader1")
    before = snapshot(db_url)
    for day in (date(2003, 6, 16), date(last, 12, 31)):  # before, and running past the end
        with pytest.raises(TransitionNotAllowed) as refused:
            at_day(campaign, day).moves.fire("sup1", item.id, "approve", "同意公示")
        year = 2003 if day.year == 2003 else last + 1
        message = str(refused.value)
        assert re.search(rf"covers {first}–{last}, not {year}\b", message), message
        assert "chinese-calendar" in message and "\n" not in message
        assert snapshot(db_url) == before
    assert campaign.reads.get(item.id).state == "supervisor_approval"
    assert query(db_url, "SELECT count(*) FROM publicity_window") == [(0,)]
