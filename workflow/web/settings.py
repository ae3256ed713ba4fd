"""How a served campaign is configured: one frozen object, read once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from workflow.errors import InvalidInput
from workflow.services.notify_mail import SmtpSettings


@dataclass(frozen=True)
class WebSettings:
    #: The database (as ``--db`` takes it); None: CAMPAIGN_DB, then the default file.
    db: str | None = None
    #: Cookies only over HTTPS: on behind a TLS proxy; off for plain loopback tests.
    secure_cookies: bool = False
    session_lifetime: timedelta = timedelta(hours=8)
    #: Where links in e-mails point (``https://campaign.example``), if anywhere.
    base_url: str | None = None
    #: Notifications by e-mail: off unless ``CAMPAIGN_SMTP_HOST`` is set.
    smtp: SmtpSettings | None = None
    notify_interval: float = 60.0

    @classmethod
    def from_env(cls, db: str | None = None) -> WebSettings:
        hours = _positive("CAMPAIGN_SESSION_HOURS", 8)
        return cls(
            db=db or os.environ.get("CAMPAIGN_DB"),
            secure_cookies=os.environ.get("CAMPAIGN_SECURE_COOKIES", "") == "1",
            session_lifetime=timedelta(hours=hours),
            base_url=os.environ.get("CAMPAIGN_BASE_URL") or None,
            smtp=SmtpSettings.from_env(),
            notify_interval=_positive("CAMPAIGN_NOTIFY_INTERVAL", 60),
        )


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise InvalidInput(f"{name}={raw!r} is not a positive number")
    return value
