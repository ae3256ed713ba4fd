"""Figure 7's simulated reviewers: asyncio tasks on one ``httpx.AsyncClient``
each (their own cookies), against a served campaign on loopback.

Each reviewer signs in once (timed apart: with the bench's cheap Argon2 it is
not what the figure measures), then until the time is up: its inbox, a
deliverable found there, that deliverable's diagram when the page shows one,
and now and then a move through a form of that page (approve, return with a
reason — whatever the page offers), with a pause between pages.  Every request
is timed on the client, from sending it to having read the whole answer.

While the inbox and deliverable pages are not served (404), the reviewer reads
``/password`` instead — a signed-in page: session lookup, template, headers.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_ITEM = re.compile(r'href="/deliverables/(\d+)[?"#]')
_DIAGRAM = re.compile(r'src="(/deliverables/\d+/diagram\.svg[^"]*)"')
REASON = "材料中“四个剖析”不够深入，请补充思想根源后再报（负载检查）"
TIMEOUT = httpx.Timeout(30.0)


@dataclass(frozen=True)
class Step:
    """One request: what it was, its answer's status (0: no answer) and time."""

    kind: str  # signin, inbox, deliverable, diagram, password, move
    deliverable_id: int | None
    status: int
    ms: float
    pause_s: float = 0.0  # the pause before it
    error: str | None = None
    retried: bool = False


@dataclass
class Reviewer:
    user_id: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    upload: bool = False


class _Forms(HTMLParser):
    """The page's POST forms: action, the fields a browser would send as they
    stand (hidden ones, a select's first option), the text boxes to fill, and
    the submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        form, name = self._open, a.get("name", "")
        if tag == "form" and a.get("method", "").lower() == "post":
            self._open = Form(a.get("action", ""))
            self.forms.append(self._open)
        elif form is None:
            return
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select:
            form.fields.setdefault(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            form.texts.append(name)
        elif tag in ("input", "button"):
            kind = a.get("type", "text" if tag == "input" else "submit")
            if kind == "file":
                form.upload = True
            elif kind == "submit" and name:
                form.buttons.append((name, a.get("value", "")))
            elif kind == "hidden" and name:
                form.fields[name] = a.get("value", "")
            elif kind == "text" and name:
                form.texts.append(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None
        elif tag == "select":
            self._select = None


def move_forms(page: str, deliverable_id: int) -> list[Form]:
    """The forms of a deliverable's page that move it (the buttons the services
    offered this viewer now)."""
    parser = _Forms()
    parser.feed(page)
    return [f for f in parser.forms
            if f.action == f"/deliverables/{deliverable_id}/moves" and not f.upload]


async def _timed(reviewer: Reviewer, kind: str, item: int | None, pause: float,
                 send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response | None:
    """Send, and note the answer's status and time (httpx has read the whole
    body when the awaited call returns: nothing here streams).  A read that
    finds its kept-alive connection closed by the server (idle too long while
    the reviewer paused) is sent again once on a new one, as a browser does
    for a GET; the time includes both tries and the step is marked retried."""
    start, retried = time.perf_counter(), False
    while True:
        try:
            answer = await send()
            break
        except (httpx.ReadError, httpx.RemoteProtocolError) as failed:
            if retried or kind == "move":
                return _failed(reviewer, kind, item, pause, start, failed)
            retried = True
        except (httpx.HTTPError, OSError) as failed:
            return _failed(reviewer, kind, item, pause, start, failed)
    reviewer.steps.append(Step(kind, item, answer.status_code,
                               (time.perf_counter() - start) * 1000, pause, retried=retried))
    return answer


def _failed(reviewer: Reviewer, kind: str, item: int | None, pause: float, start: float,
            failed: Exception) -> None:
    reviewer.steps.append(Step(kind, item, 0, (time.perf_counter() - start) * 1000, pause,
                               type(failed).__name__))


async def sign_in(client: httpx.AsyncClient, reviewer: Reviewer, password: str) -> bool:
    """Sign in (the form's page, then its POST), timed as one step."""
    start = time.perf_counter()
    page = await client.get("/signin")
    token = _CSRF.search(page.text)
    answer = await client.post("/signin", data={
        "account": reviewer.user_id, "password": password, "next": "/inbox",
        "csrf": token.group(1) if token else ""})
    reviewer.steps.append(Step("signin", None, answer.status_code,
                               (time.perf_counter() - start) * 1000))
    return answer.status_code == 303 and answer.headers.get("location") != "/password"


async def _move(client: httpx.AsyncClient, reviewer: Reviewer, page: str, item: int,
                rng: random.Random) -> None:
    """Press one of the page's move buttons (a reason typed in), then load the
    page the answer sends the browser to."""
    forms = move_forms(page, item)
    if not forms:
        return
    form = rng.choice(forms)
    data = {**form.fields, **dict.fromkeys(form.texts, REASON)}
    if form.buttons:
        name, value = rng.choice(form.buttons)
        data[name] = value
    answer = await _timed(reviewer, "move", item, 0.0, partial(client.post, form.action, data=data))
    target = answer.headers.get("location", "") if answer is not None else ""
    if answer is not None and answer.status_code == 303 and target.startswith("/deliverables/"):
        await _timed(reviewer, "deliverable", item, 0.0, partial(client.get, target))


async def review(client: httpx.AsyncClient, reviewer: Reviewer, until: float,
                 think_s: float, move_share: float, seed: int) -> None:
    """One signed-in reviewer's pages, until the monotonic clock reaches ``until``."""
    rng = random.Random(seed)
    pause = await _think(rng, think_s)  # so the reviewers do not all start at once
    while time.monotonic() < until:
        inbox = await _timed(reviewer, "inbox", None, pause, partial(client.get, "/inbox"))
        if inbox is not None and inbox.status_code == 404:
            reviewer.steps.pop()  # not served yet: read the signed-in page there is
            await _timed(reviewer, "password", None, pause, partial(client.get, "/password"))
            pause = await _think(rng, think_s)
            continue
        items = [int(n) for n in _ITEM.findall(inbox.text)] if inbox is not None else []
        pause = await _think(rng, think_s)
        if not items or time.monotonic() >= until:
            continue
        item = rng.choice(items)
        page = await _timed(reviewer, "deliverable", item, pause,
                            partial(client.get, f"/deliverables/{item}"))
        if page is not None and page.status_code == 200:
            for src in _DIAGRAM.findall(page.text)[:1]:  # the browser loads the <img>
                await _timed(reviewer, "diagram", item, 0.0, partial(client.get, src))
            if rng.random() < move_share:
                await _move(client, reviewer, page.text, item, rng)
        pause = await _think(rng, think_s)


async def _think(rng: random.Random, think_s: float) -> float:
    pause = rng.uniform(0, 2 * think_s) if think_s > 0 else 0.0
    if pause:
        await asyncio.sleep(pause)
    return pause


async def warm(client: httpx.AsyncClient) -> None:
    """One inbox, one deliverable of it and its diagram, as a first visitor would."""
    inbox = await client.get("/inbox")
    for item in _ITEM.findall(inbox.text)[:1]:
        page = await client.get(f"/deliverables/{item}")
        for src in _DIAGRAM.findall(page.text)[:1]:
            await client.get(src)


async def _all(base_url: str, users: list[str], password: str, seconds: float,
               think_s: float, move_share: float) -> tuple[list[Reviewer], float]:
    reviewers = [Reviewer(u) for u in users]
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(
            base_url=base_url, timeout=TIMEOUT, follow_redirects=False)) for _ in users]
        signed = await asyncio.gather(*(sign_in(c, r, password)
                                        for c, r in zip(clients, reviewers, strict=True)))
        if any(signed):  # warm the server (definitions parsed, caches filled), untimed
            await warm(clients[signed.index(True)])
        start = time.monotonic()
        await asyncio.gather(*(review(c, r, start + seconds, think_s, move_share, n)
                               for n, (c, r, ok) in enumerate(
                                   zip(clients, reviewers, signed, strict=True)) if ok))
        return reviewers, time.monotonic() - start


def run(base_url: str, users: list[str], password: str, seconds: float, think_s: float,
        move_share: float) -> tuple[list[Reviewer], float]:
    """Every reviewer signs in (all at once), then reads for ``seconds``; returns
    what each did and how long the reading took (the last answers included)."""
    return asyncio.run(_all(base_url, users, password, seconds, think_s, move_share))
