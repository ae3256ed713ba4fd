"""Fixtures of the served interface: the application over a test campaign,
a test client, and signing in as anyone of :data:`conftest.PEOPLE`.

Passwords are hashed with Argon2's cheapest parameters here (a test signs in
hundreds of times); the served default is argon2-cffi's own, and a stored
hash names its parameters, so the checks are the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from conftest import USER_IDS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from workflow import Campaign
from workflow.services.passwords import Passwords
from workflow.web.app import create_app
from workflow.web.settings import WebSettings

#: Everyone's password in the tests (long enough, and no account's id in it).
PASSWORD = "春风化雨-2014-教育实践"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def with_passwords(campaign: Campaign) -> Campaign:
    """Everyone of PEOPLE with :data:`PASSWORD`, set by themselves (not temporary)."""
    campaign.accounts.hashing = Passwords.cheapest()
    for user_id in USER_IDS:
        campaign.accounts.set_password(user_id, user_id, PASSWORD)
    return campaign


@pytest.fixture
def served(campaign: Campaign) -> Campaign:
    """The test's campaign (PEOPLE, shipped definitions), everyone with a password."""
    return with_passwords(campaign)


@pytest.fixture
def app(served: Campaign) -> FastAPI:
    return create_app(WebSettings(), campaign=served)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def form_token(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token the page at ``path`` puts in its forms."""
    page = client.get(path)
    found = _CSRF.search(page.text)
    assert found, f"no form token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: TestClient, user_id: str, password: str = PASSWORD) -> TestClient:
    answer = client.post("/signin", data={"account": user_id, "password": password,
                                          "csrf": form_token(client), "next": "/inbox"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


@contextmanager
def signing_in(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``open_as("sup1")``: a new client of ``app`` (its own cookies) signed in
    as that user; every one is closed when the block ends."""
    opened: list[TestClient] = []

    def open_as(user_id: str) -> TestClient:
        test_client = TestClient(app, base_url="http://testserver")
        opened.append(test_client)
        return sign_in(test_client, user_id)

    try:
        yield open_as
    finally:
        for test_client in opened:
            test_client.close()


@pytest.fixture
def as_user(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``as_user("sup1")``: a client signed in as that user (see :func:`signing_in`)."""
    with signing_in(app) as open_as:
        yield open_as
