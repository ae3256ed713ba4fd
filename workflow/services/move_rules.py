"""The rules a definition declares for its moves, checked and written on the
one move path (:mod:`workflow.services.moves`) inside the move's transaction:
the content a ``content_complete`` move needs, the publicity window around a
move, and the review opinion that quotes a return's reason.  Core statements
on the connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from workflow.errors import TransitionNotAllowed
from workflow.machine import publicity
from workflow.spec import content, sections
from workflow.spec.definition import TransitionSpec, WorkflowSpec
from workflow.store import seals
from workflow.store.models import Opinion, PublicityWindow, Revision
from workflow.store.prepared import Prepared

_WINDOWS = PublicityWindow.__table__  # type: ignore[attr-defined]
_OPINIONS = Opinion.__table__  # type: ignore[attr-defined]
_REVISIONS = Revision.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Move:
    """One move being made: who, what, from where to where, on which content."""

    deliverable_id: int
    spec: WorkflowSpec
    transition: TransitionSpec
    source: str
    dest: str
    actor: str
    comment: str | None
    today: date
    now: str
    #: The deliverable's version the move starts from.
    version: int = 0
    #: What a type's own rules need beyond the comment (a rating).
    payload: Mapping[str, str] = field(default_factory=dict)


def check_content(
    connection: Connection, move: Move, revision_sha: str, definition_sha: str
) -> None:
    """A ``content_complete`` move needs every required section in the latest revision."""
    if not move.transition.content_complete or not move.spec.required_sections:
        return
    missing = _missing(move.spec, (definition_sha, revision_sha), connection,
                       move.deliverable_id)
    if missing:
        raise TransitionNotAllowed(
            f"the content lacks {len(missing)} required section(s): {'、'.join(missing)}",
            move.deliverable_id,
        )


# Content is addressed by its hash and specs are frozen, so a verdict, once
# reached, holds for ever: a resubmitted revision is not read and parsed again.
_VERDICTS: dict[tuple[str, str], tuple[str, ...]] = {}


def _missing(
    spec: WorkflowSpec, key: tuple[str, str], connection: Connection, deliverable_id: int
) -> tuple[str, ...]:
    sha = key[1]
    if key not in _VERDICTS:
        row = connection.execute(
            select(_REVISIONS.c.media_type, _REVISIONS.c.content)
            .where(_REVISIONS.c.deliverable_id == deliverable_id, _REVISIONS.c.sha256 == sha)
            .limit(1)
        ).first()
        text = content.text_of(row.media_type, bytes(row.content)) if row else ""
        _VERDICTS[key] = tuple(s.label for s in sections.missing_sections(spec, text))
    return _VERDICTS[key]


def latest_window(connection: Connection, deliverable_id: int) -> Any:
    return connection.execute(
        select(_WINDOWS).where(_WINDOWS.c.deliverable_id == deliverable_id)
        .order_by(_WINDOWS.c.id.desc()).limit(1)
    ).first()


def open_window(connection: Connection, deliverable_id: int) -> Any:
    return connection.execute(
        select(_WINDOWS).where(_WINDOWS.c.deliverable_id == deliverable_id,
                               _WINDOWS.c.closed_at.is_(None))
    ).first()


def check_publicity(connection: Connection, move: Move) -> None:
    """Leaving publicity: an objection only while the window is open, any
    other way out only after it has ended."""
    if move.spec.publicity is None or move.source != "publicity":
        return
    window = latest_window(connection, move.deliverable_id)
    if window is None:
        return
    if move.transition.trigger == move.spec.publicity.objection_trigger:
        if window.closed_at is not None:  # ended by tick: no more objections
            publicity.require_open(window.closes_on, window.closes_on + timedelta(days=1),
                                   move.deliverable_id)
        publicity.require_open(window.closes_on, move.today, move.deliverable_id,
                               opened_on=window.opened_on)
    elif window.closed_at is None:
        publicity.require_ended(window.closes_on, move.today, move.deliverable_id)


def record_publicity(connection: Connection, move: Move) -> list[seals.Seal]:
    """Close the window a move leaves, open the one it enters; returns their seals."""
    spec = move.spec.publicity
    if spec is None:
        return []
    written = []
    if move.source == "publicity":
        outcome = "objection" if move.transition.trigger == spec.objection_trigger else "ended"
        written += close_window(connection, move.deliverable_id, move.now, outcome)
    if move.dest == "publicity":
        window = {"deliverable_id": move.deliverable_id, "opened_on": move.today,
                  "closes_on": publicity.last_day(move.today, spec.working_days),
                  "closed_at": None, "outcome": None}
        key = connection.execute(_WINDOWS.insert(), window).inserted_primary_key
        assert key is not None
        written.append(seals.seal_values("publicity_window", {**window, "id": key[0]}))
    return written


def close_window(
    connection: Connection, deliverable_id: int, now: str, outcome: str
) -> list[seals.Seal]:
    window = open_window(connection, deliverable_id)
    if window is None:
        return []
    connection.execute(
        update(_WINDOWS).where(_WINDOWS.c.id == window.id).values(closed_at=now, outcome=outcome)
    )
    return [seals.seal(connection, "publicity_window", window.id)]


def record_reason(
    connection: Connection, move: Move, revision: tuple[int, str], event_seq: int
) -> list[seals.Seal]:
    """A return, rejection or objection quotes its reason as a review opinion,
    linked to the event about to be appended (``event_seq``); returns its seal."""
    if not move.transition.requires_comment or not move.comment:
        return []
    _, written = insert_opinion(connection, {
        "deliverable_id": move.deliverable_id, "revision_number": revision[0],
        "revision_sha": revision[1], "line": None, "author_id": move.actor,
        "text": move.comment, "at": move.now, "event_seq": event_seq,
    })
    return [written]


def insert_opinion(connection: Connection, opinion: dict[str, Any]) -> tuple[int, seals.Seal]:
    """Store an opinion; returns its id and its seal."""
    _, key = _INSERT_OPINION.write(connection, opinion)
    assert key is not None
    return key, seals.seal_values("opinion", {**opinion, "id": key})


# Built once: every move runs it.
_LATEST = (
    select(_REVISIONS.c.number, _REVISIONS.c.sha256)
    .where(_REVISIONS.c.deliverable_id == bindparam("item"))
    .order_by(_REVISIONS.c.number.desc()).limit(1)
)
_INSERT_OPINION = Prepared(_OPINIONS.insert())


def latest_revision(connection: Connection, deliverable_id: int) -> tuple[int, str] | None:
    row = connection.execute(_LATEST, {"item": deliverable_id}).first()
    return (row.number, row.sha256) if row else None
