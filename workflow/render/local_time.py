"""Audit timestamps as people read them: in the campaign's time zone, with its offset.

The log stores every moment in UTC with microseconds (``2014-06-16T01:04:33.000000Z``),
which is right for ordering and hashing and wrong for a reader in Mianyang.
Tables, the dossier and the CLI show the same moment as ``2014-06-16 09:04 +08:00``:
the campaign's wall clock (``CAMPAIGN_TZ``, see :func:`workflow.store.clock.campaign_zone`)
and the offset that says so, never a bare time a reader could take for local.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from workflow.store.clock import campaign_zone


def parse_stamp(at: str) -> datetime:
    """A stored audit timestamp (ISO 8601, ``Z`` for UTC) as an aware datetime."""
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def offset_text(offset: timedelta | None) -> str:
    """``+08:00`` for a UTC offset (``%z`` has no colon before Python 3.12)."""
    minutes = round((offset or timedelta()).total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def local_time(at: str | datetime | None, *, seconds: bool = False) -> str:
    """``at`` on the campaign's clock: ``2014-06-16 09:04 +08:00`` (with ``:SS`` when
    ``seconds``); ``""`` for no moment, and text that is no timestamp as it is."""
    if at is None or at == "":
        return ""
    try:
        moment = parse_stamp(at) if isinstance(at, str) else at
    except ValueError:
        return str(at)  # shown, not hidden: a reader should see what is stored
    if moment.tzinfo is None:  # naive means UTC here, as everywhere in the log
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(campaign_zone())
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {offset_text(local.utcoffset())}"


def local_day(at: str) -> date:
    """The campaign's calendar day of an audit timestamp (stored in UTC)."""
    return parse_stamp(at).astimezone(campaign_zone()).date()
