"""Which schema revision a database holds, read without importing Alembic.

Every command checks the schema before it reads or writes, and importing
Alembic costs a large part of a command's start-up, so the revisions this
build knows are listed here (tests hold the list to the scripts in
``migrations/versions``) and the stamp is read with one SELECT.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, String, Table, select

#: Every revision this build knows, oldest first; the last is the head.
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
HEAD = REVISIONS[-1]
#: The pre-Alembic marker (SQLite's ``user_version``, else ``schema_meta``): every
#: revision keeps it at 2, the schema of release 0.1 that revision 0001 is.
LEGACY_VERSION = 2
LEGACY_REVISION = "0001"

#: Alembic's own table, spelled as Alembic creates it.
VERSION_TABLE = "alembic_version"
_META = MetaData()
_VERSIONS = Table(VERSION_TABLE, _META, Column("version_num", String(32), nullable=False))


def stamped(connection: Connection, tables: set[str]) -> str | None:
    """The revision Alembic stamped, or None if it never stamped this database."""
    if VERSION_TABLE not in tables:
        return None
    found = connection.execute(select(_VERSIONS.c.version_num)).scalars().all()
    return str(found[0]) if found else None


def pending(revision: str | None) -> list[str]:
    """The revisions an upgrade from ``revision`` (None: an empty database) would run."""
    if revision is None:
        return list(REVISIONS)
    return list(REVISIONS[REVISIONS.index(revision) + 1:])
