"""Which deliverables the report and ``list --overdue`` cover, and which of
them are late.  What "late" means is :mod:`workflow.services.lateness`; this
module only reads the campaign for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from workflow.campaign import Campaign
from workflow.services.lateness import Accepts, OverdueItem, complete_states
from workflow.spec.plan import PlanSpec
from workflow.store.views import DeliverableView


def overdue_items(campaign: Campaign, today: date, plan_id: str | None = None, *,
                  type_id: str | None = None, state: str | None = None,
                  owner: str | None = None) -> list[OverdueItem]:
    """Overdue deliverables of the campaign (and those tied to no campaign):
    what ``list --overdue`` shows (narrowed by its filters) and the report's
    overdue section lists.  The database finds them (``Reads.overdue``), as
    :func:`~workflow.services.lateness.find_overdue` would.

    With no campaign started, every deliverable counts and "complete" means
    a final state.
    """
    plan = None if plan_id is None and not campaign.plan.plan_ids() else campaign.plan.spec(plan_id)
    return campaign.reads.overdue(today, plan, type_id, state, owner)


def in_scope(items: Sequence[DeliverableView], plan: PlanSpec | None) -> list[DeliverableView]:
    """The plan's deliverables and those tied to no plan (rectification items
    created by hand); every one without a plan."""
    if plan is None:
        return list(items)
    return [d for d in items if d.plan_id in (plan.id, None)]


def accepts_for(campaign: Campaign, plan: PlanSpec) -> Accepts:
    """:func:`~workflow.services.lateness.is_complete` for a state the item was
    in, not only the one it is in."""
    def accepts(item: DeliverableView, state: str) -> bool:
        gated = complete_states(plan, item.type)
        if gated:
            return state in gated
        spec = campaign.registry.definition_for(item)
        return any(s.name == state and s.final for s in spec.states)
    return accepts
