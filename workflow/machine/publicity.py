"""Publicity windows (公示期): counted in Chinese working days, open from the day
a deliverable enters publicity until the last day inclusive.

A window of N working days spans exactly N working days: the opening day
counts when it is a working day (a window opened on Monday with 5 working days
ends on Friday), otherwise the count starts at the next working day.  Working
days are those of the State Council's calendar — weekends and official
holidays (Spring Festival, National Day…) are off, make-up working days
(调休上班, a Saturday or Sunday) are on — as the chinese-calendar package
records them.  A day in a year it does not cover is refused by name: guessing
would post a notice with a wrong closing date.
"""

from __future__ import annotations

from datetime import date, timedelta

from workflow.errors import TransitionNotAllowed


def is_working_day(day: date) -> bool:
    """Whether people work on ``day`` in mainland China; refused for a year the
    calendar does not cover."""
    # Imported here: the calendar's tables are only needed when a window is computed.
    import chinese_calendar  # type: ignore[import-untyped]

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        first, last = covered_years()
        raise TransitionNotAllowed(
            f"the working-day calendar (chinese-calendar {chinese_calendar.__version__}) "
            f"covers {first}–{last}, not {day.year}: a publicity window reaching {day} "
            "cannot be counted; update it (pip install -U chinese-calendar)") from None


def covered_years() -> tuple[int, int]:
    """The first and last year the installed calendar knows the holidays of."""
    import chinese_calendar

    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def last_day(opened_on: date, working_days: int) -> date:
    """The last day of a window of ``working_days`` working days opening on
    ``opened_on``: the opening day counts when it is a working day."""
    day = opened_on
    left = working_days - 1 if is_working_day(day) else working_days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day



def working_days_between(first: date, last: date) -> int:
    """How many working days ``first``..``last`` (inclusive) holds: what a notice
    states, counted from the window's own dates so that it always agrees."""
    return sum(1 for n in range((last - first).days + 1)
               if is_working_day(first + timedelta(days=n)))


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
