"""The note beside a phase on the phase diagram: its exit gate's items, ticked
where met today, and who forced the phase onward, when and why; and the
running campaign's :class:`CampaignState` those marks come from."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from workflow.render.diagram_style import CONFIGURED_COLOUR
from workflow.render.labels import CONFIGURED_MARK, role_label, source_short
from workflow.render.plan_diagram_style import DUE, LEFT, MUTED, month_day
from workflow.services.gates import Check, Forced
from workflow.spec.plan import EventSpec, GateItem, PhaseSpec, PlanSpec

#: Characters per line of a forced advance's reason in its gate note.
_REASON_WIDTH = 20


@dataclass(frozen=True)
class CampaignState:
    """A running campaign's gates, to draw over its plan (read from the database
    by the caller; this module never reads it)."""

    #: Leaf phase name → its checklist today (:func:`workflow.services.gates.checklist`,
    #: one line per gate item, in the plan's order).
    checks: Mapping[str, Sequence[Check]] = field(default_factory=dict)
    #: Leaf phase name → how it was left by force.
    forced: Mapping[str, Forced] = field(default_factory=dict)


def gate_note(
    plan: PlanSpec, phase: PhaseSpec, titles: Mapping[str, str],
    checks: Sequence[Check] | None, forced: Forced | None,
) -> str:
    """The gate's items, ticked where ``checks`` (one per item) says met; a
    forced phase adds who forced it, when and why."""
    if checks is not None and len(checks) != len(phase.gate):
        checks = None  # not this plan's checklist: claim nothing
    text = "<B>推进条件 Exit gate</B>"
    if forced:
        text += f' <FONT COLOR="{DUE}"><B>强制推进 forced</B></FONT>'
    text += LEFT
    for index, item in enumerate(phase.gate):
        mark = "✓" if checks is not None and checks[index].satisfied else "□"
        text += f"{mark} {_item_text(plan, item, titles)}{LEFT}"
    if forced:
        who = f"{forced.by_name}（{forced.by}）{forced.on} 强制推进，理由："
        reason = textwrap.wrap(forced.reason, _REASON_WIDTH) or ["—"]
        text += "".join(f'<FONT COLOR="{DUE}">{escape(line)}</FONT>{LEFT}'
                        for line in [who, *reason])
    return text


def _item_text(plan: PlanSpec, item: GateItem, titles: Mapping[str, str]) -> str:
    """A gate line and, small, where it comes from; one the plan does not
    prescribe is grey and marked, as on the type diagrams."""
    text = escape(gate_text(plan, item, titles))
    if not item.from_plan:
        return (f'<FONT COLOR="{CONFIGURED_COLOUR}">{text}</FONT>'
                f'<FONT POINT-SIZE="9" COLOR="{CONFIGURED_COLOUR}">{CONFIGURED_MARK}</FONT>')
    return f'{text} <FONT POINT-SIZE="9" COLOR="{MUTED}">{escape(source_short(item))}</FONT>'


def gate_tooltip(plan: PlanSpec, phase: PhaseSpec, titles: Mapping[str, str]) -> str:
    """Every gate line with its paragraph in full, for the note's tooltip."""
    return "；".join(f"{gate_text(plan, item, titles)}：{item.provenance}" for item in phase.gate)


def gate_text(plan: PlanSpec, item: GateItem, titles: Mapping[str, str]) -> str:
    if item.deliverable is not None:
        return titles.get(item.deliverable, item.deliverable)
    if item.event is not None:
        return _event_text(plan.event(item.event))
    assert plan.talks is not None  # validated: a talks gate needs declared talks
    return plan.talks.label + (f"（{month_day(plan.talks.due)} 前）" if plan.talks.due else "")


def _event_text(event: EventSpec) -> str:
    parts = [f"各{role_label(event.per)}"] if event.per else []
    if event.min_count > 1:
        parts.append(f"≥{event.min_count} 次")
    if event.min_days:
        parts.append(f"每次 ≥{event.min_days:g} 天")
    if event.deadline:
        parts.append(f"{month_day(event.deadline)} 前")
    return event.label + (f"（{'，'.join(parts)}）" if parts else "")
