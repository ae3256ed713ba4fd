"""The one clock of writes, and the time zone the campaign's days are counted in."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.errors import InvalidInput

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds_until(since: str, span: timedelta, now: datetime) -> int:
    """Whole seconds, at least one, from ``now`` until ``span`` after the
    :func:`timestamp` ``since``: when a throttle's oldest counted attempt
    leaves its window."""
    return max(1, int((datetime.fromisoformat(since) + span - now).total_seconds()))


def campaign_zone() -> ZoneInfo:
    name = os.environ.get("CAMPAIGN_TZ", "Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"CAMPAIGN_TZ={name!r} is not a time zone") from None
