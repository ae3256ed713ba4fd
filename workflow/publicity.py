"""Publicity windows (公示期): counted in working days, open from the day a
deliverable enters publicity until the last day inclusive.

Weekends are skipped; public holidays are not modelled (the office can set a
longer window in the definition for holiday periods).
"""

from __future__ import annotations

from datetime import date, timedelta

from .errors import TransitionNotAllowed


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (Monday to Friday)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def require_open(
    closes_on: date, today: date, deliverable_id: int, opened_on: date | None = None
) -> None:
    """An objection is heard from the opening day up to and including the last day."""
    if opened_on is not None and today < opened_on:
        raise TransitionNotAllowed(
            f"the publicity window opens on {opened_on}; an objection cannot be dated "
            f"{today}", deliverable_id)
    if today > closes_on:
        raise TransitionNotAllowed(
            f"the publicity window closed on {closes_on}; objections are no longer heard",
            deliverable_id,
        )


def require_ended(closes_on: date, today: date, deliverable_id: int) -> None:
    """Publicity may not be cut short: it ends after its last day."""
    if today <= closes_on:
        raise TransitionNotAllowed(
            f"publicity runs until {closes_on} (inclusive); it can end from the day after",
            deliverable_id,
        )
