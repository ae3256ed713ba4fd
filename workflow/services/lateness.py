"""Who answers for a deliverable, when it is complete, and how late it is.

One notion each, shared by the report and ``list --overdue``:

- An item's *responsible person* is its 整改责任人 when it is a rectification
  item whose fields name one, else its owner.  Its unit is its owner's, as in
  a rectification ledger's 责任领导 and 责任单位: a leader answers for an
  item a department carries out.
- It is *complete* when its state is one the plan's gates accept for its type
  (the union over all gates), or, for a type no gate names (or without a
  plan), a final state of its definition.
- It is *overdue* when it is not complete and its due date is before
  ``today``: due today is not overdue, due yesterday is one day late.
- It was *completed late* when the day it last became complete (its audit
  events, on the campaign's calendar, ``CAMPAIGN_TZ``) is after its due date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import TypedDict

from workflow.spec.plan import PlanSpec
from workflow.store.clock import campaign_zone
from workflow.store.views import DeliverableView, EventView, UserView, View

#: Whether a deliverable in the given state counts as complete.
Accepts = Callable[[DeliverableView, str], bool]


class LateItem(View):
    """A deliverable past its due date, with who answers for it."""

    id: int
    title: str
    type: str
    owner: str
    owner_name: str
    #: The owner's unit (the department carrying it out).
    unit: str
    due: date
    days_late: int
    state: str
    state_label: str
    #: A rectification item's responsible person (整改责任人), when not its owner;
    #: None when the owner answers for it.
    responsible: str | None = None
    responsible_name: str | None = None


class OverdueItem(LateItem):
    """Not complete, and past its due date."""


class LateCompletion(LateItem):
    """A complete item that became complete after its due date."""

    completed_on: date


# -- complete, overdue ------------------------------------------------------------------


@cache
def complete_states(plan: PlanSpec, type_id: str) -> frozenset[str]:
    """The states every gate line on ``type_id`` accepts (maybe none).

    A type may be named by more than one gate: a 即知即改 item leaves the
    study link once in progress, and the rectify link only once done.  It is
    complete when no later gate still wants it moved, so in the states they
    all accept, not in any one of them."""
    lines = [frozenset(item.states) for _, phase in plan.leaves() for item in phase.gate
             if item.deliverable == type_id]
    return frozenset.intersection(*lines) if lines else frozenset()


def is_complete(item: DeliverableView, plan: PlanSpec | None) -> bool:
    """In a state the plan's gates accept for its type, else in a final state."""
    accepted = complete_states(plan, item.type) if plan is not None else None
    return item.state in accepted if accepted else item.final


def days_late(item: DeliverableView, today: date) -> int:
    """Whole days past the due date (0 when not due yet, due today or undated)."""
    return max((today - item.due).days, 0) if item.due else 0


def is_overdue(item: DeliverableView, plan: PlanSpec | None, today: date) -> bool:
    return days_late(item, today) > 0 and not is_complete(item, plan)


# -- people ---------------------------------------------------------------------------------


def responsible_for(item: DeliverableView, responsible: Mapping[int, str]) -> str:
    """The person who answers for ``item``: its 整改责任人, else its owner."""
    return responsible.get(item.id) or item.owner


def name_of(people: Mapping[str, UserView], user_id: str) -> str:
    return people[user_id].name if user_id in people else user_id


def unit_of(people: Mapping[str, UserView], user_id: str) -> str:
    person = people.get(user_id)
    return (person.unit if person and person.unit else None) or "（未填单位）"


class _Who(TypedDict):
    owner: str
    owner_name: str
    unit: str
    responsible: str | None
    responsible_name: str | None


def _who(
    item: DeliverableView, people: Mapping[str, UserView], responsible: Mapping[int, str]
) -> _Who:
    """The owner with their name and unit and, when someone else answers for
    the item, that person and their name."""
    answers = responsible_for(item, responsible)
    other = answers if answers != item.owner else None
    return _Who(owner=item.owner, owner_name=name_of(people, item.owner),
                unit=unit_of(people, item.owner), responsible=other,
                responsible_name=name_of(people, other) if other else None)


# -- the lists ------------------------------------------------------------------------------


def find_overdue(
    items: Sequence[DeliverableView], plan: PlanSpec | None, people: Sequence[UserView],
    today: date, responsible: Mapping[int, str] | None = None,
) -> list[OverdueItem]:
    """The overdue ones among ``items``, latest first.  ``responsible`` maps a
    rectification item to its responsible person."""
    by_id = {p.id: p for p in people}
    named = responsible or {}
    late = [
        OverdueItem(id=d.id, title=d.title, type=d.type, due=d.due, state=d.state,
                    state_label=d.state_label, days_late=days_late(d, today),
                    **_who(d, by_id, named))
        for d in items if d.due is not None and is_overdue(d, plan, today)
    ]
    return sorted(late, key=lambda o: (-o.days_late, o.id))


def completed_on(
    item: DeliverableView, moves: Sequence[EventView], accepts: Accepts
) -> date | None:
    """The campaign day ``item`` last became complete, from its transitions
    (oldest first); None if it is not complete now.  An item sent back out of
    a complete state and completed again counts from the second time."""
    day: date | None = None
    for move in moves:
        if move.dest is None or not accepts(item, move.dest):
            day = None  # sent back: it is not complete (yet) again
        elif day is None:
            day = campaign_day(move.at)
    return day if accepts(item, item.state) else None


def find_completed_late(
    items: Sequence[DeliverableView], people: Sequence[UserView],
    transitions: Sequence[EventView], accepts: Accepts,
    responsible: Mapping[int, str] | None = None,
) -> list[LateCompletion]:
    """Complete items that became complete after their due date, latest first.

    ``transitions`` are the audit log's transition events (oldest first)."""
    by_item: dict[int, list[EventView]] = {}
    for event in transitions:
        if event.deliverable_id is not None:
            by_item.setdefault(event.deliverable_id, []).append(event)
    by_id = {p.id: p for p in people}
    rows = []
    for item in items:
        done = completed_on(item, by_item.get(item.id, []), accepts)
        if item.due is None or done is None or done <= item.due:
            continue
        rows.append(LateCompletion(
            id=item.id, title=item.title, type=item.type, due=item.due, completed_on=done,
            days_late=(done - item.due).days, state=item.state, state_label=item.state_label,
            **_who(item, by_id, responsible or {})))
    return sorted(rows, key=lambda o: (-o.days_late, o.id))


def campaign_day(stamp: str) -> date:
    """The day an audit time stamp (UTC) falls on where the campaign runs."""
    return datetime.fromisoformat(stamp).astimezone(campaign_zone()).date()
