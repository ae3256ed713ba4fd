"""The main job: the whole 2014 campaign, start to close, on a fresh SQLite database.

A generated roster of the federation starts the plan; every phase's
deliverables go through review (with a return and its reason, a rejected
research report researched again), the plan's events, talks and targets are
recorded, one advance is forced with its reason, one rectification item is
left overdue — then the report, the audit verification and the diagrams.
Everything goes through the public API, like any other program would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from campaign_demo import roster as R
from campaign_demo.served import prepare_served
from workflow.campaign import Campaign
from workflow.errors import PermissionDenied, TransitionNotAllowed
from workflow.render import report_build, report_formats, type_diagram
from workflow.render.campaign_diagrams import write_campaign_diagrams
from workflow.render.flow_diagrams import path_diagram
from workflow.spec.content import from_text
from workflow.spec.loader import load_plan, shipped_plan
from workflow.spec.roster import read_roster
from workflow.store.views import DeliverableView

Echo = Callable[..., Any]
Table = Callable[[str | None, list[str], Iterable[Iterable[object]]], None]
REPORT_DAY = date(2014, 9, 30)


class DemoClock:
    """The demo lives on the 2014 calendar: each step happens on the day the
    walk sets, a second after the one before (so the audit log reads true)."""

    def __init__(self) -> None:
        self.day = date(2014, 2, 10)
        self._seconds = 0

    def __call__(self) -> datetime:
        self._seconds += 1
        start = datetime.combine(self.day, time(9), tzinfo=ZoneInfo("Asia/Shanghai"))
        return start + timedelta(seconds=self._seconds)


def run_demo(directory: Path, echo: Echo, table: Table, program: str = "campaign"
             ) -> Campaign:
    clock = DemoClock()
    campaign = _fresh(directory, clock)
    roster = directory / "roster.csv"
    roster.write_text(R.roster_csv(), encoding="utf-8")
    plan = load_plan(shipped_plan())
    created = campaign.plan.start(R.OFFICE, plan, read_roster(roster))
    echo(f"started {plan.spec.title}: {len(R.PEOPLE)} people, {len(created)} required "
         f"deliverables, database {directory / 'demo.db'}")
    walk = _Walk(campaign, echo, clock)
    for step in (walk.preparation, walk.study_and_listen, walk.find_and_criticise,
                 walk.rectify_and_build, walk.summary):
        step()
    _show_history(campaign, walk.self_review, echo)
    report = report_build.build_report(campaign, REPORT_DAY)
    echo(report_formats.render(report, "table"))
    (directory / "report.html").write_text(report_formats.render(report, "html"),
                                          encoding="utf-8")
    result = campaign.audit.verify()
    echo(f"audit verify: ok — {result.events} events, {result.deliverables} deliverables, "
         f"digest {result.head}")
    _write_diagrams(campaign, directory, walk.self_review, echo)
    prepare_served(campaign, directory, echo, program)
    return campaign


def _fresh(directory: Path, clock: DemoClock) -> Campaign:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.db"
    for stale in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    campaign = Campaign.open(f"sqlite:///{database}", clock=clock)
    campaign.deliverables.init(actor=R.OFFICE)
    return campaign


class _Walk:
    """The campaign office's year, phase by phase."""

    def __init__(self, campaign: Campaign, echo: Echo, clock: DemoClock) -> None:
        self.c = campaign
        self.echo = echo
        self.clock = clock
        self.self_review = 0

    def on(self, month: int, day: int) -> None:
        self.clock.day = date(2014, month, day)

    def tick(self) -> None:
        closed = self.c.moves.tick(R.OFFICE)
        if closed:
            windows = "window" if len(closed) == 1 else "windows"
            self.echo(f"{self.clock.day}: {len(closed)} publicity {windows} ended without "
                      "objection")

    def items(self, type_id: str) -> list[DeliverableView]:
        return [d for d in self.c.reads.deliverables(type_id=type_id) if d.plan_id]

    def through(self, item: DeliverableView, *, to: str = "approve") -> None:
        """Draft, submit, the first reader forwards, the supervisors approve."""
        self.c.deliverables.revise(item.owner, item.id, from_text(R.draft(item.title,
                                                                          type_id=item.type)))
        self.c.moves.fire(item.owner, item.id, "submit")
        reader = R.OFFICE if item.type == "summary_report" else R.PRINCIPAL
        self.c.moves.fire(reader, item.id, "forward")
        if to == "approve":
            self.c.moves.fire(R.SUPERVISORS[0], item.id, "approve", "符合要求，同意")

    def advance(self, **force: Any) -> None:
        event = self.c.plan.advance(R.OFFICE, **force)
        how = f"forced ({event.comment})" if event.action == "phase.force" else "gate held"
        self.echo(f"phase {event.source} → {event.dest}: {how}")

    def preparation(self) -> None:
        self.on(2, 14)
        for item in self.items("implementation_plan"):
            self.through(item)
        self.on(2, 20)
        self.advance()

    def study_and_listen(self) -> None:
        c = self.c
        self.on(2, 26)
        c.records.event(R.OFFICE, "mobilisation_meeting", date(2014, 2, 26), days=0.5,
                       supervisors_invited=True, minutes="党组书记作动员报告")
        for n, day in enumerate((3, 10, 17, 24), start=1):
            c.records.event(R.OFFICE, "study_session", date(2014, 3, day),
                           minutes=f"第{n}次集中学习")
        for n, theme in enumerate(R.THEMES):
            c.records.event(R.OFFICE, "discussion_meeting", date(2014, 4, 1 + 7 * n), theme=theme)
        short = c.records.event(R.OFFICE, "field_research", date(2014, 3, 12), days=1,
                               person=R.LEADERS[1])
        self.echo(f"field research of {R.name_of(R.LEADERS[1])} flagged: {short.flags[0]}")
        for n, leader in enumerate(R.LEADERS):
            c.records.event(R.OFFICE, "field_research", date(2014, 3, 18 + n), days=2,
                           person=leader)
        self.on(4, 15)
        reports = self.items("research_report")
        for item in reports:
            self.through(item, to="forward")
        rejected = reports[1]
        c.moves.fire(R.SUPERVISORS[1], rejected.id, "reject", R.RESEARCH_AGAIN)
        c.moves.fire(rejected.owner, rejected.id, "redraft")
        c.deliverables.revise(rejected.owner, rejected.id, from_text(R.draft(rejected.title,
                                                                             "重新调研稿")))
        c.moves.fire(rejected.owner, rejected.id, "submit")
        c.moves.fire(R.PRINCIPAL, rejected.id, "forward")
        for item in reports:
            c.moves.fire(R.SUPERVISORS[0], item.id, "approve", "同意在一定范围交流")
        self.echo(f"research report #{rejected.id} rejected and researched again")
        self.on(4, 30)
        self.advance()

    def find_and_criticise(self) -> None:
        c = self.c
        self.on(6, 16)
        for type_id in ("four_winds_list", "meeting_plan"):
            for item in self.items(type_id):
                self.through(item)
        self._self_reviews()
        self._objection()
        self._talks()
        self.on(7, 1)
        self.tick()
        c.records.event(R.OFFICE, "democratic_life_meeting", date(2014, 6, 26), days=1,
                       supervisors_invited=True, minutes="督导组组长点评")
        for branch in ("zhibu1", "zhibu2", "hmzhibu"):  # 文化宫支部 postponed
            c.records.event(R.OFFICE, "organisational_life_meeting", date(2014, 7, 3),
                           person=branch)
        self.on(7, 10)
        try:
            c.plan.advance(R.OFFICE)
        except TransitionNotAllowed as refused:  # shown, then forced with a reason
            self.echo(f"advance refused: {str(refused)[:150]}…")
        self.advance(force=True, reason=R.FORCE_REASON)

    def _self_reviews(self) -> None:
        c = self.c
        for item in self.items("self_review"):
            if item.owner != R.LEADERS[0]:
                self.through(item)
                continue
            self.self_review = item.id
            name = R.name_of(item.owner)
            outline = f"# {name}对照检查材料（提纲）\n\n## 一、存在的主要问题\n\n（略）\n"
            c.deliverables.revise(item.owner, item.id, from_text(outline))
            try:
                c.moves.fire(item.owner, item.id, "submit")
            except TransitionNotAllowed as refused:
                self.echo(f"submit refused as it should be: {refused}")
            c.deliverables.revise(item.owner, item.id,
                                  from_text(R.SELF_REVIEW_V1.format(name=name)))
            c.moves.fire(item.owner, item.id, "submit")
            c.moves.fire(R.PRINCIPAL, item.id, "return", R.RETURN_REASON)
            c.deliverables.revise(item.owner, item.id,
                                  from_text(R.SELF_REVIEW_V2.format(name=name)))
            c.moves.fire(item.owner, item.id, "submit")
            try:
                c.moves.fire(item.owner, item.id, "forward")
            except PermissionDenied as refused:
                self.echo(f"refused as it should be: {refused}")
            c.moves.fire(R.PRINCIPAL, item.id, "forward")
            c.moves.fire(R.SUPERVISORS[0], item.id, "approve", "剖析深刻，同意公示")

    def _objection(self) -> None:
        """A member objects during publicity: back to review, checked, published again."""
        item = next(d for d in self.items("self_review") if d.owner == R.LEADERS[2])
        self.on(6, 18)
        self.c.moves.object_to("zhaoyi", item.id, R.OBJECTION)
        state = self.c.reads.get(item.id).state
        self.echo(f"objection to #{item.id} during publicity: back to {state}")
        self.on(6, 20)
        self.c.moves.fire(R.PRINCIPAL, item.id, "forward")
        self.c.moves.fire(R.SUPERVISORS[0], item.id, "approve", "经核实已更正，重新公示")

    def _talks(self) -> None:
        team = (R.PRINCIPAL, *R.LEADERS)
        count = 0
        for i, first in enumerate(team):
            for second in team[i + 1:]:
                talk = self.c.records.talk(first, first, second, date(2014, 6, 2 + count % 20))
                self.c.records.confirm_talk(second, talk.id)
                count += 1
        self.echo(f"谈心谈话: {count} talks among {len(team)} team members, all confirmed")

    def rectify_and_build(self) -> None:
        c = self.c
        self.on(8, 5)
        for item in self.items("rectification_plan"):
            self.through(item)
        started = []
        for (owner, title, due), responsible in zip(R.RECTIFICATION_ITEMS, R.LEADERS,
                                                    strict=False):
            item = c.deliverables.create(R.OFFICE, "rectification_item", title, owner=owner,
                            content=from_text(R.draft(title)), due=date.fromisoformat(due))
            c.rectification.set(  # the five fields: submit is refused without them
                owner, item.id, matter=title, measures=f"{title}：建立台账，逐项销号",
                responsible=responsible, deadline=date.fromisoformat(due),
                effect="群众满意度测评达到“较好”以上")
            c.moves.fire(owner, item.id, "submit")
            c.moves.fire(R.PRINCIPAL, item.id, "forward")
            c.moves.fire(R.SUPERVISORS[1], item.id, "approve", "同意公示")
            started.append((owner, item.id))
        self.on(8, 14)  # the items' publicity (5 working days) is over
        self.tick()
        for owner, item_id in started:
            c.moves.fire(owner, item_id, "start")
        self.on(8, 28)
        owner, item_id = started[0]
        c.rectification.note(owner, item_id, "会议、文件数量同比下降三成，台账已销号")
        c.moves.fire(owner, item_id, "claim_done")
        c.rectification.verify(R.OFFICE, item_id, "好", "群众满意度测评95%")
        for target_id, amount, note in R.TARGET_PROGRESS:
            c.records.target(R.OFFICE, target_id, amount, note)
        self.on(9, 20)
        self.advance()

    def summary(self) -> None:
        self.on(9, 25)
        for item in self.items("summary_report"):
            self.through(item)
        self.on(9, 30)
        self.advance()


def _show_history(campaign: Campaign, item: int, echo: Echo) -> None:
    echo(f"History of self-review material #{item}:")
    for event in campaign.reads.history(item):
        move = f"{event.source or ''} → {event.dest}"
        reason = f"  「{event.comment}」" if event.comment else ""
        echo(f"  {event.seq:>4} {event.actor} ({event.role}) {event.action} "
             f"{event.trigger or ''} {move} rev {(event.revision or '')[:12]}{reason}")


def _write_diagrams(campaign: Campaign, directory: Path, item: int, echo: Echo) -> None:
    for spec in campaign.registry.definitions():  # portrait, like the committed ones: fits a page
        (directory / f"{spec.id}.svg").write_bytes(type_diagram.render(spec, "svg", layout="tb"))
    highlighted = path_diagram(campaign, campaign.reads.get(item), "svg")
    (directory / f"self_review-{item}.svg").write_bytes(highlighted)
    # The running campaign's: met gate items ticked, the forced phase marked.
    write_campaign_diagrams(campaign, directory)
    echo(f"report: {directory}/report.html; diagrams: {directory}/*.svg "
         f"(self_review-{item}.svg shows the path taken)")
