"""Where a write came from: the channel and the operating-system account.

The CLI believes ``--as``: whoever can write the database file can claim to
be anyone.  What the log can still tell is who typed the command — the
login name and host of the process — and through which channel, so every
audit event and every refusal records them.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    channel: str
    os_user: str
    host: str

    def fields(self) -> dict[str, str]:
        return {"channel": self.channel, "os_user": self.os_user, "host": self.host}


def detect(channel: str = "api") -> Origin:
    """The running process's origin: ``channel`` and its login name and host."""
    return Origin(channel=channel, os_user=_login(), host=socket.gethostname() or "unknown")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER: a container's uid
        return f"uid:{os.getuid()}"
