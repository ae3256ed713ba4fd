"""The application: ``create_app(settings)`` builds it over one campaign.

Pages are rendered on the server from Jinja2 templates (autoescaped) and
need no script, so an old intranet browser shows them; the JSON API lives
under ``/api`` with its OpenAPI document at ``/api/openapi.json``.  Each
worker process opens the campaign once; several workers on PostgreSQL share
one campaign, since sessions, throttling and the cookie key live in the
database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import import_module
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from workflow.campaign import Campaign
from workflow.store.origin import detect
from workflow.web import failures
from workflow.web.context import Web
from workflow.web.middleware import RequestOrigin, SecurityHeaders
from workflow.web.settings import WebSettings

HERE = Path(__file__).parent
#: The modules whose ``router`` the application includes, in order.
ROUTERS = ("account_pages", "api", "deliverable_pages", "campaign_pages", "office_pages",
           "public_pages")


def create_app(settings: WebSettings | None = None, campaign: Campaign | None = None
               ) -> FastAPI:
    """The served campaign; ``campaign`` lets a test hand in one with a simulated clock."""
    settings = settings or WebSettings.from_env()
    campaign = campaign or Campaign.open(settings.db, origin=detect("web"))
    app = FastAPI(title="campaign", docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=_notifier(campaign, settings))
    templates = Jinja2Templates(directory=HERE / "templates")
    app.state.web = Web(campaign, settings, templates)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for name in ROUTERS:  # the OpenAPI document is the JSON API's, without the pages
        app.include_router(import_module(f"workflow.web.{name}").router,
                           include_in_schema=name == "api" or name.startswith("api_"))
    failures.install(app)
    app.add_middleware(RequestOrigin, campaign=campaign)
    app.add_middleware(SecurityHeaders)
    return app


def _notifier(campaign: Campaign, settings: WebSettings
              ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """While the application runs, mail what entered people's inboxes (when an
    SMTP server is configured).  Every worker runs one: they claim each mail
    in the database, so none is sent twice."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Routes run in threads; more of them than the pool has connections
        # would wait inside the pool and time out there under load, rather
        # than queue fairly for a thread.
        to_thread.current_default_thread_limiter().total_tokens = min(
            40, campaign.store.connections)
        if settings.smtp is None:
            yield
            return
        background = campaign.notifications.start_background(settings.smtp,
                                                              settings.notify_interval)
        try:
            yield
        finally:
            background.stop()
    return lifespan


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory workflow.web.app:app_from_env`` (``campaign serve``'s workers)."""
    return create_app(WebSettings.from_env())
