"""A phase's gate lines with where each comes from.

:func:`workflow.services.gates.checklist` judges a leaf phase's gate one line
per :class:`~workflow.spec.plan.GateItem`, in the plan's order; pairing the
two here gives every line its paragraph (or the office's own configuration)
without the gate code knowing about provenance.  ``phase status`` and the
report show the same lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workflow.services.gates import Check
from workflow.spec.plan import GateItem, PhaseSpec


def gate_lines(phase: PhaseSpec, checks: Sequence[Check]) -> list[tuple[Check, GateItem]]:
    """Each check with the gate item it judges.  A checklist of another length
    is not this phase's: refused, rather than pinning a paragraph on the wrong line."""
    if len(checks) != len(phase.gate):
        raise ValueError(f"{len(checks)} checks for the {len(phase.gate)} gate items "
                         f"of {phase.name!r}")
    return list(zip(checks, phase.gate, strict=True))


def status_gate(phase: PhaseSpec, checks: Sequence[Check]) -> list[dict[str, Any]]:
    """``phase status``'s gate rows: the check and its provenance (keys added
    to the documented ones, never renamed)."""
    return [{"label": check.label, "satisfied": check.satisfied,
             "missing": list(check.missing), "flagged": list(check.flagged),
             "paragraph": item.paragraph, "from_plan": item.from_plan,
             "provenance": item.provenance} for check, item in gate_lines(phase, checks)]


def gate_line_text(row: dict[str, Any]) -> str:
    """One gate row as ``phase status`` prints it: the label, then its source."""
    return f"{row['label']}〔{row['provenance']}〕"
