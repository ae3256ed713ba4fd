"""The counts and lists the report and the gates read, asked of the database.

:mod:`workflow.services.lateness` says what complete, overdue and completed
late mean; the statements here answer the same with ``GROUP BY`` (a few rows
per type, state, unit or phase come back, never one per deliverable), and
the lists a reader needs (a gate's missing deliverables, the items completed
late) with one statement each.  Which states count as complete reaches the
database as the small table :func:`workflow.services.overdue.complete_rows`
builds from the plan's gates and the definitions' final states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.sql.selectable import CTE

from workflow.services.lateness import LateCompletion, campaign_day
from workflow.services.listing import DELIVERABLES, RECTIFICATIONS, Specs, values_table
from workflow.spec.definition import Role
from workflow.spec.plan import PlanSpec, group_roles
from workflow.store.models import AuditEvent, EventRecord, Talk, User, UserRole

NO_UNIT = "（未填单位）"
_USERS = User.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_OWNER = _USERS.alias("owner_user")
_RESPONSIBLE = _USERS.alias("responsible_user")


@dataclass(frozen=True)
class StateTally:
    """How many deliverables of one definition sit in one state; ``last_id``
    is the highest id among them (the report labels a state, and titles a
    type, after its latest deliverable's definition)."""

    type_id: str
    definition_sha: str
    state: str
    count: int
    last_id: int
    complete: bool


@dataclass(frozen=True)
class UnitTally:
    """One unit's deliverables (by their owner's unit): all, and complete."""

    unit: str
    total: int
    complete: int


@dataclass(frozen=True)
class PhaseTally:
    """A campaign's deliverables of one phase, definition and state."""

    phase: str | None
    type_id: str
    state: str
    count: int
    complete: bool


def complete_table(rows: Sequence[tuple[str, str, str]]) -> CTE:
    """(type, definition, state) rows that count as complete, as a table."""
    return values_table("complete", [("type", String), ("sha", String), ("state", String)], rows)


def is_complete(done: CTE, state: Any = None) -> ColumnElement[bool]:
    """Whether the deliverable (in ``state``, by default its own) counts as complete."""
    here = DELIVERABLES.c.state if state is None else state
    return select(done.c.state).where(
        done.c.sha == DELIVERABLES.c.definition_sha, done.c.state == here,
    ).correlate_except(done).exists()


def in_scope(plan: PlanSpec | None) -> ColumnElement[bool]:
    """The plan's deliverables and those tied to none; every one without a plan."""
    column = DELIVERABLES.c.plan_id
    return true() if plan is None else or_(column == plan.id, column.is_(None))


# -- by type and state, by unit ---------------------------------------------------------------


def by_state_select(plan: PlanSpec | None) -> Select[Any]:
    """Per definition and state (the definition says the type): one pass over
    an index that holds the three columns it reads."""
    d = DELIVERABLES.c
    return (select(d.definition_sha, d.state, func.count().label("n"),
                   func.max(d.id).label("last_id"))
            .where(in_scope(plan)).group_by(d.definition_sha, d.state))


def state_tallies(rows: Iterable[Any], in_use: Iterable[tuple[str, str]],
                  complete: Sequence[tuple[str, str, str]]) -> list[StateTally]:
    """The rows of :func:`by_state_select`, each with its type (``in_use``:
    (type, definition) pairs) and whether its state counts as complete
    (``complete``: :func:`workflow.services.overdue.complete_rows`)."""
    done = {(sha, state) for _, sha, state in complete}
    types = {sha: type_id for type_id, sha in in_use}
    return [StateTally(types.get(r.definition_sha, ""), r.definition_sha, r.state, r.n,
                       r.last_id, (r.definition_sha, r.state) in done) for r in rows]


def by_unit_select(plan: PlanSpec | None, complete: Sequence[tuple[str, str, str]]
                   ) -> Select[Any]:
    """Per owner first (an index holds their rows together), then per unit:
    all, and complete — a (definition, state) pair in ``complete``, matched as
    one string against a list the database hashes once."""
    d = DELIVERABLES.c
    pairs = sorted({f"{sha}{_PAIR}{state}" for _, sha, state in complete}) or [""]
    finished = (d.definition_sha + literal(_PAIR) + d.state).in_(pairs)
    owners = (select(d.owner_id, func.count().label("n"),
                     func.sum(case((finished, 1), else_=0)).label("done"))
              .where(in_scope(plan)).group_by(d.owner_id).subquery("owners"))
    return (select(_OWNER.c.unit.label("unit"), func.sum(owners.c.n).label("total"),
                   func.sum(owners.c.done).label("complete"))
            .select_from(owners.outerjoin(_OWNER, _OWNER.c.id == owners.c.owner_id))
            .group_by(_OWNER.c.unit))


#: Between a definition's hash (hex) and a state's name: in neither.
_PAIR = "|"


def unit_tallies(rows: Iterable[Any]) -> list[UnitTally]:
    """By unit name (as Python sorts it); an owner with no unit, or who is no
    user, counts for :data:`NO_UNIT`."""
    units: dict[str, tuple[int, int]] = {}
    for r in rows:
        name = r.unit or NO_UNIT
        total, complete = units.get(name, (0, 0))
        units[name] = (total + int(r.total), complete + int(r.complete))
    return [UnitTally(name, *units[name]) for name in sorted(units)]


# -- a campaign's own deliverables: phases, gates ---------------------------------------------


def by_phase_select(plan_id: str, done: CTE) -> Select[Any]:
    d = DELIVERABLES.c
    return (select(d.phase, d.type_id, d.state, func.count().label("n"),
                   is_complete(done).label("complete"))
            .where(d.plan_id == plan_id).group_by(d.phase, d.type_id, d.definition_sha, d.state))


def phase_tallies(rows: Iterable[Any]) -> list[PhaseTally]:
    return [PhaseTally(r.phase, r.type_id, r.state, r.n, bool(r.complete)) for r in rows]


def any_select(plan_id: str, type_id: str) -> Select[Any]:
    """Whether the campaign has a deliverable of ``type_id``."""
    d = DELIVERABLES.c
    return select(literal(1)).where(d.plan_id == plan_id, d.type_id == type_id).limit(1)


def short_of_select(plan_id: str, type_id: str, states: Sequence[str]) -> Select[Any]:
    """The campaign's deliverables of ``type_id`` in none of ``states``, by id,
    with their owner's name (NULL for an owner who is no user)."""
    d = DELIVERABLES.c
    query = (select(d.id, d.title, d.owner_id, d.definition_sha, d.state,
                    _OWNER.c.name.label("owner_name"))
             .select_from(DELIVERABLES.outerjoin(_OWNER, _OWNER.c.id == d.owner_id))
             .where(d.plan_id == plan_id, d.type_id == type_id))
    if states:
        query = query.where(d.state.not_in(list(states)))
    return query.order_by(d.id)


# -- the people a campaign's gates name ---------------------------------------------------------


def named_by(plan_id: str, plan: PlanSpec) -> Select[Any]:
    """The ids of the people a campaign's gates and report may name: the
    leadership team, the holders of every role the plan wants an event from,
    everyone its event records and talks name, and whoever moved its phases.
    Not the campaign's every member."""
    roles = {Role.PRINCIPAL.value, Role.LEADER.value}.union(
        *(group_roles(e.per) for e in plan.events if e.per))
    events, talks = EventRecord.__table__, Talk.__table__  # type: ignore[attr-defined]
    log, held = AuditEvent.__table__, UserRole.__table__  # type: ignore[attr-defined]
    return union(
        select(held.c.user_id).where(held.c.role.in_(sorted(roles))),
        select(events.c.person).where(events.c.plan_id == plan_id,
                                      events.c.person.is_not(None)),
        select(talks.c.first).where(talks.c.plan_id == plan_id),
        select(talks.c.second).where(talks.c.plan_id == plan_id),
        select(log.c.actor).where(log.c.deliverable_id.is_(None),
                                  log.c.action.startswith("phase.")),
    ).subquery("named").select()


# -- completed late ----------------------------------------------------------------------------


def completed_select(plan: PlanSpec | None, done: CTE) -> Select[Any]:
    """Complete deliverables with a due date, each with the time of the move
    that last made it complete: the first transition after its last
    transition into a state that does not count (as
    :func:`~workflow.services.lateness.completed_on` walks them).  NULL when
    no transition made it complete.  Two index probes of its events each."""
    d = DELIVERABLES.c
    moved, undone = _EVENTS.alias("moved"), _EVENTS.alias("undone")
    last_undone = (select(func.max(undone.c.seq))
                   .where(undone.c.deliverable_id == d.id, undone.c.action == "transition",
                          or_(undone.c.dest.is_(None), ~is_complete(done, undone.c.dest)))
                   .correlate(DELIVERABLES).scalar_subquery())
    became = (select(moved.c.at)
              .where(moved.c.deliverable_id == d.id, moved.c.action == "transition",
                     moved.c.seq > func.coalesce(last_undone, 0))
              .order_by(moved.c.seq).limit(1).correlate(DELIVERABLES).scalar_subquery())
    # From the complete (definition, state) pairs: each an index range of deliverables.
    return (select(d.id, d.title, d.type_id, d.definition_sha, d.owner_id, d.due, d.state,
                   RECTIFICATIONS.c.responsible_id, _OWNER.c.id.label("owner_known"),
                   _OWNER.c.name.label("owner_name"), _OWNER.c.unit.label("owner_unit"),
                   _RESPONSIBLE.c.id.label("responsible_known"),
                   _RESPONSIBLE.c.name.label("responsible_name"), became.label("became"))
            .select_from(done.join(DELIVERABLES, and_(d.definition_sha == done.c.sha,
                                                      d.state == done.c.state))
                         .outerjoin(RECTIFICATIONS, RECTIFICATIONS.c.deliverable_id == d.id)
                         .outerjoin(_OWNER, _OWNER.c.id == d.owner_id)
                         .outerjoin(_RESPONSIBLE,
                                    _RESPONSIBLE.c.id == RECTIFICATIONS.c.responsible_id))
            .where(d.due.is_not(None), in_scope(plan)))


def late_completion(row: Any, specs: Specs) -> LateCompletion | None:
    """A row of :func:`completed_select` as the report lists it, when the day
    it became complete (where the campaign runs) is after its due date."""
    done = None if row.became is None else campaign_day(row.became)
    if done is None or done <= row.due:
        return None
    other = row.responsible_id if row.responsible_id and row.responsible_id != row.owner_id \
        else None
    return LateCompletion(
        id=row.id, title=row.title, type=row.type_id, due=row.due, completed_on=done,
        days_late=(done - row.due).days, state=row.state,
        state_label=specs(row.definition_sha).state(row.state).label, owner=row.owner_id,
        owner_name=row.owner_name if row.owner_known is not None else row.owner_id,
        unit=row.owner_unit or NO_UNIT, responsible=other,
        responsible_name=None if other is None else
        row.responsible_name if row.responsible_known is not None else other)
