"""Several worker processes of ``campaign serve`` on PostgreSQL serve one
campaign: a session opened on one worker holds on every other (the cookie key
and the sessions live in the database), and two reviewers racing on the same
deliverable get one move and one conflict, never two moves."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import add_people
from drive import complete_content
from web_fixtures import PASSWORD

from workflow import Campaign
from workflow.services.passwords import Passwords

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WORKERS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def campaign_on_server(pg_url: str) -> tuple[str, int]:
    """A PostgreSQL campaign with PEOPLE, passwords, and a self-review in review."""
    campaign = add_people(Campaign.open(pg_url))
    campaign.accounts.hashing = Passwords.cheapest()
    for user in ("principal1", "principal2", "sup1"):
        campaign.accounts.set_password(user, user, PASSWORD)
    spec = campaign.registry.definition("self_review")
    item = campaign.deliverables.create("leader1", "self_review", "张副主席对照检查材料",
                                        content=complete_content(spec))
    campaign.moves.fire("leader1", item.id, "submit")
    campaign.store.engine.dispose()
    return pg_url, item.id


@pytest.fixture
def server(campaign_on_server: tuple[str, int], tmp_path: Path) -> Iterator[str]:
    url, _ = campaign_on_server
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli.main", "--db", url, "serve", "--port", str(port),
         "--workers", str(WORKERS)], cwd=tmp_path, env={**os.environ},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            if httpx.get(f"{base}/signin", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("campaign serve did not start in 60 s")


def signed_in(base: str, user: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = _CSRF.search(client.get("/signin").text)
    assert token
    answer = client.post("/signin", data={"account": user, "password": PASSWORD,
                                          "csrf": token.group(1)})
    assert answer.status_code in (200, 303), answer.text
    return client


def test_a_session_opened_on_one_worker_holds_on_every_worker(server: str) -> None:
    client = signed_in(server, "sup1")
    # A new connection each time: the kernel hands each to any worker.
    cookies = dict(client.cookies)
    for _ in range(4 * WORKERS):
        with httpx.Client(base_url=server, cookies=cookies, timeout=30) as fresh:
            assert fresh.get("/password", follow_redirects=False).status_code == 200


def test_two_reviewers_racing_on_one_deliverable_get_one_move_and_one_conflict(
        server: str, campaign_on_server: tuple[str, int]) -> None:
    url, item = campaign_on_server
    reviewers = [signed_in(server, user) for user in ("principal1", "principal2")]
    pages = [r.get(f"/deliverables/{item}") for r in reviewers]
    forms = [{"trigger": "forward", "comment": "同意", "if_version": _version(page.text),
              "csrf": _CSRF.search(page.text).group(1)}  # type: ignore[union-attr]
             for page in pages]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda pair: pair[0].post(
            f"/deliverables/{item}/moves", data=pair[1], follow_redirects=False),
            zip(reviewers, forms, strict=True)))
    assert sorted(a.status_code for a in answers) == [303, 409]
    campaign = Campaign.open(url)
    try:
        forwards = [e for e in campaign.reads.history(item) if e.trigger == "forward"]
        assert len(forwards) == 1 and forwards[0].channel == "web"
        campaign.audit.verify()
    finally:
        campaign.store.engine.dispose()


def _version(page: str) -> str:
    found = re.search(r'name="if_version" value="(\d+)"', page)
    assert found, "the deliverable page carries no if_version"
    return found.group(1)
