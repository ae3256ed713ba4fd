"""``make bench``'s figure 7 runs: a served campaign, simulated reviewers that
sign in and read through the pages, and the anchor's replay through the API.

Only that it runs and what it counts are checked — never a time (the figure
itself is a benchmark, ``bench/web_load.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from web_load import Load, web_load
from web_load_reviewers import move_forms

MOVES_PAGE = """
<form method="post" action="/deliverables/7/moves"><input type="hidden" name="csrf" value="t">
<input type="hidden" name="trigger" value="verify"><select name="rating">
<option value="好">好</option><option value="较好">较好</option></select>
<textarea name="comment" required></textarea>
<button type="submit" name="move" value="verify">验收</button></form>
<form method="post" action="/deliverables/7/revisions" enctype="multipart/form-data">
<input type="file" name="file"></form>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="t"></form>
"""


def test_a_move_form_is_sent_as_a_browser_would() -> None:
    [form] = move_forms(MOVES_PAGE, 7)
    assert form.fields == {"csrf": "t", "trigger": "verify", "rating": "好"}
    assert form.texts == ["comment"]
    assert form.buttons == [("move", "verify")]


@pytest.mark.slow  # a second of load, but a campaign made and a server started around it
def test_the_load_check_runs_for_a_second(tmp_path: Path) -> None:
    found = web_load(tmp_path, Load(seconds=1, reviewers=3, think_s=0.05,
                                    deliverables=60, units=3), postgresql=False)
    assert found["reviewers"] == 3
    assert found["web"]["signed_in"] == 3
    assert found["web"]["errors"] == 0
    assert found["web"]["pages"]["count"] > 0
    assert found["api"]["pages"]["count"] == found["web"]["pages"]["count"]
