"""The main job: the whole 2014 campaign, start to close, on a fresh SQLite database.

A generated roster of the federation starts the plan; every phase's
deliverables go through review (with a return and its reason, a rejected
research report researched again, the principal's own materials straight to
the supervisors, the four-winds list reported), every event kind of the
plan is recorded on its day with what its rules ask (:mod:`campaign_demo.happenings`),
two of them flagged first and then held again validly, a spot check's short
member makes up the study, talks and targets are recorded, the team's
即知即改 items are done and assessed, one advance is forced with its reason and
made up later, one rectification item is left overdue — then the report, the
audit verification and the diagrams.  Everything goes through the public API,
like any other program would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from campaign_demo import happenings
from campaign_demo import roster as R
from campaign_demo.served import prepare_served
from workflow.campaign import Campaign
from workflow.errors import PermissionDenied, TransitionNotAllowed
from workflow.render import report_build, report_formats, type_diagram
from workflow.render.campaign_diagrams import write_campaign_diagrams
from workflow.render.flow_diagrams import path_diagram
from workflow.spec.content import from_text
from workflow.spec.definition import WorkflowSpec
from workflow.spec.loader import load_plan, shipped_plan
from workflow.spec.plan import PlanSpec
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
    walk = _Walk(campaign, echo, clock, plan.spec)
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
    """The campaign office's year, phase by phase, on a calendar that only moves on."""

    def __init__(self, campaign: Campaign, echo: Echo, clock: DemoClock,
                 plan: PlanSpec) -> None:
        self.c = campaign
        self.echo = echo
        self.clock = clock
        self.plan = plan
        self.self_review = 0
        # Every event the plan asks for, entered on its day as the walk's calendar
        # reaches it (:meth:`on`), so the audit log reads in date order.
        planned = _story(happenings.schedule(plan))
        self.pending = sorted(planned, key=lambda p: p.entered)
        self.recorded = 0
        self.follow_ups = {e.follow_up: e.kind for e in plan.events if e.follow_up}

    def on(self, month: int, day: int) -> None:
        """Move the calendar to ``day``, entering every event held by then."""
        until = date(2014, month, day)
        while self.pending and self.pending[0].entered <= until:
            self._record(self.pending.pop(0))
        self.clock.day = until

    def _record(self, planned: happenings.Planned) -> None:
        self.clock.day = max(self.clock.day, planned.entered)
        record = self.c.records.event(
            R.OFFICE, planned.kind, planned.held_on, days=planned.days, person=planned.person,
            theme=planned.theme, supervisors_invited=planned.supervisors_invited,
            minutes=planned.minutes, facts=planned.facts)
        self.recorded += 1
        label = self.plan.event(record.kind).label
        whose = f"（{R.name_of(record.person)}）" if record.person else ""
        if record.flags:
            self.echo(f"{label}{whose} #{record.id} held {record.held_on} flagged: "
                      f"{'；'.join(record.flags)}")
        if record.short:
            self.echo(f"{label} #{record.id} names {'、'.join(map(R.name_of, record.short))} "
                      f"short; gate line: {self._gate_line(record.kind)}")
        if record.kind in self.follow_ups:
            checked = self.follow_ups[record.kind]
            self.echo(f"{label}{whose} {record.held_on}; "
                      f"{self.plan.event(checked).label}: {self._gate_line(checked)}")

    def _gate_line(self, kind: str) -> str:
        (check,) = [c for c in self.c.plan.gate() if c.key == f"event:{kind}"]
        return "met" if check.satisfied else "；".join(check.missing)

    def tick(self) -> None:
        closed = self.c.moves.tick(R.OFFICE)
        if closed:
            windows = "window" if len(closed) == 1 else "windows"
            self.echo(f"{self.clock.day}: {len(closed)} publicity {windows} ended without "
                      "objection")

    def items(self, type_id: str) -> list[DeliverableView]:
        return [d for d in self.c.reads.deliverables(type_id=type_id) if d.plan_id]

    def through(self, item: DeliverableView, *, to: str = "approve") -> None:
        """Draft, submit, the first reader forwards, the supervisors approve.  The
        principal's own material has no first reader: it goes straight to them."""
        if item.type != "rectification_item":  # its content is written when created
            self.c.deliverables.revise(item.owner, item.id,
                                       from_text(R.draft(item.title, type_id=item.type)))
        if item.owner == R.PRINCIPAL and self._has(item.type, "to_supervisors"):
            self.c.moves.fire(item.owner, item.id, "to_supervisors")
            self.echo(f"{R.name_of(item.owner)}'s own {item.type} #{item.id} goes straight "
                      "to the supervisors (to_supervisors)")
        else:
            self.c.moves.fire(item.owner, item.id, "submit")
            reader = R.OFFICE if item.type == "summary_report" else R.PRINCIPAL
            self.c.moves.fire(reader, item.id, "forward")
        if to == "approve":
            self.c.moves.fire(R.SUPERVISORS[0], item.id, "approve", "符合要求，同意")

    def _has(self, type_id: str, trigger: str) -> bool:
        return any(t.trigger == trigger for t in self._spec(type_id).transitions)

    def _spec(self, type_id: str) -> WorkflowSpec:
        return next(s for s in self.c.registry.definitions() if s.id == type_id)

    def all_through(self, type_id: str) -> None:
        """Every item of the type through review, said in one line with the
        sections its content needed."""
        items = self.items(type_id)
        for item in items:
            self.through(item)
        spec = self._spec(type_id)
        sections = "、".join(s.label for s in spec.required_sections)
        states = sorted({self.c.reads.get(d.id).state for d in items})
        self.echo(f"{spec.title}: {len(items)} approved ({', '.join(states)})"
                  + (f", with the sections {sections}" if sections else ""))

    def advance(self, **force: Any) -> None:
        event = self.c.plan.advance(R.OFFICE, **force)
        how = f"forced ({event.comment})" if event.action == "phase.force" else "gate held"
        self.echo(f"phase {event.source} → {event.dest}: {how}; "
                  f"{self.recorded} event records entered")
        self.recorded = 0

    def preparation(self) -> None:
        self.on(2, 14)
        for type_id in ("implementation_plan", "mobilisation_speech"):
            self.all_through(type_id)
        self.on(2, 20)
        self.advance()

    def study_and_listen(self) -> None:
        c = self.c
        self.on(2, 27)  # the speech was delivered at the mobilisation meeting
        for item in self.items("mobilisation_speech"):
            c.moves.fire(R.OFFICE, item.id, "archive", "动员大会已宣讲，会后归档")
        self.on(4, 8)
        self._quick_fixes()
        self.on(4, 15)
        reports = self.items("research_report")
        for item in reports:
            self.through(item, to="forward")
        rejected = next(d for d in reports if d.owner == R.LEADERS[1])
        c.moves.fire(R.SUPERVISORS[1], rejected.id, "reject", R.RESEARCH_AGAIN)
        for item in reports:
            if item.id != rejected.id:
                c.moves.fire(R.SUPERVISORS[0], item.id, "approve", "同意在一定范围交流")
        self.on(4, 17)  # the quick fixes' publicity is over: the work starts
        self.tick()
        for item in self.items("rectification_item"):
            c.moves.fire(item.owner, item.id, "start")
        self.on(4, 19)  # researched again (entered 04-18), the report redrafted
        c.moves.fire(rejected.owner, rejected.id, "redraft")
        c.deliverables.revise(rejected.owner, rejected.id, from_text(
            R.draft(rejected.title, "重新调研稿", type_id=rejected.type)))
        c.moves.fire(rejected.owner, rejected.id, "submit")
        c.moves.fire(R.PRINCIPAL, rejected.id, "forward")
        c.moves.fire(R.SUPERVISORS[0], rejected.id, "approve", "重新调研后符合要求，同意交流")
        self.echo(f"research report #{rejected.id} rejected and researched again")
        self.on(4, 30)
        self.advance()

    def _quick_fixes(self) -> None:
        """即知即改: each team member's item, its five fields, through to publicity."""
        deadline = date.fromisoformat(R.QUICK_FIX_DEADLINE)
        for item in self.items("rectification_item"):
            matter, measures = R.QUICK_FIXES[item.owner]
            self.c.deliverables.revise(item.owner, item.id, from_text(
                f"# {item.title}\n\n## 一、问题\n\n{matter}\n\n## 二、整改措施\n\n{measures}\n"))
            self.c.rectification.set(item.owner, item.id, matter=matter, measures=measures,
                                     responsible=item.owner, deadline=deadline,
                                     effect="群众满意度测评达到“较好”以上")
            self.through(item)

    def _quick_fixes_done(self) -> None:
        self.on(5, 26)
        items = self.items("rectification_item")
        for item in items:
            _, measures = R.QUICK_FIXES[item.owner]
            self.c.rectification.note(item.owner, item.id, f"已落实：{measures}")
            self.c.moves.fire(item.owner, item.id, "claim_done")
        self.on(5, 29)
        for item in items:
            self.c.rectification.verify(R.OFFICE, item.id, "好", "职工群众测评满意")
        self.echo(f"即知即改: {len(items)} items of the team done and assessed 好")

    def find_and_criticise(self) -> None:
        c = self.c
        self.on(5, 20)
        for item in self.items("four_winds_list"):
            self.through(item)
            c.moves.fire(R.OFFICE, item.id, "report")
            self.echo(f"four-winds list #{item.id}: {c.reads.get(item.id).state}")
        self._quick_fixes_done()
        self.on(6, 10)
        for item in self.items("meeting_plan"):
            self.through(item)
        self.on(6, 16)
        self._self_reviews()
        self._objection()
        self._talks()
        self.on(7, 1)  # the democratic-life meeting (06-26) entered on its day
        self.tick()
        self.on(7, 10)  # the organisational-life meetings of 07-03
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
        """Every pair of the team, held 06-02 to 06-12 (before the democratic-life
        meeting, as its rule wants), each confirmed by the other party."""
        team = happenings.holders("team")
        count = 0
        for i, first in enumerate(team):
            for second in team[i + 1:]:
                talk = self.c.records.talk(first, first, second,
                                           date(2014, 6, 2 + count // 2))
                self.c.records.confirm_talk(second, talk.id)
                count += 1
        self.echo(f"谈心谈话: {count} talks among {len(team)} team members, all confirmed")

    def rectify_and_build(self) -> None:
        c = self.c
        self.on(8, 5)
        self.all_through("rectification_plan")
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
        self.on(9, 5)
        self.all_through("rules_review")
        self.on(9, 20)
        self.advance()

    def summary(self) -> None:
        self.on(9, 25)
        self.all_through("summary_report")
        self.on(9, 30)
        if self.pending:  # the schedule reaches past the campaign: a bug in the table
            raise RuntimeError(f"events never entered: {[p.kind for p in self.pending]}")
        self.advance()


def _story(planned: list[happenings.Planned]) -> list[happenings.Planned]:
    """What went otherwise than planned: 刘副主席's first field research lasted one
    day (flagged; his report is rejected and he researches again), 机关第一支部
    met before the democratic-life meeting (flagged; it meets again after it), and
    文化宫支部's meeting slipped to late July (the advance forced for it)."""
    told = []
    for p in planned:
        if p.kind == "field_research" and p.person == R.LEADERS[1]:
            told += [replace(p, held_on=date(2014, 3, 12), days=1),
                     replace(p, held_on=date(2014, 4, 16), recorded_on=date(2014, 4, 18))]
        elif p.kind == "organisational_life_meeting" and p.person == "zhibu1":
            early = "机关第一支部在专题民主生活会召开前先行召开组织生活会，党员开展批评和自我批评"
            told += [replace(p, held_on=date(2014, 6, 20), recorded_on=date(2014, 6, 27),
                             minutes=early), p]
        elif p.kind == "organisational_life_meeting" and p.person == "wgzhibu":
            told.append(replace(p, held_on=date(2014, 7, 24), recorded_on=date(2014, 7, 25),
                                minutes=p.minutes + "（因场馆维修顺延）"))
        else:
            told.append(p)
    return told


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
