"""A throw-away PostgreSQL cluster for the tests, from Debian's ``postgresql``.

``make setup`` installs the package.  Each test process starts its own
cluster in a temporary directory (on tmpfs where there is one; ``initdb``
with trust authentication, TCP on loopback at a free port, fsync off: nothing
here must survive a crash), and each test gets a fresh database in it, most
often a copy of a template database built once per process (``CREATE
DATABASE ... TEMPLATE``: milliseconds), made ahead and dropped behind the test
by a thread of its own.  PostgreSQL refuses to run as root, so as root the
server runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SERVER_USER = "postgres"
_SHM = Path("/dev/shm")


class NoServer(Exception):
    """Why no cluster could be started here (the tests say it when they skip)."""


class Cluster:
    """A running cluster: URLs of its databases, and making, copying and dropping them.

    Copies can be made ahead and dropped behind, by a thread of its own with a
    connection of its own (:meth:`copy_ahead`, :meth:`drop_behind`): a test then
    waits for neither, as ``CREATE DATABASE`` and ``DROP DATABASE`` each wait for
    a checkpoint."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._admin: Any = None  # one autocommit connection to ``postgres``, made when needed
        self._lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, str | None, threading.Event] | None] = queue.Queue()
        self._failed: dict[str, str] = {}
        self._janitor: threading.Thread | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname=postgres",
            autocommit=True)

    def _execute(self, statement: str) -> None:
        with self._lock:
            if self._admin is None or self._admin.closed:
                self._admin = self._connect()
            self._admin.execute(statement)

    @staticmethod
    def _create(name: str, template: str | None) -> str:
        # WAL_LOG (the default) copies the template through the WAL; FILE_COPY would
        # wait for two checkpoints.
        return f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")

    @staticmethod
    def _drop(name: str) -> str:
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (which nobody may be
        connected to meanwhile); returns its URL."""
        self._execute(self._create(name, template))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing whatever is still connected to it."""
        self._execute(self._drop(name))

    # -- ahead and behind, on the janitor's thread -----------------------------------

    def _work(self) -> None:
        connection = self._connect()
        try:
            while (job := self._jobs.get()) is not None:
                name, template, done = job
                try:
                    connection.execute(self._create(name, template) if template is not None
                                       else self._drop(name))
                except Exception as error:
                    self._failed[name] = f"{type(error).__name__}: {error}"
                done.set()
        finally:
            connection.close()

    def _submit(self, name: str, template: str | None) -> threading.Event:
        if self._janitor is None:
            self._janitor = threading.Thread(target=self._work, name="pg-janitor", daemon=True)
            self._janitor.start()
        done = threading.Event()
        self._jobs.put((name, template, done))
        return done

    def copy_ahead(self, template: str, name: str) -> Callable[[], str]:
        """Start making ``name`` a copy of ``template``; the returned call waits
        for it and gives its URL."""
        done = self._submit(name, template)

        def ready() -> str:
            done.wait()
            if name in self._failed:
                raise RuntimeError(f"CREATE DATABASE {name}: {self._failed.pop(name)}")
            return self.url(name)
        return ready

    def drop_behind(self, name: str) -> None:
        """Drop ``name`` soon, closing whatever is still connected to it."""
        self._submit(name, None)

    def close(self) -> None:
        if self._janitor is not None:
            self._jobs.put(None)
            self._janitor.join(timeout=60)
        if self._admin is not None:
            self._admin.close()


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise NoServer("no initdb: Debian's postgresql package is not installed "
                       "(run `make setup`)")
    return Path(initdb).parent


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise NoServer("running as root without runuser: PostgreSQL refuses to run as root")
    return ["runuser", "-u", SERVER_USER, "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise NoServer(f"{what} failed: {(done.stderr or done.stdout).strip()[-300:]}")


def _home() -> Path:
    """The cluster's directory: on tmpfs where there is one (every CREATE DATABASE
    copies files, and the tests make hundreds), else the system's temporary one."""
    where = str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="campaign-pg-", dir=where))


@contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster, yield it, stop it and remove its files."""
    bindir, prefix = _bindir(), _as_server_user()
    home = _home()
    if prefix:
        shutil.chown(home, SERVER_USER)
    data, port = home / "data", _free_port()
    try:
        _run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
              SERVER_USER, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], "initdb")
        options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        _run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
              "-l", str(home / "server.log"), "-w", "-t", "60", "start"], "pg_ctl start")
        started = Cluster(port)
        try:
            yield started
        finally:
            started.close()
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m",
                            "immediate", "stop"], capture_output=True, timeout=60, check=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)
