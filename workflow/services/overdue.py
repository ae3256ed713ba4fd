"""The overdue deliverables, found by the database.

:func:`workflow.services.lateness.find_overdue` says what overdue means; this
asks the same in one statement: due before today, not in a state that counts
as complete for its type and definition (a table built from the plan's gates
and the definitions' final states), with the owner's name and unit and the
responsible person's name joined in.  Latest first: the earliest due date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, String, and_, false, or_, select, tuple_

from workflow.services.lateness import OverdueItem, complete_states
from workflow.services.listing import DELIVERABLES, RECTIFICATIONS, Specs, values_table
from workflow.spec.plan import PlanSpec
from workflow.store.models import User

_USERS = User.__table__  # type: ignore[attr-defined]
_OWNER = _USERS.alias("owner_user")
_RESPONSIBLE = _USERS.alias("responsible_user")
_NO_UNIT = "（未填单位）"


def complete_rows(plan: PlanSpec | None, in_use: Iterable[tuple[str, str]],
                  specs: Specs) -> list[tuple[str, str, str]]:
    """(type, definition, state) for every state that counts as complete:
    the plan's gates' states for a type they name, else the final states."""
    rows: list[tuple[str, str, str]] = []
    for type_id, sha in in_use:
        gated = complete_states(plan, type_id) if plan is not None else None
        states = gated if gated else specs(sha).final_states
        rows.extend((type_id, sha, state) for state in sorted(states))
    return rows


def overdue_select(today: date, plan: PlanSpec | None, complete: Sequence[tuple[str, str, str]],
                   type_id: str | None = None, state: str | None = None,
                   owner: str | None = None) -> Select[Any]:
    d = DELIVERABLES.c
    done = values_table("complete", [("type", String), ("sha", String), ("state", String)],
                        complete)
    query = (
        select(d.id, d.title, d.type_id, d.definition_sha, d.owner_id, d.due, d.state,
               RECTIFICATIONS.c.responsible_id, _OWNER.c.id.label("owner_known"),
               _OWNER.c.name.label("owner_name"), _OWNER.c.unit.label("owner_unit"),
               _RESPONSIBLE.c.id.label("responsible_known"),
               _RESPONSIBLE.c.name.label("responsible_name"))
        .select_from(DELIVERABLES.outerjoin(RECTIFICATIONS, RECTIFICATIONS.c.deliverable_id == d.id)
                     .outerjoin(_OWNER, _OWNER.c.id == d.owner_id)
                     .outerjoin(_RESPONSIBLE, _RESPONSIBLE.c.id == RECTIFICATIONS.c.responsible_id))
        .where(d.due.is_not(None), d.due < today, ~select(done.c.state).where(and_(
            done.c.type == d.type_id, done.c.sha == d.definition_sha, done.c.state == d.state,
        )).exists())
        .order_by(d.due, d.id)
    )
    if plan is not None:  # the plan's deliverables, and those tied to none
        query = query.where(or_(d.plan_id == plan.id, d.plan_id.is_(None)))
    for column, wanted in ((d.type_id, type_id), (d.state, state), (d.owner_id, owner)):
        if wanted is not None:
            query = query.where(column == wanted)
    return query


def after(query: Select[Any], connection: Any, after_id: int) -> Select[Any]:
    """``query`` (of :func:`overdue_select`) past the deliverable ``after_id``
    in its order (due date, then id): the next page.  Nothing when that
    deliverable has no due date or does not exist."""
    d = DELIVERABLES.c
    due = connection.execute(select(d.due).where(d.id == after_id)).scalar()
    if due is None:
        return query.where(false())
    return query.where(tuple_(d.due, d.id) > tuple_(due, after_id))


def overdue_item(row: Any, today: date, specs: Specs) -> OverdueItem:
    """A row of :func:`overdue_select`, with who answers for it as
    :func:`~workflow.services.lateness.find_overdue` names them."""
    other = row.responsible_id if row.responsible_id and row.responsible_id != row.owner_id \
        else None
    return OverdueItem(
        id=row.id, title=row.title, type=row.type_id, due=row.due, state=row.state,
        state_label=specs(row.definition_sha).state(row.state).label,
        days_late=(today - row.due).days, owner=row.owner_id,
        owner_name=row.owner_name if row.owner_known is not None else row.owner_id,
        unit=row.owner_unit or _NO_UNIT, responsible=other,
        responsible_name=None if other is None else
        row.responsible_name if row.responsible_known is not None else other)
