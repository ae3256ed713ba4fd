"""Deliverables read a page at a time, in one statement each.

A page of deliverables comes with each one's latest revision in the same
statement (no query per row), ordered by id and keyed on it: ``after`` is the
last id the caller has seen, ``limit`` how many more it wants.  What the
definitions say (who may fire what, which states are complete) reaches the
database as a small table of literal rows (:func:`values_table`), built from
the specs at query time rather than stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, column, func, select, text
from sqlalchemy.sql.selectable import CTE

from workflow.spec.definition import WorkflowSpec
from workflow.store.models import Deliverable, Rectification, Revision, WorkflowDefinition
from workflow.store.views import DeliverableView, RevisionView

DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]
REVISIONS = Revision.__table__  # type: ignore[attr-defined]
RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]
DEFINITIONS = WorkflowDefinition.__table__  # type: ignore[attr-defined]

_LATER = REVISIONS.alias("later")
#: The latest revision of each deliverable: the unique (deliverable, number)
#: index answers the max, so joining it costs one index probe per row.
LATEST = REVISIONS.alias("latest")
_LATEST_ON = and_(
    LATEST.c.deliverable_id == DELIVERABLES.c.id,
    LATEST.c.number == select(func.max(_LATER.c.number))
    .where(_LATER.c.deliverable_id == DELIVERABLES.c.id).scalar_subquery(),
)
_VIEW_COLUMNS = (
    *(DELIVERABLES.c[name] for name in (
        "id", "type_id", "definition_sha", "title", "plan_id", "phase", "owner_id", "state",
        "version", "due", "created_at", "updated_at")),
    LATEST.c.number.label("rev_number"), LATEST.c.sha256.label("rev_sha256"),
    LATEST.c.filename.label("rev_filename"), LATEST.c.media_type.label("rev_media_type"),
    LATEST.c.size.label("rev_size"), LATEST.c.author_id.label("rev_author"),
    LATEST.c.created_at.label("rev_at"),
)

Specs = Callable[[str], WorkflowSpec]


def views_select(*extra: Any) -> Select[Any]:
    """Deliverables with their latest revision (columns ``rev_*``, NULL without
    content), and ``extra`` columns; join more to it, filter it, page it."""
    return (select(*_VIEW_COLUMNS, *extra)
            .select_from(DELIVERABLES).outerjoin(LATEST, _LATEST_ON))


def paged(query: Select[Any], limit: int | None, after: int | None) -> Select[Any]:
    """``query`` ordered by deliverable id: the ``limit`` first after id ``after``."""
    if after is not None:
        query = query.where(DELIVERABLES.c.id > after)
    query = query.order_by(DELIVERABLES.c.id)
    return query if limit is None else query.limit(limit)


def has_content() -> ColumnElement[bool]:
    """Whether a deliverable has a revision: an index probe, no join."""
    return select(REVISIONS.c.id).where(
        REVISIONS.c.deliverable_id == DELIVERABLES.c.id).exists()


def to_view(spec: WorkflowSpec, row: Any) -> DeliverableView:
    """A row of :func:`views_select` as the API shows it."""
    state = spec.state(row.state)
    revision = None if row.rev_number is None else RevisionView(
        number=row.rev_number, sha256=row.rev_sha256, filename=row.rev_filename,
        media_type=row.rev_media_type, size=row.rev_size, author=row.rev_author, at=row.rev_at)
    return DeliverableView(
        id=row.id, type=row.type_id, definition_sha256=row.definition_sha, title=row.title,
        plan_id=row.plan_id, phase=row.phase, owner=row.owner_id, state=row.state,
        state_label=state.label, final=state.final, version=row.version, due=row.due,
        created_at=row.created_at, updated_at=row.updated_at, revision=revision)


def to_views(specs: Specs, rows: Iterable[Any]) -> Iterator[DeliverableView]:
    return (to_view(specs(row.definition_sha), row) for row in rows)


def definitions_in_use(connection: Any) -> list[tuple[str, str]]:
    """(type id, definition hash) of every definition a deliverable may run
    under: every one loaded (a deliverable names its definition by a foreign
    key).  Read from the few definition rows, not the many deliverables; a
    definition nobody uses only adds rows that match nothing."""
    query = select(DEFINITIONS.c.type_id, DEFINITIONS.c.sha256).order_by(
        DEFINITIONS.c.type_id, DEFINITIONS.c.sha256)
    return [(r[0], r[1]) for r in connection.execute(query)]


def values_table(name: str, columns: Sequence[tuple[str, type[Any]]],
                 rows: Sequence[Sequence[str | int]]) -> CTE:
    """``rows`` as a common table expression ``name``: ``VALUES`` under
    ``SELECT column1 AS …`` (the default names both SQLite and PostgreSQL give
    a VALUES list's columns).  Strings travel as bound parameters, integers
    as literals.  No rows: one row of empty strings and -1, which matches none."""
    rows = rows or [tuple("" if kind is String else -1 for _, kind in columns)]
    params: dict[str, Any] = {}
    tuples = []
    for i, row in enumerate(rows):
        cells = []
        for j, value in enumerate(row):
            if isinstance(value, int):
                cells.append(str(int(value)))
            else:
                params[f"{name}_{i}_{j}"] = value
                cells.append(f":{name}_{i}_{j}")
        tuples.append(f"({', '.join(cells)})")
    heads = ", ".join(f"column{j + 1} AS {head}" for j, (head, _) in enumerate(columns))
    statement = text(f"SELECT {heads} FROM (VALUES {', '.join(tuples)}) AS {name}_rows")
    return statement.bindparams(**params).columns(
        *(column(head, kind) for head, kind in columns)).cte(name)

