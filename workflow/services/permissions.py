"""Who may fire what from which state, as a table the database joins.

The inbox asks, for every deliverable, what :func:`workflow.machine.policy.may_fire`
would answer for each transition out of its state.  The answer depends on the
definition and state (which transitions, which roles, which owner rule), on
the actor's roles, and per deliverable only on who answers for it (owner,
responsible person) and whether it has content.  So the definitions become a
table of (definition, state, position, trigger, role, owner rule) rows — a few
hundred — built at query time; the actor's roles pick the rows they hold
(:func:`allowed`), and one statement joins what is left with the deliverables,
their rectification rows and their latest revision.  Nothing is stored, so a
definition loaded later needs no migration.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, Select, String, and_, false, or_, select, union
from sqlalchemy.sql.selectable import CTE

from workflow.machine.policy import Actor
from workflow.services.listing import (
    DELIVERABLES,
    LATEST,
    RECTIFICATIONS,
    Specs,
    has_content,
    paged,
    to_view,
    values_table,
    views_select,
)
from workflow.spec.definition import Rule, TransitionSpec, WorkflowSpec
from workflow.store.views import InboxItem

#: The owner rules, as the table holds them (at most one per transition).
ANYONE, OWNER_ONLY, OWNER_OR_RESPONSIBLE, NOT_OWNER = 0, 1, 2, 3
_RULES = ((Rule.OWNER_ONLY, OWNER_ONLY), (Rule.OWNER_OR_RESPONSIBLE, OWNER_OR_RESPONSIBLE),
          (Rule.NOT_OWNER, NOT_OWNER))


@dataclass(frozen=True)
class Permission:
    """One role may fire ``trigger`` from ``state`` under a definition, subject
    to the owner ``rule``.  ``position`` is the transition's place in its
    definition: the order the inbox lists triggers in."""

    definition_sha: str
    state: str
    position: int
    trigger: str
    role: str
    rule: int


def owner_rule(transition: TransitionSpec) -> int:
    return next((code for rule, code in _RULES if rule in transition.rules), ANYONE)


def permissions(sha: str, spec: WorkflowSpec) -> Iterator[Permission]:
    """Every (state, transition, role) of one definition, in definition order."""
    for position, transition in enumerate(spec.transitions):
        for state in dict.fromkeys(transition.source):
            for role in transition.roles:
                yield Permission(sha, state, position, transition.trigger, role,
                                 owner_rule(transition))


def allowed(actor: Actor, rows: Iterable[Permission]) -> list[tuple[str, str, int, str, int]]:
    """The transitions ``actor``'s roles allow (one row each, however many of
    its roles they hold): the first test of ``transition_role``."""
    held = {(p.definition_sha, p.state, p.position, p.trigger, p.rule)
            for p in rows if actor.has(p.role)}
    return sorted(held)


def _answers_allow(may: CTE, actor: str) -> ColumnElement[bool]:
    """The owner rules of ``transition_role``, for the row's deliverable."""
    owner, responsible = DELIVERABLES.c.owner_id, RECTIFICATIONS.c.responsible_id
    return or_(
        may.c.rule == ANYONE,
        and_(may.c.rule == OWNER_ONLY, owner == actor),
        and_(may.c.rule == OWNER_OR_RESPONSIBLE, or_(owner == actor, responsible == actor)),
        and_(may.c.rule == NOT_OWNER, owner != actor,
             or_(responsible.is_(None), responsible != actor)),
    )


def _here(table: CTE) -> ColumnElement[bool]:
    return and_(table.c.sha == DELIVERABLES.c.definition_sha,
                table.c.state == DELIVERABLES.c.state)


def inbox_select(actor: Actor, in_use: Sequence[tuple[str, WorkflowSpec]],
                 limit: int | None = None, after: int | None = None) -> Select[object]:
    """One row per (deliverable, trigger ``actor`` may fire), triggers in
    definition order; a deliverable without content that its owner may still
    revise comes once, with trigger NULL.  Paged on deliverables, by id.

    The page is found from an index, never by reading every deliverable:
    the deliverables in each (definition, state) where the actor's roles
    allow a move to anyone but the owner, those the actor owns, and those
    the actor answers for — each branch its first ``limit`` by id."""
    held = allowed(actor, (p for sha, spec in in_use for p in permissions(sha, spec)))
    may = values_table("may", [("sha", String), ("state", String), ("position", Integer),
                               ("trigger", String), ("rule", Integer)], held)
    editable = values_table("editable", [("sha", String), ("state", String)],
                            [(sha, s) for sha, spec in in_use for s in spec.editable_states])
    answerable = and_(_here(may), _answers_allow(may, actor.id))
    wanted = or_(
        and_(has_content(), select(may.c.position).where(answerable).exists()),
        and_(DELIVERABLES.c.owner_id == actor.id, ~has_content(),
             select(editable.c.state).where(_here(editable)).exists()),
    ) if in_use else false()
    d = DELIVERABLES.c
    found = select(d.id).select_from(DELIVERABLES.outerjoin(
        RECTIFICATIONS, RECTIFICATIONS.c.deliverable_id == d.id)).where(wanted)
    anyone = sorted({(sha, state) for sha, state, _, _, rule in held
                     if rule in (ANYONE, NOT_OWNER)})
    branches = [found.where(d.definition_sha == sha, d.state == state) for sha, state in anyone]
    branches.append(found.where(d.owner_id == actor.id))
    if any(rule == OWNER_OR_RESPONSIBLE for *_, rule in held):
        branches.append(found.where(RECTIFICATIONS.c.responsible_id == actor.id))
    pages = [paged(branch, limit, after).subquery(f"branch_{n}") for n, branch in
             enumerate(branches)]
    ids = union(*(select(page.c.id) for page in pages)).subquery("page")
    page_ids = select(ids.c.id).order_by(ids.c.id)
    if limit is not None:
        page_ids = page_ids.limit(limit)
    # IN, not a join: the page's ids drive, however the planner weighs the tables.
    return (views_select(may.c.trigger)
            .where(DELIVERABLES.c.id.in_(page_ids))
            .outerjoin(RECTIFICATIONS, RECTIFICATIONS.c.deliverable_id == DELIVERABLES.c.id)
            .outerjoin(may, and_(answerable, LATEST.c.number.is_not(None)))
            .order_by(DELIVERABLES.c.id, may.c.position))


def inbox_items(rows: Iterable[object], specs: Specs) -> list[InboxItem]:
    """The rows of :func:`inbox_select`, one item per deliverable."""
    items: list[InboxItem] = []
    current: object = None
    triggers: list[str] = []
    for row in rows:
        if current is None or current.id != row.id:  # type: ignore[attr-defined]
            _flush(items, current, triggers, specs)
            current, triggers = row, []
        if row.trigger is not None:  # type: ignore[attr-defined]
            triggers.append(row.trigger)  # type: ignore[attr-defined]
    _flush(items, current, triggers, specs)
    return items


def _flush(items: list[InboxItem], row: object, triggers: list[str], specs: Specs) -> None:
    if row is not None:
        view = to_view(specs(row.definition_sha), row)  # type: ignore[attr-defined]
        items.append(InboxItem(deliverable=view, triggers=tuple(triggers)))
