"""Which deliverables ``list --overdue`` and the report's overdue section
cover.  What "late" means is :mod:`workflow.services.lateness`; the database
finds them (:mod:`workflow.services.overdue`)."""

from __future__ import annotations

from datetime import date

from workflow.campaign import Campaign
from workflow.services.lateness import OverdueItem


def overdue_items(campaign: Campaign, today: date, plan_id: str | None = None, *,
                  type_id: str | None = None, state: str | None = None,
                  owner: str | None = None, limit: int | None = None,
                  after: int | None = None) -> list[OverdueItem]:
    """Overdue deliverables of the campaign (and those tied to no campaign):
    what ``list --overdue`` shows (narrowed by its filters) and the report's
    overdue section lists.  The database finds them (``Reads.overdue``), as
    :func:`~workflow.services.lateness.find_overdue` would, latest first;
    ``limit`` of them after the deliverable ``after`` (the last id of the
    previous page), cut by the database.

    With no campaign started, every deliverable counts and "complete" means
    a final state.
    """
    plan = None if plan_id is None and not campaign.plan.plan_ids() else campaign.plan.spec(plan_id)
    return campaign.reads.overdue(today, plan, type_id, state, owner, limit=limit, after=after)
