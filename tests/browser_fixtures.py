"""What the browser tests stand on: the application served for real on loopback
(uvicorn in a thread of the test process, so a test reads and drives the same
campaign the pages write to), Debian's Chromium driven by Playwright, and
screenshots kept as test artefacts.

No browser is ever downloaded (``playwright install`` cannot reach anything
here): Playwright's bundled driver launches the ``chromium`` that Debian's
package installs (``make setup`` puts it there).  Its background services
are turned off, since the machine's network is closed and every attempt they
make would only be refused.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

#: Screenshots of the pages the tests visit: gitignored, kept by CI as artefacts.
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts"
#: Set (by .ci/run) where the browser tests must run: a missing browser then
#: fails them instead of skipping them.
REQUIRED = "CAMPAIGN_BROWSER_TESTS"

CHROMIUM_ARGS = (
    "--no-sandbox",  # CI containers run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


def chromium() -> str | None:
    """The path of Debian's Chromium (on PATH, else where the package puts it),
    or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")


def browser_required() -> bool:
    return os.environ.get(REQUIRED, "") == "required"


class Loopback:
    """``with Loopback(app) as base_url:`` serves ``app`` on a free port of
    127.0.0.1 until the block ends.

    The socket is bound here (port 0: the system picks a free one) and handed
    to uvicorn, so the URL is known before the server starts; uvicorn installs
    no signal handlers outside the main thread, and ``log_config=None`` leaves
    the test process's logging alone."""

    def __init__(self, app: ASGIApp, startup_seconds: float = 10.0) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="uvicorn-loopback", daemon=True)
        self.startup_seconds = startup_seconds

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.startup_seconds
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.01)
        return self.url

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.socket.close()


def artefact(test_name: str, what: str) -> Path:
    """Where the screenshot ``what`` of test ``test_name`` goes (the folder made)."""
    ARTEFACTS.mkdir(exist_ok=True)
    named = test_name.replace("[", "-").replace("]", "")  # test_x[sqlite] -> test_x-sqlite
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in named)
    return ARTEFACTS / f"{safe}-{what}.png"
