"""The inbox, my deliverables, and a deliverable's page with what its viewer
may do to it.  The writes those pages post are in
:mod:`workflow.web.deliverable_forms`; this module serves reads only, each
deliverable behind the rule of sight (a hidden one is not found)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from workflow.campaign import Campaign
from workflow.errors import InvalidInput
from workflow.render.flow_diagrams import path_diagram
from workflow.render.local_time import local_time
from workflow.services.documents import DiffResult, is_text
from workflow.services.lateness import is_overdue
from workflow.services.page_reads import CameBack
from workflow.spec.definition import StateSpec, WorkflowSpec
from workflow.spec.plan import PlanSpec
from workflow.store.views import DeliverableView
from workflow.web import deliverable_forms
from workflow.web.context import DeliverableId, SignedIn, render
from workflow.web.deliverable_common import (
    PAGE,
    campaign_of,
    download,
    page_reads,
    readable,
)

#: Whether a deliverable is overdue today (:func:`lateness`).
Late = Callable[[DeliverableView], bool]

router = APIRouter()
router.include_router(deliverable_forms.router)


@dataclass(frozen=True)
class Row:
    """One deliverable in a list: what it is, where it stands, whether it is late."""

    view: DeliverableView
    spec: WorkflowSpec
    late: bool
    #: (trigger, label, label_en) of the moves the viewer may make (the inbox's).
    moves: tuple[tuple[str, str, str], ...] = ()
    came_back: CameBack | None = None

    @property
    def state(self) -> StateSpec:
        return self.spec.state(self.view.state)


def _row(campaign: Campaign, view: DeliverableView, late: Late,
         triggers: tuple[str, ...] = (), came_back: CameBack | None = None) -> Row:
    spec = campaign.registry.definition_for(view)
    moves = tuple((t, tr.label, tr.label_en) for t in triggers
                  if (tr := spec.transition(view.state, t)) is not None)
    return Row(view, spec, late(view), moves, came_back)


def lateness(campaign: Campaign) -> Late:
    """Whether a deliverable is overdue today, as ``campaign overdue`` judges it:
    past its due date and not in a state its plan's gates (else its type's
    final states) count as complete."""
    today = campaign.store.today()
    plans: dict[str, PlanSpec] = {}

    def late(view: DeliverableView) -> bool:
        if view.plan_id is not None and view.plan_id not in plans:
            plans[view.plan_id] = campaign.plan.spec(view.plan_id)
        return is_overdue(view, plans.get(view.plan_id or ""), today)
    return late


def _check_after(after: int | None) -> None:
    if after is not None and after < 0:
        raise InvalidInput("after must be a deliverable id")


@router.get("/inbox")
def inbox(request: Request, who: SignedIn, after: int | None = Query(None)) -> Response:
    _check_after(after)
    campaign = campaign_of(request)
    items = campaign.reads.inbox(who.id, limit=PAGE, after=after)
    back = page_reads(request).came_back(i.deliverable.id for i in items)
    late, today = lateness(campaign), campaign.store.today()
    rows = [_row(campaign, i.deliverable, late, i.triggers, back.get(i.deliverable.id))
            for i in items]
    more = rows[-1].view.id if len(rows) == PAGE else None
    return render(request, "inbox.html", {"rows": rows, "today": today, "more": more,
                                          "after": after, "when": local_time})


@router.get("/mine")
def mine(request: Request, who: SignedIn, after: int | None = Query(None)) -> Response:
    """What I own, paged by id; on the first page also the rectification items
    I answer for as their responsible person (整改责任人) without owning them."""
    _check_after(after)
    campaign = campaign_of(request)
    late = lateness(campaign)
    owned = campaign.reads.deliverables(owner=who.id, limit=PAGE, after=after)
    answered: list[DeliverableView] = []
    if after is None:
        answered = [view for view_id, person in sorted(campaign.reads.responsible_persons()
                                                       .items())
                    if person == who.id and (view := campaign.reads.get(view_id)).owner
                    != who.id]
    return render(request, "mine.html", {
        "rows": [_row(campaign, v, late) for v in owned],
        "answered": [_row(campaign, v, late) for v in answered],
        "more": owned[-1].id if len(owned) == PAGE else None})


@router.get("/deliverables/{deliverable_id}")
def deliverable(request: Request, who: SignedIn, deliverable_id: DeliverableId,
                done: str | None = None) -> Response:
    campaign = readable(request, who, deliverable_id)
    view = campaign.reads.get(deliverable_id)
    spec = campaign.registry.definition_for(view)
    text, diff = _content(campaign, view, who.id)
    context = {
        "d": view, "spec": spec, "state": spec.state(view.state),
        "owner": campaign.reads.user(view.owner),
        "states": {s.name: s for s in spec.states}, "late": lateness(campaign)(view),
        "text": text, "diff": diff,
        "opinions": campaign.documents.opinions(deliverable_id),
        "attachments": campaign.attachments.of(deliverable_id),
        "history": campaign.reads.history(deliverable_id),
        "offers": page_reads(request).offers(who.id, deliverable_id),
        "done": next((t for t in spec.transitions if t.trigger == done), None),
        "max_bytes": campaign.attachments.max_bytes, "when": local_time,
        "saved": {k: request.query_params[k] for k in ("revision", "attached", "opinion")
                  if k in request.query_params},
    }
    return render(request, "deliverable.html", context)


def _content(campaign: Campaign, view: DeliverableView, reader: str
             ) -> tuple[str | None, DiffResult | None]:
    """The latest revision's text (a Word file's extracted text) and the diff
    against the revision ``reader`` last acted on (else the previous one)."""
    if view.revision is None:
        return None, None
    text = (campaign.documents.revision_text(view.id, view.revision)
            if is_text(view.revision) else None)
    return text, campaign.documents.diff(view.id, reader=reader)


@router.get("/deliverables/{deliverable_id}/revisions/{number}")
def revision_file(request: Request, who: SignedIn, deliverable_id: DeliverableId,
                  number: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """A revision as it was uploaded (a Word file byte for byte)."""
    campaign = readable(request, who, deliverable_id)
    revision = campaign.reads.revision(deliverable_id, number)
    return download(campaign.reads.content(deliverable_id, number), revision.filename,
                    revision.media_type)


@router.get("/deliverables/{deliverable_id}/attachments/{name}")
def attachment_file(request: Request, who: SignedIn, deliverable_id: DeliverableId,
                    name: str) -> Response:
    campaign = readable(request, who, deliverable_id)
    found = campaign.attachments.get(deliverable_id, name)
    return download(campaign.attachments.data(deliverable_id, name), found.name,
                    found.media_type)


@router.get("/deliverables/{deliverable_id}/diagram.svg")
def diagram(request: Request, who: SignedIn, deliverable_id: DeliverableId) -> Response:
    """The flow with the current state and the path taken highlighted, drawn by
    the render layer (shown through <img>, so nothing in it runs)."""
    campaign = readable(request, who, deliverable_id)
    svg = path_diagram(campaign, campaign.reads.get(deliverable_id), "svg")
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-cache"})
