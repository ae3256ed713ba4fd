"""What every answer of the served interface carries, and how it answers
what it cannot read: headers, a page for every error, never a server error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from workflow.web.middleware import CONTENT_SECURITY_POLICY

AsUser = Callable[[str], TestClient]
PAGES = ("/signin", "/notices", "/inbox", "/nope", "/notices/abc")


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_carries_the_security_headers(as_user: AsUser, path: str) -> None:
    answer = as_user("sup1").get(path, follow_redirects=False)
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


def test_no_page_has_inline_script_or_style(as_user: AsUser) -> None:
    """The policy forbids them, so a page relying on one would break."""
    client = as_user("office1")
    for path in ("/signin", "/inbox", "/mine", "/dashboard", "/office/users", "/notices",
                 "/password"):
        page = client.get(path).text
        assert "<script" not in page and "style=" not in page and "<style" not in page, path


@pytest.mark.parametrize(("path", "status"), [
    ("/deliverables/99999999999999999999999", 422),  # beyond 64 bits: never sent to SQL
    ("/deliverables/9223372036854775807", 404),  # the largest id: merely not found
    ("/deliverables/0", 422), ("/deliverables/abc", 422), ("/notices/-5", 422),
    ("/no/such/page", 404),
])
def test_a_page_it_cannot_read_is_an_error_page_never_a_server_error(
        as_user: AsUser, path: str, status: int) -> None:
    answer = as_user("sup1").get(path)
    assert answer.status_code == status
    assert 'class="problem"' in answer.text and "<!doctype html>" in answer.text


@pytest.mark.parametrize("path", ["/api/no/such/thing", "/api/deliverables/abc"])
def test_an_api_path_it_cannot_read_answers_in_the_error_shape(
        as_user: AsUser, path: str) -> None:
    answer = as_user("sup1").get(path)
    assert answer.status_code in (404, 422)
    assert set(answer.json()) == {"error", "message", "exit_code"}


def test_text_a_user_typed_is_escaped_on_every_page(as_user: AsUser) -> None:
    client = as_user("office1")
    evil = "<script>alert(1)</script>"
    served = client.app.state.web.campaign  # type: ignore[attr-defined]
    item = served.deliverables.create("office1", "self_review", evil)
    page = client.get(f"/deliverables/{item.id}").text
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
