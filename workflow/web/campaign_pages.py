"""The campaign's dashboard: its phase and gate, progress by unit, the
overdue items a page at a time, the targets and the heart-to-heart talks.

Everything but the overdue page comes from the report ``campaign report``
builds (:func:`~workflow.render.report_build.build_report`), so the page and
the printed report never disagree; its gate is the checklist ``campaign phase
status`` shows.  The overdue list is paged by the database instead of cut
from the report's full list.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from workflow.render.report_build import build_report
from workflow.services.overview import require_overview
from workflow.web.context import SignedIn, render, web

router = APIRouter()
#: Overdue items per page.
PAGE = 50


@router.get("/dashboard")
def dashboard(request: Request, who: SignedIn,
              after: int | None = Query(default=None, ge=0),
              plan: str | None = Query(default=None, max_length=200)) -> Response:
    campaign = web(request).campaign
    # It lists everyone's deliverables and lateness: members and branches are refused (403).
    require_overview(campaign.reads.user(who.id))
    if not campaign.plan.plan_ids():
        return render(request, "dashboard.html", {"report": None})
    today = campaign.store.today()
    report = build_report(campaign, today, plan)
    overdue = campaign.reads.overdue(today, campaign.plan.spec(report.plan.id),
                                     limit=PAGE + 1, after=after)
    more = overdue[PAGE - 1].id if len(overdue) > PAGE else None
    return render(request, "dashboard.html", {
        "report": report, "overdue": overdue[:PAGE], "after": after, "more": more,
        "plan_query": f"&plan={quote(plan, safe='')}" if plan else "",
        "talks": campaign.plan.talks(report.plan.id),
        "names": {u.id: u.name for u in campaign.reads.users()},
    })
