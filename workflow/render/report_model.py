"""The campaign report's data: frozen views, one per section, and the whole.

Built by :func:`workflow.render.report_build.build_report`, laid out by
:mod:`workflow.render.report_sections` and drawn by :mod:`workflow.render.report_formats`;
``Report.to_json()`` is the JSON rendering.
"""

from __future__ import annotations

from datetime import date

from workflow.services.lateness import LateCompletion, OverdueItem
from workflow.store.views import View


class WindowInfo(View):
    """The campaign's own span (it may begin before its first dated phase)."""

    start: date
    end: date
    paragraph: str
    from_plan: bool
    #: Where it comes from, as one line (方案… or 本单位配置…).
    provenance: str


class PlanInfo(View):
    id: str
    title: str
    title_en: str
    source: str
    window: WindowInfo | None = None


class CurrentPhase(View):
    path: str
    label: str
    label_en: str
    parent_label: str | None
    start: date | None
    end: date | None
    final: bool
    #: ``end - today`` while the phase runs (0 on its last day); None once past.
    days_left: int | None
    #: Days since the phase should have ended; None while it runs.
    days_past_end: int | None


class ForcedAdvance(View):
    """A phase left by force, from its ``phase.force`` audit event."""

    by: str
    by_name: str
    at: str  # the event's time stamp (UTC)
    on: date  # its day where the campaign runs
    reason: str
    #: What the gate lacked when it was forced (the event's detail), ``label: entry`` each.
    missing: tuple[str, ...]
    #: What those gate lines still lack today, by the same checklist ``phase status`` uses.
    still_missing: tuple[str, ...]
    #: Entries of events and talks it lacked when forced (deliverables count as themselves).
    waived: int
    #: Of those, the ones recorded since.
    made_up: int


class PhaseRow(View):
    path: str
    label: str
    label_en: str
    parent_label: str | None
    #: done / forced (left by force) / current / upcoming / closed (the final phase reached)
    status: str
    start: date | None
    end: date | None
    dates_from_plan: bool
    #: The phase's required deliverables, plus ``forced.waived`` for a phase left by force.
    required: int
    #: Its complete deliverables, plus ``forced.made_up``.
    complete: int
    percent: float
    forced: ForcedAdvance | None = None


class Completion(View):
    """The headline.  ``required`` counts the plan's deliverables and every
    event or talk entry a forced advance left unmet; ``complete`` counts the
    complete deliverables and those entries recorded since.  So a campaign
    pushed past a gate never reads 100% while what was waived is still
    missing, and does once it has been made up (the phase stays marked as
    forced).  ``materials_*`` are the deliverables alone."""

    required: int
    complete: int
    percent: float
    overdue: int
    materials_required: int = 0
    materials_complete: int = 0
    completed_late: int = 0
    forced_phases: int = 0
    waived: int = 0
    made_up: int = 0


class StateCount(View):
    state: str
    label: str
    count: int


class TypeProgress(View):
    type: str
    title: str
    total: int
    complete: int
    states: tuple[StateCount, ...]


class UnitProgress(View):
    """An item counts for its owner's unit (see :mod:`workflow.services.lateness`)."""

    unit: str
    total: int
    complete: int
    overdue: int
    completed_late: int = 0


class TargetRow(View):
    id: str
    label: str
    done: float
    goal: float
    unit: str
    percent: float
    responsible: tuple[str, ...]


class TalksSummary(View):
    label: str
    due: date | None
    team: int
    required: int
    recorded: int
    confirmed: int
    outstanding: tuple[str, ...]


class FlaggedRecord(View):
    id: int
    held_on: date
    person: str | None
    flags: tuple[str, ...]
    #: The record's facts the rules are judged on: parties invited, who opened
    #: it (a name), what it states it covered, whom it found short (names).
    invited: tuple[str, ...] = ()
    opened_by: str | None = None
    covered: tuple[str, ...] = ()
    short: tuple[str, ...] = ()


class EventProgress(View):
    kind: str
    label: str
    label_en: str
    phase: str
    per: str | None
    required: int
    records: int
    valid: int
    #: Valid records counted towards ``required`` (distinct holders for per-role events).
    met: int
    satisfied: bool
    flagged: tuple[FlaggedRecord, ...]
    #: The rules a record must keep, each a short Chinese phrase (see
    #: :func:`workflow.render.event_rules.event_rules`).
    rules: tuple[str, ...] = ()
    from_plan: bool = True
    #: Where the event comes from (方案… or 本单位配置…).
    provenance: str = ""


class GateCheck(View):
    label: str
    satisfied: bool
    missing: tuple[str, ...]
    flagged: tuple[str, ...]
    #: The gate item's paragraph of the plan, and whether the plan prescribes it.
    paragraph: str = ""
    from_plan: bool = True
    #: Where it comes from as one line (方案… or 本单位配置…).
    provenance: str = ""


class Report(View):
    plan: PlanInfo
    today: date
    current_phase: CurrentPhase
    phases: tuple[PhaseRow, ...]
    completion: Completion
    by_type: tuple[TypeProgress, ...]
    by_unit: tuple[UnitProgress, ...]
    overdue: tuple[OverdueItem, ...]
    completed_late: tuple[LateCompletion, ...]
    targets: tuple[TargetRow, ...]
    talks: TalksSummary | None
    events: tuple[EventProgress, ...]
    gate: tuple[GateCheck, ...]
