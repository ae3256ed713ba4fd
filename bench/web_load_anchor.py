"""Figure 7's anchor: the pages' reads through the Python API, in one process.

The pages the server gave the reviewers are replayed, reviewer by reviewer in
threads of their own (the same concurrency), with the same pauses between
pages; each page is the engine calls its route makes
(``workflow/web/deliverable_pages.py``) — the session lookup every signed-in
request makes included — without HTTP, the middleware or the template.
Moves are not replayed: the anchor reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from web_load_reviewers import Reviewer, Step

from workflow import Campaign
from workflow.errors import CampaignError
from workflow.render.flow_diagrams import path_diagram
from workflow.services.documents import is_text
from workflow.services.page_reads import PageReads

PAGE = 50  # the inbox's page (workflow.web.deliverable_common.PAGE)


class Pages:
    """What each page asks of the engine, for one signed-in user."""

    def __init__(self, campaign: Campaign, token: str) -> None:
        self.campaign, self.token = campaign, token
        self.reads = PageReads(campaign.store, campaign.registry, campaign.attachments)

    def _viewer(self) -> str:
        found = self.campaign.accounts.session(self.token)
        assert found is not None, "the anchor's session expired"
        return found.user_id

    def password(self, _item: int | None) -> Any:
        return self._viewer()

    def inbox(self, _item: int | None) -> Any:
        campaign, who = self.campaign, self._viewer()
        items = campaign.reads.inbox(who, limit=PAGE)
        back = self.reads.came_back(i.deliverable.id for i in items)
        today = campaign.store.today()
        specs = [campaign.registry.definition_for(i.deliverable) for i in items]
        return items, back, today, specs

    def deliverable(self, item: int | None) -> Any:
        assert item is not None
        campaign, who = self.campaign, self._viewer()
        campaign.visibility.require_read(who, item)
        view = campaign.reads.get(item)
        spec = campaign.registry.definition_for(view)
        text = diff = None
        if view.revision is not None:
            text = (campaign.documents.revision_text(item, view.revision)
                    if is_text(view.revision) else None)
            diff = campaign.documents.diff(item, reader=who)
        return (spec, text, diff, campaign.documents.opinions(item),
                campaign.attachments.of(item), campaign.reads.history(item),
                self.reads.offers(who, item), campaign.store.today())

    def diagram(self, item: int | None) -> Any:
        assert item is not None
        campaign, who = self.campaign, self._viewer()
        campaign.visibility.require_read(who, item)
        return path_diagram(campaign, campaign.reads.get(item), "svg")


def _replay(pages: Pages, recorded: list[Step], out: list[Step]) -> None:
    for step in recorded:
        call: Callable[[int | None], Any] | None = getattr(pages, step.kind, None)
        if step.kind in ("signin", "move") or call is None or step.status != 200:
            continue  # only the pages the server gave: the same reads, answered
        if step.pause_s:
            time.sleep(step.pause_s)
        start = time.perf_counter()
        try:
            call(step.deliverable_id)
            status = 200
        except CampaignError:  # hidden or gone: what the page answers 404/409 for
            status = 404
        out.append(Step(step.kind, step.deliverable_id, status,
                        (time.perf_counter() - start) * 1000, step.pause_s))


def _warm(pages: Pages, reviewers: list[Reviewer]) -> None:
    """As the served side is warmed: one inbox, one deliverable, its diagram."""
    pages.inbox(None)
    item = next((s.deliverable_id for r in reviewers for s in r.steps
                 if s.kind == "deliverable"), None)
    if item is not None:
        for read in (pages.deliverable, pages.diagram):
            with suppress(CampaignError):  # hidden from this reviewer: warm anyway
                read(item)


def replay(campaign: Campaign, reviewers: list[Reviewer], password: str
           ) -> tuple[list[Step], list[Step], float]:
    """The sign-ins (one per reviewer, timed) and the replayed pages, and how
    long the replay took."""
    signins, tokens = [], []
    for reviewer in reviewers:
        start = time.perf_counter()
        opened = campaign.accounts.sign_in(reviewer.user_id, password, "127.0.0.1")
        signins.append(Step("signin", None, 200, (time.perf_counter() - start) * 1000))
        tokens.append(opened.token)
    _warm(Pages(campaign, tokens[0]), reviewers)
    outs: list[list[Step]] = [[] for _ in reviewers]
    threads = [threading.Thread(target=_replay, args=(Pages(campaign, token), r.steps, out))
               for r, token, out in zip(reviewers, tokens, outs, strict=True)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return signins, [s for out in outs for s in out], time.perf_counter() - start
