"""Validated, frozen specification of a campaign plan (the campaign itself).

A plan has phases, nested one level (the implementation phase has three
links), each with dates and an exit gate; the deliverables it requires per
role and phase; the events it requires with the rules a record must keep;
the heart-to-heart talks; and its targets.  Loaded by :mod:`workflow.spec.loader`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from workflow.errors import InvalidInput
from workflow.spec.definition import _IDENT, KNOWN_ROLES, _Spec

Ident = Annotated[str, Field(pattern=_IDENT)]
PHASE_SEPARATOR = "."

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


class GateItem(_Spec):
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


class PhaseSpec(_Spec):
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


class RequirementSpec(_Spec):
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


class EventSpec(_Spec):
    kind: Ident
    label: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    phase: Ident
    min_count: Annotated[int, Field(ge=1)] = 1
    per: Ident | None = None
    min_days: Amount | None = None
    deadline: date | None = None
    supervisors_invited: bool = False
    themes: tuple[str, ...] = ()


class TalksSpec(_Spec):
    phase: Ident
    label: str = "谈心谈话"
    due: date | None = None


class TargetSpec(_Spec):
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
        if req.phase not in leaves:
            yield f"requirements.{i}.phase", f"unknown phase {req.phase!r}"
        for field, role in (("per", req.per), ("owner_role", req.owner_role)):
            if role is not None and role not in KNOWN_ROLES:
                yield f"requirements.{i}.{field}", f"unknown role {role!r}"
    for i, event in enumerate(plan.events):
        if event.phase not in leaves:
            yield f"events.{i}.phase", f"unknown phase {event.phase!r}"
        if event.per is not None and event.per not in KNOWN_ROLES:
            yield f"events.{i}.per", f"unknown role {event.per!r}"
    if plan.talks is not None and plan.talks.phase not in leaves:
        yield "talks.phase", f"unknown phase {plan.talks.phase!r}"
    ids = [t.id for t in plan.targets]
    if len(set(ids)) != len(ids):
        yield "targets", "target ids must be unique"


def _gate_problems(
    phase: PhaseSpec, path: str, kinds: set[str], talks: TalksSpec | None
) -> Iterator[tuple[str, str]]:
    for k, item in enumerate(phase.gate):
        if item.event is not None and item.event not in kinds:
            yield f"{path}.gate.{k}.event", f"unknown event kind {item.event!r}"
        if item.talks and talks is None:
            yield f"{path}.gate.{k}.talks", "the plan declares no talks"
