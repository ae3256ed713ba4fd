"""The plan's events as the federation held them in 2014: when, for how long, and
what the minutes say.

The walk does not list the plan's events itself: :func:`schedule` reads them
from the loaded plan and makes, for each kind, the records its rules ask for
(one per theme, per holder or up to its count; the parties invited, who
opened it, what it must state) on the days this table gives.  A kind the
table does not know stops the demo with its name rather than being entered
with made-up minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import NamedTuple

from campaign_demo import roster as R
from workflow.services.plan_records import EventFacts
from workflow.spec.plan import EventSpec, PlanSpec, in_group


class Happening(NamedTuple):
    """How the federation held one kind of event: the first day, the days between
    its records, each record's length, and its minutes (``{theme}``, ``{name}`` —
    the person's or branch's —, ``{n}`` and ``{short}`` filled in)."""

    first: str
    minutes: str
    step: int = 7
    days: float = 0.5
    #: Whom a record of a kind without ``per`` is about (the make-up study's person).
    person: str | None = None
    #: Whom a record names as falling short (the spot check's).
    short: tuple[str, ...] = ()


HAPPENINGS: dict[str, Happening] = {
    # -- 前期准备 --
    "party_group_meeting": Happening(
        "2014-02-11", "党组书记主持召开党组会，传达中央、省委、市委教育实践活动部署，专题研究"
        "市总工会活动安排，审议实施意见和工作方案（送审稿）"),
    "leading_group": Happening(
        "2014-02-12", "印发成立教育实践活动领导小组的通知：党组书记任组长，班子成员任副组长；"
        "领导小组办公室设在群教办，从办公室、组织部、宣教部抽调工作人员，明确职责分工"),
    "staff_training": Happening(
        "2014-02-18", "群教办对领导小组办公室工作人员和各支部联络员进行工作培训，学习中央、"
        "省委、市委文件和实施方案，明确台账、简报和报送要求"),
    # -- 学习教育、听取意见 --
    "mobilisation_meeting": Happening(
        "2014-02-26", "召开教育实践活动动员大会，市委督导组到会指导；党组书记作动员报告，"
        "分管领导对教育实践活动进行具体安排部署，机关全体党员干部参加"),
    "democratic_appraisal": Happening(
        "2014-02-26", "动员大会结束后在参会人员中开展民主评议：发放测评表86份、收回84份，"
        "整理意见建议23条"),
    "branch_study_meeting": Happening(
        "2014-02-28", "{name}召开学习会议，传达动员大会精神，党员逐一交流认识", step=2),
    "publicity_channels": Happening(
        "2014-02-27", "开通{theme}，宣传中央、省委、市委部署和本单位活动进展", step=3),
    "study_session": Happening(
        "2014-03-03", "中心组学习会集中专题学习（{theme}），班子成员逐一交流发言"),
    "special_education": Happening(
        "2014-03-06", "开展{theme}，机关全体党员干部参加"),
    "principal_lecture": Happening(
        "2014-03-14", "{name}为全体党员作专题学习辅导：以“照镜子、正衣冠、洗洗澡、治治病”"
        "为总要求，把思想统一到中央部署上来"),
    "contact_point_exchange": Happening(
        "2014-03-21", "{name}到工作联系点参加学习心得体会交流，与基层工会干部、一线职工座谈",
        step=2),
    "team_lecture": Happening(
        "2014-03-25", "{name}为分管部室和联系支部的党员干部作辅导报告", step=2),
    "expert_lecture": Happening(
        "2014-03-19", "邀请市委党校教授作第{n}次专题辅导报告，机关全体党员干部参加", step=21),
    "discussion_meeting": Happening(
        "2014-04-01", "围绕“{theme}”召开专题讨论会，党员干部联系思想和工作实际逐一发言",
        step=6),
    "essay_contest": Happening(
        "2014-04-18", "举办“践行群众路线、争做五好干部”征文比赛：收到征文86篇，评出一等奖3篇、"
        "二等奖5篇"),
    "study_check": Happening(
        "2014-04-10", "按照市委督导组安排抽查各支部学习讨论记录、抽考应知应晓50问：抽考12人，"
        "{short}未达标", short=("sunsan",)),
    "makeup_study": Happening(
        "2014-04-17", "市委督导组对{name}进行重点帮助“补课”：重学应知应晓50问，复考合格",
        person="sunsan"),
    "field_research": Happening(
        "2014-03-17", "{name}深入基层蹲点调研：走访企业和困难职工家庭，召开职工座谈会",
        step=2, days=2),
    "four_ledgers": Happening(
        "2014-03-20", "建立{theme}，逐项登记、逐项办理、逐项销号", step=3),
    "opinion_gathering": Happening(
        "2014-03-05", "向{theme}集中征求意见：发放征求意见表、召开座谈会，梳理意见建议"),
    "listening_activity": Happening(
        "2014-03-07", "开展“{theme}”活动，收集职工群众意见建议，登记入账"),
    # -- 查摆问题、开展批评 --
    "democratic_life_meeting": Happening(
        "2014-06-26", "召开领导班子专题民主生活会，上级纪检机关和党委组织部门同志参加；"
        "主要负责同志代表班子作对照检查、带头开展自我批评，班子成员逐一开展批评和自我批评，"
        "督导组组长点评", days=1),
    "organisational_life_meeting": Happening(
        "2014-07-03", "{name}召开专题组织生活会：通报领导班子专题民主生活会情况，公示班子成员"
        "对照检查材料，党员逐一发言开展批评和自我批评", step=0),
    # -- 整改落实、建章立制 --
    "special_rectification": Happening("2014-07-18", "开展集中专项整治：{theme}"),
    "emulation": Happening("2014-07-21", "开展对标争先行动：{theme}，召开学习座谈会", step=10),
    "mass_work_training": Happening(
        "2014-07-22", "组织群众工作专题培训会，邀请基层工会“群众工作能手”授课"),
    "three_togethers": Happening(
        "2014-07-28", "{name}到联系点与职工群众同吃同住同劳动，帮助解决实际困难", step=3,
        days=2),
    "workers_home": Happening(
        "2014-08-12", "深入推进建设职工之家活动，组织会员评家，评出市级模范职工之家10家"),
    "wage_rights_action": Happening(
        "2014-07-25", "开展职工工资权益保障行动：推动非公企业工资集体协商，督促按时足额支付工资"),
    "summer_visits": Happening(
        "2014-07-21", "开展“送清凉”慰问行动，慰问高温作业一线职工和户外劳动者"),
    "migrant_wage_action": Happening(
        "2014-08-20", "开展农民工讨薪专项行动：畅通“12351”维权热线，联合人社部门督办欠薪案件"),
    "model_worker_care": Happening(
        "2014-08-08", "开展劳模关爱行动，走访慰问困难劳模，组织劳模健康体检"),
    "pairing_action": Happening(
        "2014-08-15", "开展与联系点群众结对子行动，机关党员干部与困难职工结成帮扶对子"),
    "volunteer_service": Happening(
        "2014-08-23", "组织党员干部到社区开展志愿服务和义工服务，登记服务时长"),
    "branch_guidance": Happening(
        "2014-08-18", "{name}指导分管部室和联系支部：指导征求意见工作，参加支部大会，审阅整改方案"
        "和整改措施，督促集中专项治理", step=2),
    # -- 检查总结 --
    "situation_report": Happening(
        "2014-09-24", "按市领导小组要求报送市总工会教育实践活动开展情况"),
    "summary_meeting": Happening(
        "2014-09-26", "召开教育实践活动总结大会，市督导组到会点评，党组书记作总结报告"),
}


@dataclass(frozen=True)
class Planned:
    """One record to make: of ``kind``, held on ``held_on``, entered on ``recorded_on``."""

    kind: str
    held_on: date
    minutes: str
    days: float = 0.5
    person: str | None = None
    theme: str | None = None
    supervisors_invited: bool = False
    facts: EventFacts = field(default_factory=EventFacts)
    recorded_on: date | None = None

    @property
    def entered(self) -> date:
        return self.recorded_on or self.held_on


def holders(per: str) -> list[str]:
    """The roster's holders of ``per`` (a role, or ``team``), in roster order."""
    return [p[0] for p in R.PEOPLE if in_group(p[2].split(), per)]


def schedule(plan: PlanSpec) -> list[Planned]:
    """Every event kind of ``plan``, recorded as its rules ask."""
    return [record for spec in plan.events for record in _records(plan, spec)]


def _records(plan: PlanSpec, spec: EventSpec) -> Iterable[Planned]:
    how = HAPPENINGS.get(spec.kind)
    if how is None:  # no placeholder minutes: the demo says what the federation did
        raise KeyError(f"the plan's event {spec.kind!r} ({spec.label}) has no day and "
                       "minutes in campaign_demo.happenings.HAPPENINGS")
    first = date.fromisoformat(how.first)
    opener = holders(spec.opened_by)[0] if spec.opened_by else None
    facts = EventFacts(invited=spec.invited, opened_by=opener, covered=spec.must_note,
                       short=how.short)
    base = Planned(spec.kind, first, how.minutes, days=max(how.days, spec.min_days or 0),
                   person=how.person, supervisors_invited=spec.supervisors_invited,
                   facts=facts)
    people: Sequence[str | None]
    themes: Sequence[str | None]
    if spec.per:
        people, themes = holders(spec.per), [None]
    else:
        people = [how.person]
        themes = spec.themes or [None] * spec.min_count
    n = 0
    for person in people:
        for theme in themes:
            short = "、".join(R.name_of(u) for u in how.short)
            minutes = how.minutes.format(theme=theme or "", n=n + 1, short=short,
                                         name=R.name_of(person) if person else "")
            yield replace(base, held_on=first + timedelta(days=how.step * n), minutes=minutes,
                          person=person, theme=theme)
            n += 1
