"""A throw-away PostgreSQL cluster for the tests, from Debian's ``postgresql``.

``make setup`` installs the package.  Each test process starts its own
cluster in a temporary directory (``initdb`` with trust authentication, TCP
on loopback at a free port, fsync off: nothing here must survive a crash),
and each test gets a fresh database in it.  PostgreSQL refuses to run as
root, so as root the server runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"


class NoServer(Exception):
    """Why no cluster could be started here (the tests say it when they skip)."""


@dataclass(frozen=True)
class Cluster:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SERVER_USER} "
                             "dbname=postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


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


@contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster, yield it, stop it and remove its files."""
    bindir, prefix = _bindir(), _as_server_user()
    home = Path(tempfile.mkdtemp(prefix="campaign-pg-"))
    if prefix:
        shutil.chown(home, SERVER_USER)
    data, port = home / "data", _free_port()
    try:
        _run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
              SERVER_USER, "-E", "UTF8", "--locale=C.UTF-8"], "initdb")
        options = (f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        _run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
              "-l", str(home / "server.log"), "-w", "-t", "60", "start"], "pg_ctl start")
        try:
            yield Cluster(port)
        finally:
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m",
                            "immediate", "stop"], capture_output=True, timeout=60, check=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)
