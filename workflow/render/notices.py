"""The publicity notice (公示) a unit posts for a deliverable that entered
publicity: its title, the approved content, the window's dates, where to
object, the issuing unit and date.

Self-contained like the dossier: the HTML carries its own CSS, every value
from the database is escaped, markdown content is rendered with raw HTML off.
"""

from __future__ import annotations

from workflow.campaign import Campaign
from workflow.errors import ContentIntegrityError, InvalidInput, TransitionNotAllowed
from workflow.render.local_time import local_day
from workflow.render.notice_formats import notice_html, notice_markdown
from workflow.render.notice_wording import NoticeParts, notice_parts, notice_spec
from workflow.store.views import EventView, RevisionView

NOTICE_FORMATS: tuple[str, ...] = ("html", "markdown")


def notice(campaign: Campaign, deliverable_id: int, fmt: str) -> str:
    """The notice for ``deliverable_id`` as ``html`` or ``markdown``.  Refused
    (exit 4) if it never entered publicity.

    The issuer, the contact for objections and the wording come from the
    deliverable's campaign plan (its ``notice`` block); a deliverable outside
    any campaign gets the neutral defaults of :class:`~workflow.spec.plan.NoticeSpec`.
    """
    if fmt not in NOTICE_FORMATS:
        raise InvalidInput(f"unknown notice format {fmt!r} (use {' or '.join(NOTICE_FORMATS)})")
    parts, revision, data = notice_pieces(campaign, deliverable_id)
    if fmt == "markdown":
        return notice_markdown(parts, revision, data)
    return notice_html(parts, revision, data)


def notice_pieces(campaign: Campaign, deliverable_id: int
                  ) -> tuple[NoticeParts, RevisionView, bytes]:
    """The notice's wording, and the approved revision with its bytes: what
    each format (and the served notice board) draws."""
    view = campaign.reads.get(deliverable_id)
    spec = campaign.registry.definition_for(view)
    windows = campaign.reads.windows(deliverable_id)
    entry = _publicity_entry(campaign.reads.history(deliverable_id))
    if not windows and entry is None:
        raise TransitionNotAllowed("it has never entered publicity: there is nothing to post",
                                   deliverable_id)
    window = windows[-1] if windows else None
    revision, data = _approved(campaign, deliverable_id, entry)
    issued = window.opened_on if window else local_day(entry.at if entry else view.updated_at)
    kind = "公示" if spec.publicity else spec.state("publicity").label
    parts = notice_parts(notice_spec(campaign, view), window, objections=bool(spec.publicity),
                         issued=issued, title=view.title, type_title=spec.title, kind=kind)
    return parts, revision, data


def _publicity_entry(events: list[EventView]) -> EventView | None:
    entries = [e for e in events if e.action == "transition" and e.dest == "publicity"]
    return entries[-1] if entries else None


def _approved(
    campaign: Campaign, deliverable_id: int, entry: EventView | None
) -> tuple[RevisionView, bytes]:
    """The revision that entered publicity (the one approved), else the latest."""
    revisions = campaign.reads.revisions(deliverable_id)
    if not revisions:
        raise TransitionNotAllowed("it has no content to make public", deliverable_id)
    chosen = revisions[-1]
    if entry is not None and entry.revision:
        approved = next((r for r in reversed(revisions) if r.sha256 == entry.revision), None)
        if approved is None:
            raise ContentIntegrityError(
                deliverable_id, chosen.number,
                f"no stored revision is the one approved (sha256 {entry.revision[:12]}…, "
                f"event {entry.seq})")
        chosen = approved
    return chosen, campaign.reads.content(deliverable_id, chosen.number)
