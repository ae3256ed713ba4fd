"""Two plain ASGI middlewares: every response gets the security headers, and
every write made while a request runs records the browser's address."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.campaign import Campaign
from workflow.store.origin import Origin, detect

# No inline script or style anywhere, so the policy can forbid both; no frames.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers older than CSP 2
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if not static:  # pages show who may do what now: never from a cache
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestOrigin:
    """The audit log's origin for a request: channel ``web``, the server's
    login, and the client's address as its host."""

    def __init__(self, app: ASGIApp, campaign: Campaign) -> None:
        self.app = app
        self.campaign = campaign
        self.server = detect("web")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        origin = Origin("web", self.server.os_user, client[0] if client else "unknown")
        with self.campaign.acting_from(origin):
            await self.app(scope, receive, send)
