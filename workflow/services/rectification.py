"""Rectification items (整改事项) to completion: their five fields, progress, rating.

The plan asks every rectification measure to name its matter, measures,
responsible person, deadline and effect (整改事项、整改措施、整改责任、整改时限、
整改效果), to be made public, carried out and assessed.  Here:

- :meth:`RectificationItems.set` writes the five fields while the item is a
  draft; the deliverable's ``due`` becomes the deadline, so an item whose
  deadline passes before it is done shows as overdue in the report.
- :data:`RULES` are the type's own rules on the one move path
  (:mod:`workflow.services.moves`), so every move of an item (``campaign do``
  too) keeps them inside its transaction: ``submit`` needs the five fields
  (the refusal names the missing ones); ``claim_done`` needs a progress note
  written since the item (re)entered ``in_progress``; ``verify`` needs a
  rating, given through :meth:`RectificationItems.verify`, and stores it.
- :meth:`RectificationItems.note` records progress while the item is in
  progress, by its responsible person or its owner.

Ratings are the usual four grades of an assessment (测评): 好、较好、一般、差,
stored in Chinese; ``good``, ``fairly_good``, ``fair`` and ``poor`` are accepted
as English aliases.  ``verify`` means the effect is confirmed (测评合格), so a
rating of 差 cannot verify an item: reopen it with a reason instead.

Every write here is one transaction that bumps the deliverable's version and
appends one audit event per change (``rectification.set``,
``rectification.progress``, ``rectification.rate``), none of which changes
the state, so ``audit verify`` replays them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from workflow.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from workflow.services import move_rules
from workflow.services.move_rules import Move
from workflow.services.moves import Moves, TypeRules
from workflow.services.reads import deliverable, rows_of
from workflow.services.registry import Registry
from workflow.services.rows import own_role
from workflow.spec.definition import Role, WorkflowSpec
from workflow.store import audit, seals
from workflow.store.models import AuditEvent, Deliverable, ProgressNote, Rectification
from workflow.store.store import Store, bump
from workflow.store.views import EventView, RectificationView, View

TYPE_ID = "rectification_item"

#: The five fields, in the plan's order, with the plan's names for them.
FIELDS: tuple[tuple[str, str], ...] = (
    ("matter", "整改事项"),
    ("measures", "整改措施"),
    ("responsible", "整改责任人"),
    ("deadline", "整改时限"),
    ("effect", "整改效果"),
)

#: The grades of the office's assessment, best first.
RATINGS: tuple[str, ...] = ("好", "较好", "一般", "差")
RATING_ALIASES: dict[str, str] = {"good": "好", "fairly_good": "较好", "fair": "一般",
                                  "poor": "差"}
#: A grade that does not confirm the effect: such an item is reopened, not verified.
FAILING = "差"

_RECTIFICATIONS = Rectification.__table__  # type: ignore[attr-defined]
_NOTES = ProgressNote.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_DELIVERABLES = Deliverable.__table__  # type: ignore[attr-defined]


class ProgressNoteView(View):
    id: int
    deliverable_id: int
    author: str
    text: str
    at: str


def normalise_rating(rating: str) -> str:
    """The stored grade for ``rating`` (Chinese, or an English alias); raises if unknown."""
    value = rating.strip()
    key = "_".join(value.lower().replace("-", " ").split())
    if value in RATINGS:
        return value
    if key in RATING_ALIASES:
        return RATING_ALIASES[key]
    known = "、".join(RATINGS) + " (or " + ", ".join(RATING_ALIASES) + ")"
    raise InvalidInput(f"unknown rating {rating!r}: use {known}")


def _guard(connection: Connection, move: Move) -> None:
    """Checked on the move path, after the definition's rules have allowed the move."""
    trigger = move.transition.trigger
    if trigger == "verify":
        _require_rating(move)
        _require_fields(connection, move.deliverable_id)
    elif trigger in ("submit", "to_supervisors"):  # out of the draft, by whichever road
        _require_fields(connection, move.deliverable_id)
    elif trigger == "claim_done":
        _require_progress(connection, move.deliverable_id)


def _effect(connection: Connection, move: Move, event: EventView) -> None:
    """A verify stores the office's rating, audited as ``rectification.rate``."""
    if move.transition.trigger != "verify":
        return
    grade = move.payload["rating"]
    connection.execute(
        _RECTIFICATIONS.update()
        .where(_RECTIFICATIONS.c.deliverable_id == move.deliverable_id)
        .values(rating=grade, rated_by=move.actor, rated_at=move.now))
    # The transition has just moved the version on by one.
    version = move.version + 1
    bump(connection, move.deliverable_id, version, move.dest, move.now)
    audit.append(
        connection, at=move.now, actor=move.actor, role=event.role,
        action="rectification.rate", deliverable_id=move.deliverable_id,
        source=move.dest, dest=move.dest, revision=event.revision,
        detail=audit.detail({"rating": grade, "verify_event": event.seq}),
        seals=[seals.seal(connection, "rectification", move.deliverable_id)],
    )


def _require_rating(move: Move) -> None:
    grade = move.payload.get("rating")
    if grade is None:
        raise TransitionNotAllowed(
            "verify needs the effect's rating: use campaign rectification verify "
            f"{move.deliverable_id} --rating {'|'.join(RATINGS)}", move.deliverable_id)
    if grade == FAILING:
        raise TransitionNotAllowed(
            f"rated {grade}, the effect is not confirmed: reopen it with a reason "
            f"(campaign do {move.deliverable_id} reopen --comment …)", move.deliverable_id)


#: The rectification item's own rules on the one move path.
RULES = TypeRules(TYPE_ID, guard=_guard, effect=_effect, payload=frozenset({"rating"}))


class RectificationItems:
    """The five fields, progress notes, and the office's rating."""

    def __init__(self, store: Store, registry: Registry, moves: Moves) -> None:
        self._store = store
        self._registry = registry
        self._moves = moves

    # -- the five fields -------------------------------------------------------------------

    def set(
        self, actor: str | None, deliverable_id: int, *, matter: str, measures: str,
        responsible: str, deadline: date, effect: str,
    ) -> RectificationView:
        """Set (or replace) the five fields of a draft rectification item.

        By its owner or the campaign office; the deliverable's due date
        becomes the deadline.  Audited as ``rectification.set`` with the fields.
        """
        with self._store.writing_core() as connection:
            who = self._store.actor(connection, actor)
            item = self._store.state_of(connection, deliverable_id)
            spec = self._registry.spec(item.definition_sha)
            _require_type(spec, deliverable_id, "has no rectification fields")
            owner = who.id == item.owner_id
            if not owner and not who.has(Role.OFFICE):
                raise PermissionDenied(
                    who.id, "set rectification fields",
                    f"only the owner ({item.owner_id}) or the campaign office may",
                    deliverable_id)
            if item.state not in spec.editable_states:
                raise TransitionNotAllowed(
                    f"the rectification fields are fixed in state {item.state!r} "
                    f"(set in: {', '.join(spec.editable_states)})", deliverable_id)
            fields = _clean(matter=matter, measures=measures, responsible=responsible,
                            effect=effect)
            self._store.actor(connection, fields["responsible"])  # NotFound unless a user
            row = {"matter": fields["matter"], "measures": fields["measures"],
                   "responsible_id": fields["responsible"], "deadline": deadline,
                   "effect": fields["effect"]}
            replaced = connection.execute(
                _RECTIFICATIONS.update()
                .where(_RECTIFICATIONS.c.deliverable_id == deliverable_id).values(**row)
            ).rowcount == 1
            if not replaced:
                connection.execute(_RECTIFICATIONS.insert(),
                                   {"deliverable_id": deliverable_id, **row})
            self._store.bump(connection, deliverable_id, item.version, item.state)
            connection.execute(_DELIVERABLES.update()
                               .where(_DELIVERABLES.c.id == deliverable_id)
                               .values(due=deadline))
            written = [seals.seal(connection, "rectification", deliverable_id),
                       seals.seal(connection, "deliverable", deliverable_id)]
            audit.append(
                connection, at=self._store.now(), actor=who.id,
                role=own_role(who, spec) if owner else Role.OFFICE.value,
                action="rectification.set", deliverable_id=deliverable_id,
                source=item.state, dest=item.state,
                revision=(move_rules.latest_revision(connection, deliverable_id) or (0, None))[1],
                detail=audit.detail({**fields, "deadline": deadline.isoformat(),
                               "replaced": replaced}),
                seals=written,
            )
        return self.get(deliverable_id)

    # -- progress ----------------------------------------------------------------------------

    def note(self, actor: str | None, deliverable_id: int, text: str) -> EventView:
        """A progress note while the item is in progress, by its responsible
        person or its owner.  Audited as ``rectification.progress`` (the text
        is the event's comment)."""
        with self._store.writing_core() as connection:
            who = self._store.actor(connection, actor)
            item = self._store.state_of(connection, deliverable_id)
            spec = self._registry.spec(item.definition_sha)
            _require_type(spec, deliverable_id, "takes no progress notes")
            responsible = connection.execute(
                select(_RECTIFICATIONS.c.responsible_id)
                .where(_RECTIFICATIONS.c.deliverable_id == deliverable_id)).scalar()
            if who.id not in (item.owner_id, responsible):
                whom = f"the responsible person ({responsible}) or " if responsible else ""
                raise PermissionDenied(who.id, "add a progress note",
                                       f"only {whom}the owner ({item.owner_id}) may",
                                       deliverable_id)
            if item.state != "in_progress":
                raise TransitionNotAllowed(
                    f"progress is noted while the rectification is in progress, not in "
                    f"state {item.state!r}", deliverable_id)
            note = text.strip()
            if not note:
                raise InvalidInput("a progress note needs text (--text)")
            now = self._store.now()
            key = connection.execute(_NOTES.insert(), {
                "deliverable_id": deliverable_id, "author_id": who.id, "text": note, "at": now,
            }).inserted_primary_key
            assert key is not None
            self._store.bump(connection, deliverable_id, item.version, item.state)
            return audit.append(
                connection, at=now, actor=who.id, role=own_role(who, spec),
                action="rectification.progress", deliverable_id=deliverable_id,
                source=item.state, dest=item.state, comment=note,
                detail=audit.detail({"note": key[0],
                               "as": "owner" if who.id == item.owner_id else "responsible"}),
                seals=[seals.seal(connection, "progress_note", key[0])],
            )

    # -- the office's assessment ---------------------------------------------------------------

    def verify(
        self, actor: str | None, deliverable_id: int, rating: str, comment: str | None = None,
        *, expected_version: int | None = None,
    ) -> EventView:
        """Fire ``verify`` with the office's rating of the effect, stored (and
        audited as ``rectification.rate``) in the same transaction.  Returns
        the verify event."""
        grade = normalise_rating(rating)
        return self._moves.fire(actor, deliverable_id, "verify", comment, expected_version,
                                payload={"rating": grade})

    # -- reads ----------------------------------------------------------------------------------

    def get(self, deliverable_id: int) -> RectificationView:
        """The five fields, the rating, and the progress notes' texts (oldest first)."""
        with self._store.read() as session:
            deliverable(session, deliverable_id)
            row = session.get(Rectification, deliverable_id)
            if row is None:
                raise NotFound("rectification fields of deliverable", deliverable_id)
            notes = session.execute(
                select(_NOTES.c.text).where(_NOTES.c.deliverable_id == deliverable_id)
                .order_by(_NOTES.c.id)).scalars().all()
            return RectificationView(
                deliverable_id=deliverable_id, matter=row.matter, measures=row.measures,
                responsible=row.responsible_id, deadline=row.deadline, effect=row.effect,
                rating=row.rating, rated_by=row.rated_by, rated_at=row.rated_at,
                notes=tuple(notes),
            )

    def notes(self, deliverable_id: int) -> list[ProgressNoteView]:
        """The progress notes with their authors and times, oldest first."""
        with self._store.read() as session:
            return [ProgressNoteView(id=r.id, deliverable_id=r.deliverable_id,
                                     author=r.author_id, text=r.text, at=r.at)
                    for r in rows_of(session, ProgressNote, deliverable_id)]


# -- checks --------------------------------------------------------------------------------


def _require_type(spec: WorkflowSpec, deliverable_id: int, what: str) -> None:
    if spec.id != TYPE_ID:
        raise TransitionNotAllowed(f"a {spec.id} {what}; only a {TYPE_ID} does",
                                   deliverable_id)


def _require_fields(connection: Connection, deliverable_id: int) -> None:
    row = connection.execute(
        select(_RECTIFICATIONS).where(_RECTIFICATIONS.c.deliverable_id == deliverable_id)
    ).first()
    values = {
        "matter": row.matter, "measures": row.measures, "responsible": row.responsible_id,
        "deadline": row.deadline, "effect": row.effect,
    } if row is not None else {}
    missing = [f"{name} ({label})" for name, label in FIELDS
               if not str(values.get(name) or "").strip()]
    if missing:
        raise TransitionNotAllowed(
            f"the rectification item lacks {len(missing)} of its five fields: "
            f"{', '.join(missing)} (campaign rectification set {deliverable_id} …)",
            deliverable_id)


def _require_progress(connection: Connection, deliverable_id: int) -> None:
    """At least one progress note since the item last entered ``in_progress``."""
    entered = (
        select(func.max(_EVENTS.c.seq))
        .where(_EVENTS.c.deliverable_id == deliverable_id, _EVENTS.c.action == "transition",
               _EVENTS.c.dest == "in_progress")
        .scalar_subquery()
    )
    notes = connection.execute(
        select(func.count()).select_from(_EVENTS)
        .where(_EVENTS.c.deliverable_id == deliverable_id,
               _EVENTS.c.action == "rectification.progress", _EVENTS.c.seq > entered)
    ).scalar()
    if not notes:
        raise TransitionNotAllowed(
            "claim_done needs a progress note written since the rectification (re)started "
            f"(campaign rectification note {deliverable_id} --text …)", deliverable_id)


def _clean(**fields: str) -> dict[str, str]:
    cleaned = {name: value.strip() for name, value in fields.items()}
    blank = [name for name, value in cleaned.items() if not value]
    if blank:
        raise InvalidInput(f"the rectification field(s) {', '.join(blank)} may not be blank")
    return cleaned
