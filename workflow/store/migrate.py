"""Running the migrations (Alembic's scripts in ``migrations/``) on a connection.

The caller holds the write transaction (:func:`workflow.store.database.write_connection`),
so adopting a pre-Alembic database, every revision and the new stamp commit
together or not at all: SQLite and PostgreSQL both have transactional DDL.
No ``alembic.ini``: the configuration is built here, and the scripts ship
inside the package.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from workflow.store import revisions

SCRIPTS = Path(__file__).resolve().parent / "migrations"


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, handing ``connection`` to ``env.py``."""
    settings = Config()
    settings.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        settings.attributes["connection"] = connection
    return settings


def script_revisions() -> list[str]:
    """The revisions of the scripts, oldest first (what :data:`revisions.REVISIONS` lists)."""
    scripts = ScriptDirectory.from_config(config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def upgrade(connection: Connection, current: str | None, *, adopt: bool) -> None:
    """Bring the database from ``current`` to the head.

    ``adopt``: the database was made before migrations existed and holds
    revision ``current`` without Alembic's stamp; it is stamped first (not
    migrated: its tables are already there).
    """
    settings = config(connection)
    if adopt and current is not None:
        command.stamp(settings, current)
    if revisions.pending(current):
        command.upgrade(settings, revisions.HEAD)
