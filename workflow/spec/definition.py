"""Validated, frozen specifications of workflow definitions.

A definition file is parsed by :mod:`workflow.spec.loader` into these models; from
then on nothing in the engine sees YAML.  Structural errors that would make a
spec meaningless (a transition to a state that does not exist, a missing
mandatory state) are refused here; graph-level problems (unreachable states,
dead ends, unknown roles) are reported by :mod:`workflow.spec.lint`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

#: Every deliverable type passes through these states, with exactly these ids.
MANDATORY_STATES: tuple[str, ...] = ("draft", "review", "supervisor_approval", "publicity")

_IDENT = r"^[a-z][a-z0-9_]*$"


class Rule(StrEnum):
    OWNER_ONLY = "owner_only"  # only the deliverable's owner, e.g. submit
    NOT_OWNER = "not_owner"  # no self-approval: neither the owner nor the responsible person
    #: the owner or the responsible person (a rectification item's 整改责任人), e.g. claim_done
    OWNER_OR_RESPONSIBLE = "owner_or_responsible"
    REQUIRES_COMMENT = "requires_comment"  # every return or rejection needs a reason
    CONTENT_COMPLETE = "content_complete"  # the content has every required section


class Role(StrEnum):
    MEMBER = "member"
    LEADER = "leader"
    PRINCIPAL = "principal"
    OFFICE = "office"
    SUPERVISOR = "supervisor"
    BRANCH = "branch"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return ROLE_LABELS[self][1]


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.MEMBER: ("党员干部", "Party member / cadre"),
    Role.LEADER: ("领导班子成员", "Leadership-team member"),
    Role.PRINCIPAL: ("党组书记", "Party-group secretary"),
    Role.OFFICE: ("群教办", "Campaign office"),
    Role.SUPERVISOR: ("市委督导组", "Municipal supervision group"),
    Role.BRANCH: ("党支部", "Party branch"),
}

KNOWN_ROLES: frozenset[str] = frozenset(r.value for r in Role)

#: A user id, the same rule in a roster, ``users add`` and ``--as``: an id is
#: typed back on the command line and shown in the log, so no spaces, no
#: control characters, nothing a terminal or a shell would read differently.
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
USER_ID_MAX = 64


def _as_list(value: object) -> object:
    """Let a single source state be written without list brackets."""
    return [value] if isinstance(value, str) else value


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Provenance(_Spec):
    """Where a step or rule comes from: a paragraph of the campaign's plan, or
    the office's own configuration (``from_plan: false``), which the diagrams
    and reports set apart so nobody mistakes it for what the plan prescribes."""

    #: The plan's paragraph, e.g. ``四（二）1（1）召开动员大会``; for the office's
    #: own configuration, the paragraph it elaborates (or nothing).
    paragraph: str = ""
    from_plan: bool = True

    @property
    def provenance(self) -> str:
        """One line saying where it comes from, for reports and tooltips."""
        if self.from_plan:
            return f"方案{self.paragraph}" if self.paragraph else "方案"
        return f"本单位配置（{self.paragraph}）" if self.paragraph else "本单位配置"


class StateSpec(Provenance):
    name: Annotated[str, Field(pattern=_IDENT)]
    label: Annotated[str, Field(min_length=1, description="Chinese label")]
    label_en: Annotated[str, Field(min_length=1)]
    final: bool = False
    description: str = ""


class TransitionSpec(Provenance):
    trigger: Annotated[str, Field(pattern=_IDENT)]
    label: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    source: Annotated[tuple[str, ...], BeforeValidator(_as_list), Field(min_length=1)]
    dest: str
    # Roles stay strings here so that lint can name an unknown one with its
    # line instead of the loader failing on the first.
    roles: Annotated[tuple[str, ...], Field(min_length=1)]
    rules: tuple[Rule, ...] = ()

    @property
    def owner_only(self) -> bool:
        return Rule.OWNER_ONLY in self.rules

    @property
    def not_owner(self) -> bool:
        return Rule.NOT_OWNER in self.rules

    @property
    def owner_or_responsible(self) -> bool:
        return Rule.OWNER_OR_RESPONSIBLE in self.rules

    @property
    def requires_comment(self) -> bool:
        return Rule.REQUIRES_COMMENT in self.rules

    @property
    def content_complete(self) -> bool:
        return Rule.CONTENT_COMPLETE in self.rules

    @model_validator(mode="after")
    def _rules_consistent(self) -> TransitionSpec:
        answerable = [r for r in (Rule.OWNER_ONLY, Rule.NOT_OWNER, Rule.OWNER_OR_RESPONSIBLE)
                      if r in self.rules]
        if len(answerable) > 1:
            raise ValueError(f"rules {' and '.join(answerable)} exclude each other")
        if len(set(self.rules)) != len(self.rules):
            raise ValueError("a rule is listed twice")
        return self


class SectionSpec(Provenance):
    """A part the content must have: a heading naming one of ``keywords``,
    or (for rules such as a meeting's length) a line matching ``pattern``."""

    name: Annotated[str, Field(pattern=_IDENT)]
    label: Annotated[str, Field(min_length=1)]
    keywords: tuple[str, ...] = ()
    pattern: str | None = None

    @model_validator(mode="after")
    def _something_to_look_for(self) -> SectionSpec:
        if not self.keywords and not self.pattern:
            raise ValueError(f"section {self.name!r} needs keywords or a pattern")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"section {self.name!r}: bad pattern: {exc}") from None
        return self


class PublicitySpec(Provenance):
    """Entering ``publicity`` opens a window of working days; an objection during
    it fires ``objection_trigger``; ``campaign tick`` fires ``close_trigger``
    once it has ended without one."""

    working_days: Annotated[int, Field(ge=1, le=60)]
    objection_trigger: str = "object"
    close_trigger: str | None = None


class WorkflowSpec(_Spec):
    id: Annotated[str, Field(pattern=_IDENT)]
    title: Annotated[str, Field(min_length=1, description="Chinese title")]
    title_en: Annotated[str, Field(min_length=1)]
    description: str = ""
    initial: str = "draft"
    #: States in which the owner may add a revision.
    editable_states: tuple[str, ...] = ("draft",)
    #: Roles that may create a deliverable of this type (for themselves).
    create_roles: Annotated[tuple[str, ...], Field(min_length=1)]
    states: Annotated[tuple[StateSpec, ...], Field(min_length=1)]
    transitions: Annotated[tuple[TransitionSpec, ...], Field(min_length=1)]
    #: What the content must contain before a ``content_complete`` move.
    required_sections: tuple[SectionSpec, ...] = ()
    publicity: PublicitySpec | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> WorkflowSpec:
        for path, problem in reference_problems(self):
            # The path travels in the error's context so the loader can point
            # at the exact line of the offending field.
            raise PydanticCustomError(
                "reference", "{problem}", {"problem": problem, "path": path}
            )
        return self

    # -- queries -----------------------------------------------------------

    def state(self, name: str) -> StateSpec:
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    @property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(t.trigger for t in self.transitions)

    def transitions_from(self, state: str) -> Iterator[TransitionSpec]:
        return (t for t in self.transitions if state in t.source)

    def transition(self, state: str, trigger: str) -> TransitionSpec | None:
        """The transition ``trigger`` fires from ``state``, if any."""
        return next((t for t in self.transitions_from(state) if t.trigger == trigger), None)

    def roles_used(self) -> frozenset[str]:
        return frozenset(r for t in self.transitions for r in t.roles) | frozenset(
            self.create_roles
        )


def reference_problems(spec: WorkflowSpec) -> Iterator[tuple[str, str]]:
    """(dotted path, problem) for every name in ``spec`` that does not resolve."""
    names = [s.name for s in spec.states]
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield f"states.{index}.name", f"state {name!r} is declared twice"
        seen.add(name)
    for mandatory in MANDATORY_STATES:
        if mandatory not in seen:
            yield "states", f"mandatory state {mandatory!r} is missing"
    if spec.initial not in seen:
        yield "initial", f"initial state {spec.initial!r} is not declared"
    for index, state in enumerate(spec.editable_states):
        if state not in seen:
            yield f"editable_states.{index}", f"editable state {state!r} is not declared"
    for index, transition in enumerate(spec.transitions):
        for position, state in enumerate(transition.source):
            if state not in seen:
                yield (
                    f"transitions.{index}.source.{position}",
                    f"{transition.trigger}: source state {state!r} is not declared",
                )
        if transition.dest not in seen:
            yield (
                f"transitions.{index}.dest",
                f"{transition.trigger}: dest state {transition.dest!r} is not declared",
            )
    if spec.publicity is not None:
        for field in ("objection_trigger", "close_trigger"):
            trigger = getattr(spec.publicity, field)
            if trigger is not None and spec.transition("publicity", trigger) is None:
                yield (f"publicity.{field}",
                       f"no transition {trigger!r} leaves the publicity state")


def is_identifier(text: str) -> bool:
    return re.fullmatch(_IDENT, text) is not None
