"""The dossier's record sections: revisions, the changes between them, review
opinions, publicity windows and the audit trail, each an HTML table (or a
list of diffs) of escaped cells."""

from __future__ import annotations

from datetime import datetime
from html import escape

from workflow.campaign import Campaign
from workflow.errors import ContentIntegrityError
from workflow.render.html_parts import escaped, table
from workflow.render.local_time import local_time
from workflow.services.documents import DiffResult, describe
from workflow.store.views import EventView, OpinionView, RevisionView, WindowView

OUTCOMES = {"objection": "有异议，退回审核", "ended": "期满无异议"}


def when(at: str | datetime | None) -> str:
    """A moment of the record in the campaign's zone, to the second, with its
    offset (``2014-06-16 09:04:33 +08:00``): not UTC with microseconds."""
    return local_time(at, seconds=True)


def who(user: str | None, names: dict[str, str]) -> str:
    """A user as ``name（id）``, escaped; the bare id for one no longer listed."""
    if user is None:
        return ""
    name = names.get(user)
    return f"{escape(name)}（{escape(user)}）" if name else escape(user)


def withheld(failure: ContentIntegrityError) -> str:
    """Content that fails its hash is not shown: a red banner says why instead."""
    return (f'<div class="verdict failed" role="alert">正文不予显示 · content withheld: '
            f"{escape(str(failure))}</div>")


def revisions_table(revisions: list[RevisionView], names: dict[str, str]) -> str:
    return table(["修订", "作者 Author", "时间 Time", "文件", "类型", "字节", "sha256"], [
        [str(r.number), who(r.author, names), escaped(when(r.at)), escaped(r.filename),
         escaped(r.media_type), str(r.size), escaped(r.sha256)] for r in revisions], mono=(6,))


def diffs(campaign: Campaign, deliverable_id: int, revisions: list[RevisionView]) -> str:
    """Each revision against the one before, folded, with its counts of lines."""
    if len(revisions) < 2:
        return '<p class="muted">（只有一个修订，无对比）</p>'
    out = []
    for new in revisions[1:]:
        try:
            result = campaign.documents.diff(deliverable_id, new.number - 1, new.number)
        except ContentIntegrityError as failure:
            out.append(withheld(failure))
            continue
        added = sum(1 for x in result.lines if x.startswith("+") and not x.startswith("+++"))
        removed = sum(1 for x in result.lines if x.startswith("-") and not x.startswith("---"))
        counts = f"+{added} −{removed}" if result.text else "非文本：比较大小与哈希"
        out.append(f"<details><summary>修订 {new.number - 1} → {new.number}（{counts}）"
                   f"</summary>\n{_diff_body(result)}</details>")
    return "\n".join(out)


def _diff_body(result: DiffResult) -> str:
    if not result.text:
        sides = [describe(s) for s in (result.from_revision, result.to_revision) if s]
        sides.append("内容相同 identical" if result.identical else "内容不同 content differs")
        return '<pre class="diff">' + "\n".join(escape(s) for s in sides) + "</pre>"
    if result.identical:
        return '<p class="muted">（内容相同）</p>'
    lines = []
    for line in result.lines:
        kind = ("hunk" if line.startswith("@@") else "" if line.startswith(("+++", "---"))
                else "add" if line.startswith("+") else "del" if line.startswith("-") else "")
        text = escape(line)
        lines.append(f'<span class="{kind}">{text}</span>' if kind else text)
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def opinions_table(opinions: list[OpinionView], names: dict[str, str]) -> str:
    return table(["#", "时间 Time", "提出人 Author", "修订", "行 Line", "意见 Opinion", "事件"], [
        [str(o.id), escaped(when(o.at)), who(o.author, names), escaped(o.revision_number),
         escaped(o.line), escaped(o.text), escaped(o.event_seq)] for o in opinions])


def windows_table(windows: list[WindowView]) -> str:
    return table(["开始 Opens", "截止 Closes (inclusive)", "结束于 Closed at", "结果 Outcome"], [
        [escaped(w.opened_on), escaped(w.closes_on), escaped(when(w.closed_at) or "公示中 open"),
         escaped(OUTCOMES.get(w.outcome or "", w.outcome or "—"))] for w in windows])


def events_table(events: list[EventView]) -> str:
    rows = []
    for e in events:
        move = f"{e.source or ''} → {e.dest or ''}" + (f"（{e.trigger}）" if e.trigger else "")
        rows.append([str(e.seq), escaped(when(e.at)), escaped(e.actor), escaped(e.role),
                     escaped(e.action), escaped(move), escaped(e.comment), escaped(e.revision),
                     escaped(e.hash), escaped(e.prev_hash)])
    return table(["seq", "时间 Time", "操作人 Actor", "角色 Role", "动作 Action", "流转 Move",
                  "说明 Comment", "修订 sha256", "hash", "prev_hash"], rows, mono=(7, 8, 9))
