"""The main job on an embedded default: one self-review material taken through
a return with a reason, a new revision, approvals and publicity, plus one of
every other type, on a fresh SQLite database — then its history, the audit
verification and the diagrams.  Everything goes through the public API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import diagram
from .content import from_text
from .errors import PermissionDenied
from .service import Campaign

Echo = Callable[..., Any]
Table = Callable[[str | None, list[str], Iterable[Iterable[object]]], None]

PEOPLE: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("wangmin", "王敏", ("office",), "群教办"),
    ("lishuji", "李书记", ("principal", "leader"), "党组"),
    ("zhangfu", "张副主席", ("leader",), "党组"),
    ("liufu", "刘副主席", ("leader",), "党组"),
    ("chendd", "陈督导", ("supervisor",), "市委督导组"),
    ("zhoudd", "周督导", ("supervisor",), "市委督导组"),
    ("zhaoyi", "赵一", ("member",), "保障部"),
    ("zhibu1", "机关第一支部", ("branch",), "机关第一支部"),
)

SELF_REVIEW_V1 = """# 张副主席对照检查材料（初稿）

## 一、存在的主要问题
深入基层调研不够，联系服务职工群众“最后一公里”问题解决不到位。

## 二、具体表现
下基层次数偏少，听取一线职工意见不够充分。
"""

SELF_REVIEW_V2 = SELF_REVIEW_V1.replace("（初稿）", "（修改稿）") + """
## 三、主观原因
宗旨意识有所淡化，对群众路线的认识不够深刻。

## 四、思想根源
理论学习不够系统，党性修养有待加强。

## 五、改进措施
每季度深入联系点不少于一次，建好用好“四本台账”，即知即改。
"""


@dataclass(frozen=True)
class Move:
    actor: str
    trigger: str
    comment: str | None = None


def run_demo(directory: Path, echo: Echo, table: Table) -> Campaign:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.db"
    for stale in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    campaign = Campaign.open(f"sqlite:///{database}")
    campaign.init(actor="wangmin")
    for user_id, name, roles, unit in PEOPLE:
        campaign.add_user("wangmin", user_id, name, roles, unit)
    echo(f"database: {database} ({len(PEOPLE)} users, {len(campaign.definitions())} types)")

    self_review = _self_review(campaign, echo)
    _one_of_every_other_type(campaign)

    echo(f"History of self-review material #{self_review}:")
    for event in campaign.history(self_review):
        move = f"{event.source or ''} → {event.dest}"
        reason = f"  「{event.comment}」" if event.comment else ""
        echo(f"  {event.seq:>3} {event.at[:19]} {event.actor} ({event.role}) {event.action} "
             f"{event.trigger or ''} {move} rev {(event.revision or '')[:12]}{reason}")
    table("All deliverables", ["id", "type", "title", "owner", "state"],
          ((d.id, d.type, d.title, d.owner, f"{d.state} {d.state_label}")
           for d in campaign.deliverables()))
    report = campaign.verify()
    echo(f"audit verify: ok — {report.events} events, {report.deliverables} deliverables, "
         f"head {report.head}")
    _write_diagrams(campaign, directory, self_review, echo)
    return campaign


def _self_review(campaign: Campaign, echo: Echo) -> int:
    item = campaign.create(
        "zhangfu", "self_review", "张副主席对照检查材料", content=from_text(SELF_REVIEW_V1),
        due=date(2014, 6, 30),
    ).id
    campaign.fire("zhangfu", item, "submit")
    campaign.fire("lishuji", item, "return",
                  "“四个剖析”不完整：缺主观原因和思想根源，并补充改进措施")
    campaign.revise("zhangfu", item, from_text(SELF_REVIEW_V2))
    campaign.fire("zhangfu", item, "submit")
    try:
        campaign.fire("zhangfu", item, "forward")
    except PermissionDenied as refused:
        echo(f"refused as expected: {refused}")
    campaign.fire("lishuji", item, "forward")
    campaign.fire("chendd", item, "approve", "剖析深刻，同意公示")
    campaign.fire("wangmin", item, "archive", "公示期满无异议")
    return item


OTHERS: tuple[tuple[str, str, str, tuple[Move, ...]], ...] = (
    ("implementation_plan", "wangmin", "市总工会教育实践活动实施方案",
     (Move("wangmin", "submit"), Move("lishuji", "forward"), Move("zhoudd", "approve"))),
    ("four_winds_list", "wangmin", "市总工会“四风”具体表现",
     (Move("wangmin", "submit"), Move("lishuji", "forward"), Move("chendd", "approve"),
      Move("wangmin", "report"))),
    ("meeting_plan", "wangmin", "专题民主生活会方案",
     (Move("wangmin", "submit"), Move("lishuji", "forward"))),
    ("research_report", "liufu", "刘副主席调研报告",
     (Move("liufu", "submit"), Move("lishuji", "forward"),
      Move("chendd", "reject", "调研时间不足2天，不符合要求，请重新调研"))),
    ("rectification_item", "zhaoyi", "精简会议文件，整治文山会海",
     (Move("zhaoyi", "submit"), Move("lishuji", "forward"), Move("zhoudd", "approve"),
      Move("zhaoyi", "start"))),
    ("rectification_plan", "liufu", "刘副主席个人整改措施",
     (Move("liufu", "submit"), Move("lishuji", "forward"), Move("chendd", "approve"))),
    ("summary_report", "lishuji", "市总工会教育实践活动总结报告", ()),
)


def _one_of_every_other_type(campaign: Campaign) -> None:
    for type_id, owner, title, moves in OTHERS:
        item = campaign.create(owner, type_id, title,
                               content=from_text(f"# {title}\n\n（正文）\n")).id
        for move in moves:
            campaign.fire(move.actor, item, move.trigger, move.comment)


def _write_diagrams(campaign: Campaign, directory: Path, self_review: int, echo: Echo) -> None:
    for spec in campaign.definitions():
        (directory / f"{spec.id}.svg").write_bytes(diagram.render(spec, "svg"))
    view = campaign.get(self_review)
    path = [diagram.Step(*step) for step in campaign.path(self_review)]
    highlighted = diagram.render(campaign.definition_for(view), "svg", current=view.state,
                                 path=path)
    (directory / f"self_review-{self_review}.svg").write_bytes(highlighted)
    echo(f"diagrams: {directory}/*.svg (self_review-{self_review}.svg shows the path taken)")
