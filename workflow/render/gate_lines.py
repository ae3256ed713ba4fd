"""A phase's gate lines with where each comes from.

Each :class:`~workflow.services.gates.Check` carries the plan's gate item it
judges; ``phase status`` and the report show its paragraph (or the office's
own configuration) beside the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflow.services.gates import Check


def status_gate(checks: Sequence[Check]) -> list[dict[str, Any]]:
    """``phase status``'s gate rows: the check and its provenance (keys added
    to the documented ones, never renamed)."""
    return [{"label": check.label, "satisfied": check.satisfied,
             "missing": list(check.missing), "flagged": list(check.flagged),
             "paragraph": check.item.paragraph if check.item else "",
             "from_plan": check.item.from_plan if check.item else True,
             "provenance": check.item.provenance if check.item else ""}
            for check in checks]


def gate_line_text(row: dict[str, Any]) -> str:
    """One gate row as ``phase status`` prints it: the label, then its source."""
    return f"{row['label']}〔{row['provenance']}〕" if row["provenance"] else row["label"]
