"""Validated, frozen specification of a campaign plan (the campaign itself).

A plan has phases, nested one level (the implementation phase has three
links), each with dates and an exit gate; the deliverables it requires per
role and phase; the events it requires with the rules a record must keep;
the heart-to-heart talks; and its targets.  Loaded by :mod:`workflow.spec.loader`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date
from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from workflow.errors import InvalidInput
from workflow.spec.definition import _IDENT, KNOWN_ROLES, Provenance, Role, _Spec

Ident = Annotated[str, Field(pattern=_IDENT)]
PHASE_SEPARATOR = "."

#: ``per: team`` — the leadership team (领导班子及成员): the principal and every
#: leader.  The plan counts the principal among the team for every per-member
#: duty (research, self-review, rectification measures, talks).
TEAM = "team"
#: Who may be named in ``per``: a role, or the team.
PER_GROUPS: frozenset[str] = KNOWN_ROLES | {TEAM}


def group_roles(per: str) -> frozenset[str]:
    """The roles whose holders make up ``per`` (a role, or the team)."""
    if per == TEAM:
        return frozenset({Role.PRINCIPAL.value, Role.LEADER.value})
    return frozenset({per})


def in_group(roles: Iterable[str], per: str) -> bool:
    return not group_roles(per).isdisjoint(roles)


def group_label(per: str) -> str:
    """The Chinese name of ``per`` for a gate line or a flag."""
    from workflow.spec.definition import ROLE_LABELS

    if per == TEAM:
        return "领导班子成员（含主要负责同志）"
    return ROLE_LABELS[Role(per)][0] if per in KNOWN_ROLES else per

#: The largest amount (a target's goal or entry, an event's days) accepted.
#: Up to it a float still holds every whole number, and no realistic sum of
#: entries overflows to infinity, which JSON cannot carry.
MAX_AMOUNT = 1e15
Amount = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]


def require_amount(value: float, what: str) -> float:
    """``value`` if it is a finite number of at most :data:`MAX_AMOUNT` either way.

    NaN and infinity slip through comparisons (``nan <= 0`` is false), so the
    engine refuses them by name before anything is written.
    """
    if not math.isfinite(value) or abs(value) > MAX_AMOUNT:
        raise InvalidInput(f"{what} must be a finite number between -{MAX_AMOUNT:.0e} and "
                           f"{MAX_AMOUNT:.0e}, not {value!r}")
    return value


class GateItem(Provenance):
    """One condition for leaving a phase: exactly one of the three kinds."""

    deliverable: Ident | None = None
    states: tuple[Ident, ...] = ()
    event: Ident | None = None
    talks: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [self.deliverable is not None, self.event is not None, self.talks]
        if sum(kinds) != 1:
            raise ValueError("a gate item names exactly one of: deliverable, event, talks")
        if self.deliverable is not None and not self.states:
            raise ValueError("a deliverable gate needs the states that satisfy it")
        return self


class PhaseSpec(Provenance):
    name: Ident
    label: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    start: date | None = None
    end: date | None = None
    dates_from_plan: bool = True
    final: bool = False
    gate: tuple[GateItem, ...] = ()
    phases: tuple[PhaseSpec, ...] = ()

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if not self.final and (self.start is None or self.end is None):
            raise ValueError(f"phase {self.name!r} needs start and end dates")
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"phase {self.name!r} ends before it starts")
        if self.phases and self.gate:
            raise ValueError(f"phase {self.name!r} has sub-phases: put the gates on them")
        return self


class RequirementSpec(Provenance):
    """A deliverable the campaign requires: one per role holder, or one for the team."""

    deliverable: Ident
    phase: Ident
    title: Annotated[str, Field(min_length=1)]
    due: date
    per: Ident | None = None
    owner_role: Ident | None = None

    @model_validator(mode="after")
    def _owner(self) -> Self:
        if (self.per is None) == (self.owner_role is None):
            raise ValueError("a requirement has either per (a role) or owner_role")
        return self


class EventSpec(Provenance):
    """An event the plan requires, and the rules its record must keep.  A
    record breaking a rule is kept and flagged, and does not count."""

    kind: Ident
    label: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    phase: Ident
    min_count: Annotated[int, Field(ge=1)] = 1
    #: One record per holder of a role, or per team member (``team``).
    per: Ident | None = None
    min_days: Amount | None = None
    deadline: date | None = None
    supervisors_invited: bool = False
    themes: tuple[str, ...] = ()
    #: Every theme needs a valid record (the four study sessions, the four
    #: rectification campaigns), not only that each record has one of them.
    cover_themes: bool = False
    #: The departments the plan makes responsible (…负责).
    responsible: tuple[str, ...] = ()
    #: Held on or after the first record of each of these kinds.
    after: tuple[Ident, ...] = ()
    #: Held on or after every required talk (召开民主生活会前，要深入开展谈心活动).
    after_talks: bool = False
    #: Parties the record must list as invited.
    invited: tuple[str, ...] = ()
    #: The role of the person who opens it (作动员报告, 带头查摆问题).
    opened_by: Ident | None = None
    #: What the record must state it covered (通报民主生活会情况, 督导组组长点评).
    must_note: tuple[str, ...] = ()
    #: The kind each person a record names as falling short must then have
    #: a record of (抽查抽考不达标者补课).
    follow_up: Ident | None = None

    @model_validator(mode="after")
    def _themes_to_cover(self) -> Self:
        if self.cover_themes and not self.themes:
            raise ValueError(f"event {self.kind!r}: cover_themes needs themes")
        if self.cover_themes and self.per:
            raise ValueError(f"event {self.kind!r}: cover_themes is for events held by "
                             "the unit, not per person")
        return self


class WindowSpec(Provenance):
    """The campaign's own span, which may begin before its first dated phase
    (从1月中旬开始，9月底前基本结束)."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError("the campaign's window ends before it starts")
        return self


class TalksSpec(Provenance):
    phase: Ident
    label: str = "谈心谈话"
    due: date | None = None


class TargetSpec(Provenance):
    id: Ident
    label: Annotated[str, Field(min_length=1)]
    unit: Annotated[str, Field(min_length=1)]
    goal: Amount
    responsible: tuple[str, ...] = ()
    #: Counted in whole units (fairs, people): progress of 0.5 is refused.
    whole: bool = True


#: What a notice template may use (see :mod:`workflow.render.notice_wording`).
NOTICE_VARIABLES = frozenset({
    "title", "type_title", "kind", "opens", "closes", "working_days", "issued", "contact",
    "issuer", "office",
})
NoticeTemplate = Annotated[str, Field(min_length=1, max_length=2000)]


class NoticeSpec(_Spec):
    """The publicity notice (公示) this campaign's deliverables are posted with:
    who issues it, where the public objects, and its wording as Jinja2
    templates of plain text (the renderer escapes what they produce).

    A deliverable outside any campaign gets these defaults: a placeholder
    issuer, so a notice nobody configured shows at a glance that its signature
    is still to be filled in, never another unit's name.
    """

    issuer: Annotated[str, Field(min_length=1)] = "（发布单位）"
    #: A second signature line (the office acting for the issuer), if any.
    office: str = ""
    #: Where objections go: a unit, a room, a telephone number — never a command.
    objection_contact: Annotated[str, Field(min_length=1)] = "发布单位"
    heading: NoticeTemplate = "关于《{{ title }}》的{{ kind }}"
    intro: NoticeTemplate = "《{{ title }}》（{{ type_title }}）经审核通过，现予以{{ kind }}。"
    window: NoticeTemplate = (
        "{{ kind }}期：自{{ opens }}至{{ closes }}（{{ working_days }}个工作日）。")
    dated: NoticeTemplate = "{{ kind }}日期：{{ issued }}。"
    objection: NoticeTemplate = (
        "{{ kind }}期间（至{{ closes }}止），如有意见或异议，请向{{ contact }}反映，"
        "所提意见将作为审核意见记录在案。")

    @model_validator(mode="after")
    def _templates_compile(self) -> Self:
        for field in ("heading", "intro", "window", "dated", "objection"):
            problem = template_problem(getattr(self, field))
            if problem:
                raise ValueError(f"notice.{field}: {problem}")
        return self


def template_problem(source: str) -> str | None:
    """Why ``source`` is not a usable notice template, or None.

    Checked when the plan is loaded, so a typo is refused with the plan rather
    than on the day a notice is posted.
    """
    from jinja2 import TemplateSyntaxError, meta
    from jinja2.sandbox import SandboxedEnvironment

    try:
        names = meta.find_undeclared_variables(SandboxedEnvironment().parse(source))
    except TemplateSyntaxError as error:
        return f"template error on its line {error.lineno}: {error.message}"
    unknown = sorted(names - NOTICE_VARIABLES)
    if unknown:
        return (f"unknown name(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(NOTICE_VARIABLES))})")
    return None


class PlanSpec(_Spec):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    title: Annotated[str, Field(min_length=1)]
    title_en: Annotated[str, Field(min_length=1)]
    source: str = ""
    window: WindowSpec | None = None
    phases: Annotated[tuple[PhaseSpec, ...], Field(min_length=2)]
    requirements: tuple[RequirementSpec, ...] = ()
    events: tuple[EventSpec, ...] = ()
    talks: TalksSpec | None = None
    targets: tuple[TargetSpec, ...] = ()
    # A factory, not an instance: the templates are checked (and Jinja2 imported)
    # when a plan is loaded, never when this module is.
    notice: NoticeSpec = Field(default_factory=NoticeSpec)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        for path, problem in plan_problems(self):
            raise PydanticCustomError("reference", "{problem}", {"problem": problem, "path": path})
        return self

    # -- queries -------------------------------------------------------------------

    def leaves(self) -> list[tuple[str, PhaseSpec]]:
        """Phases that can be current, in order, with their dotted paths."""
        out: list[tuple[str, PhaseSpec]] = []
        for phase in self.phases:
            if phase.phases:
                out += [(f"{phase.name}{PHASE_SEPARATOR}{c.name}", c) for c in phase.phases]
            else:
                out.append((phase.name, phase))
        return out

    def leaf(self, path: str) -> PhaseSpec:
        for name, phase in self.leaves():
            if name == path:
                return phase
        raise KeyError(path)

    def leaf_path(self, name: str) -> str:
        """Dotted path of a leaf phase given by its own name."""
        for path, phase in self.leaves():
            if phase.name == name:
                return path
        raise KeyError(name)

    def event(self, kind: str) -> EventSpec:
        for event in self.events:
            if event.kind == kind:
                return event
        raise KeyError(kind)

    def target(self, target_id: str) -> TargetSpec:
        for target in self.targets:
            if target.id == target_id:
                return target
        raise KeyError(target_id)

    def required_count(self, roles: Sequence[Iterable[str]]) -> int:
        """How many deliverables starting the plan creates for people holding ``roles``."""
        return sum(sum(1 for held in roles if in_group(held, r.per)) if r.per else 1
                   for r in self.requirements)

    @property
    def start(self) -> date:
        return min(p.start for _, p in self.leaves() if p.start)

    @property
    def end(self) -> date:
        return max(p.end for _, p in self.leaves() if p.end)


def plan_problems(plan: PlanSpec) -> Iterator[tuple[str, str]]:
    """(dotted path, problem) for every name in ``plan`` that does not resolve."""
    leaves = {phase.name for _, phase in plan.leaves()}
    names = [p.name for p in plan.phases] + [c.name for p in plan.phases for c in p.phases]
    if len(set(names)) != len(names):
        yield "phases", "phase names must be unique"
    finals = [i for i, p in enumerate(plan.phases) if p.final]
    if finals != [len(plan.phases) - 1]:
        yield "phases", "exactly one final phase, and it must come last"
    kinds = {e.kind for e in plan.events}
    for i, phase in enumerate(plan.phases):
        for j, child in enumerate(phase.phases):
            yield from _gate_problems(child, f"phases.{i}.phases.{j}", kinds, plan.talks)
        yield from _gate_problems(phase, f"phases.{i}", kinds, plan.talks)
    for i, req in enumerate(plan.requirements):
        path = f"requirements.{i}"
        yield from _unknown(f"{path}.phase", "phase", req.phase, leaves)
        yield from _unknown(f"{path}.per", "role or group", req.per, PER_GROUPS)
        yield from _unknown(f"{path}.owner_role", "role", req.owner_role, KNOWN_ROLES)
    for i, event in enumerate(plan.events):
        yield from _event_problems(event, f"events.{i}", leaves, kinds, plan.talks)
    if plan.talks is not None and plan.talks.phase not in leaves:
        yield "talks.phase", f"unknown phase {plan.talks.phase!r}"
    ids = [t.id for t in plan.targets]
    if len(set(ids)) != len(ids):
        yield "targets", "target ids must be unique"


def _unknown(path: str, what: str, name: str | None, known: Collection[str]
             ) -> Iterator[tuple[str, str]]:
    if name is not None and name not in known:
        yield path, f"unknown {what} {name!r}"


def _event_problems(event: EventSpec, path: str, leaves: set[str], kinds: set[str],
                    talks: TalksSpec | None) -> Iterator[tuple[str, str]]:
    yield from _unknown(f"{path}.phase", "phase", event.phase, leaves)
    yield from _unknown(f"{path}.per", "role or group", event.per, PER_GROUPS)
    yield from _unknown(f"{path}.opened_by", "role", event.opened_by, KNOWN_ROLES)
    for j, kind in enumerate(event.after):
        if kind not in kinds or kind == event.kind:
            yield f"{path}.after.{j}", f"unknown event kind {kind!r}"
    if event.follow_up is not None and (event.follow_up not in kinds
                                        or event.follow_up == event.kind):
        yield f"{path}.follow_up", f"unknown event kind {event.follow_up!r}"
    if event.after_talks and talks is None:
        yield f"{path}.after_talks", "the plan declares no talks"


def _gate_problems(
    phase: PhaseSpec, path: str, kinds: set[str], talks: TalksSpec | None
) -> Iterator[tuple[str, str]]:
    for k, item in enumerate(phase.gate):
        if item.event is not None and item.event not in kinds:
            yield f"{path}.gate.{k}.event", f"unknown event kind {item.event!r}"
        if item.talks and talks is None:
            yield f"{path}.gate.{k}.talks", "the plan declares no talks"
