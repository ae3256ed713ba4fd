"""Reading deliverables: show, history, list, inbox.

Each takes ``--format table|json|csv`` (``--json`` for short); the JSON is the
stable contract, the table is for people at an 80-column terminal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from workflow.cli.common import (
    ID,
    Env,
    as_date,
    emit,
    fields,
    format_option,
    ident,
    joined,
    pass_env,
    table,
    today_option,
    when,
    words,
)
from workflow.cli.streaming import stream_csv, stream_json

if TYPE_CHECKING:
    from workflow.store.views import DeliverableView, EventView, OpinionView


def deliverable_row(view: DeliverableView) -> dict[str, Any]:
    """A deliverable as one CSV row: its latest revision as two flat columns."""
    row = {key: value for key, value in view.to_json().items() if key != "revision"}
    row["revision"] = view.revision.number if view.revision else None
    row["revision_sha256"] = view.revision.sha256 if view.revision else None
    return row


def deliverable_header() -> list[str]:
    from workflow.store.views import DeliverableView

    return [f for f in fields(DeliverableView) if f != "revision"] + [
        "revision", "revision_sha256"]


def next_text(moves: list[dict[str, Any]]) -> str:
    """``submit by leader or office; return by principal``: who may do what next."""
    return "; ".join(f"{m['trigger']} by {joined(m['roles'], 'or')}" for m in moves) or "—"


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@format_option()
@pass_env
def show(env: Env, deliverable_id: int, fmt: str) -> None:
    """One deliverable: state, owner, latest revision and what can happen next."""
    from workflow.render.json_shapes import next_moves

    view = env.campaign.reads.get(deliverable_id)
    moves = next_moves(env.campaign, view)
    opinions = env.campaign.documents.opinions(deliverable_id)

    def show_table() -> None:
        revision = view.revision
        rows = [("type", view.type), ("title", view.title), ("owner", view.owner),
                ("state", f"{view.state} ({view.state_label})"), ("version", view.version),
                ("due", view.due), ("updated", when(view.updated_at)),
                ("revision", f"{revision.number} {revision.filename} sha256 "
                 f"{revision.sha256}" if revision else "none"),
                ("next", next_text(moves) if revision else
                 f"none — no content yet (campaign revise {view.id} --content FILE)"),
                ("opinions", len(opinions))]
        table(f"Deliverable #{view.id}", [ident("field"), "value"], rows)
        if opinions:
            _opinions_table(f"Opinions on #{view.id}", opinions)

    row = {**deliverable_row(view), "next": [m["trigger"] for m in moves],
           "opinions": len(opinions)}
    emit(fmt, {**view.to_json(), "next": moves, "opinions": opinions}, show_table, rows=[row])


def _opinions_table(title: str, opinions: list[OpinionView]) -> None:
    table(title, [ident("id"), words("at"), ident("author"), ident("rev"), ident("line"),
                  "opinion"],
          ((o.id, when(o.at), o.author, o.revision_number, o.line, o.text) for o in opinions))


def event_what(event: EventView) -> str:
    """``submit: draft → review``, ``create → draft``, ``revise``: what an event did."""
    name = event.trigger if event.action == "transition" and event.trigger else event.action
    if not event.dest or event.source == event.dest:
        return name
    return f"{name}: {event.source} → {event.dest}" if event.source else f"{name} → {event.dest}"


def _events_table(title: str, events: list[EventView]) -> None:
    table(title, [ident("seq"), words("at"), words("who"), words("what"), "comment"], (
        (e.seq, when(e.at), f"{e.actor} ({e.role})" if e.role else e.actor, event_what(e),
         e.comment) for e in events))


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@format_option()
@pass_env
def history(env: Env, deliverable_id: int, fmt: str) -> None:
    """Every audited event of one deliverable, and the review opinions given."""
    events = env.campaign.reads.history(deliverable_id)
    opinions = env.campaign.documents.opinions(deliverable_id)
    # Each event lists the opinions it recorded (a return's reason, an opinion.add).
    by_event: dict[int | None, list[dict[str, Any]]] = {}
    for opinion in opinions:
        by_event.setdefault(opinion.event_seq, []).append(opinion.to_json())

    def show_table() -> None:
        _events_table(f"History of #{deliverable_id}", events)
        if opinions:
            _opinions_table(f"Opinions on #{deliverable_id}", opinions)

    from workflow.store.views import EventView

    emit(fmt, [{**e.to_json(), "opinions": by_event.get(e.seq, [])} for e in events],
         show_table, rows=[e.to_json() for e in events], header=fields(EventView))


def paging(function: Any) -> Any:
    """``--limit N`` and ``--after ID``: a page of the result, by deliverable id."""
    function = click.option("--after", type=ID, metavar="ID", help="Only deliverables with "
                            "an id above this one (the last id of the previous page).")(function)
    return click.option("--limit", type=click.IntRange(min=1), metavar="N",
                        help="At most N deliverables, by id.")(function)


@click.command("list")
@click.option("--type", "type_id", metavar="TYPE",
              help="Only this deliverable type (exit 6 if there is no such type).")
@click.option("--state", metavar="STATE", help="Only deliverables in this state (exit 6 if "
              "the --type has no such state, or without --type if no type has it).")
@click.option("--owner", metavar="USER", help="Only this user's deliverables (exit 6 if "
              "there is no such user).")
@click.option("--overdue", is_flag=True, help="Only items past their due date, not complete "
              "(latest first; --after ID continues after the page that ended with ID).")
@today_option
@paging
@format_option()
@pass_env
def list_(env: Env, type_id: str | None, state: str | None, owner: str | None, overdue: bool,
          today: datetime | None, limit: int | None, after: int | None, fmt: str) -> None:
    """Deliverables, filtered by type, state or owner; or the overdue ones."""
    env.campaign.reads.check_filters(type_id, state, owner)
    if overdue:
        _overdue(env, type_id, state, owner, as_date(today, env), fmt, limit, after)
        return
    reads = env.campaign.reads
    if fmt != "table":  # JSON and CSV stream: a large list is never held whole
        items = reads.iter_deliverables(type_id, state, owner, limit=limit, after=after)
        if fmt == "json":
            stream_json(d.to_json() for d in items)
        else:
            stream_csv((deliverable_row(d) for d in items), deliverable_header())
        return
    views = reads.deliverables(type_id, state, owner, limit=limit, after=after)
    table("Deliverables", [
        ident("id"), ident("type"), "title", ident("owner"), ident("state"), ident("due")],
        ((d.id, d.type, d.title, d.owner, d.state, d.due) for d in views))



def _overdue(env: Env, type_id: str | None, state: str | None, owner: str | None,
             today: date, fmt: str, limit: int | None, after: int | None) -> None:
    from workflow.render.report_scope import overdue_items
    from workflow.services.lateness import OverdueItem

    # The database cuts the page: a province's overdue list is never held whole.
    items = overdue_items(env.campaign, today, type_id=type_id, state=state, owner=owner,
                          limit=limit, after=after)
    emit(fmt, items, lambda: table(
        f"Overdue on {today}",
        [ident("id"), "title", "owner", "unit", ident("due"), ident("late"), ident("state")],
        ((i.id, i.title, _who_answers(i), i.unit, i.due, i.days_late, i.state)
         for i in items)), header=fields(OverdueItem))


def _who_answers(item: Any) -> str:
    """The owner, and the responsible person (整改责任人) when that is someone else."""
    if item.responsible_name:
        return f"{item.owner_name}; 责任人 {item.responsible_name}"
    return str(item.owner_name)


@click.command()
@paging
@format_option()
@pass_env
def inbox(env: Env, limit: int | None, after: int | None, fmt: str) -> None:
    """What the acting user may act on now."""
    user = env.actor
    items = env.campaign.reads.inbox(user, limit=limit, after=after)
    emit(fmt, items, lambda: table(f"Inbox of {user}", [
        ident("id"), ident("type"), "title", ident("state"), ident("due"), words("you may")],
        ((i.deliverable.id, i.deliverable.type, i.deliverable.title, i.deliverable.state,
          i.deliverable.due, ", ".join(i.triggers) or "revise (no content yet)")
         for i in items)),
        rows=[{**deliverable_row(i.deliverable), "triggers": i.triggers} for i in items],
        header=[*deliverable_header(), "triggers"])


COMMANDS = (show, history, list_, inbox)
