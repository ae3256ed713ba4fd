"""Alembic's environment: run the revisions on the connection the engine hands over.

:mod:`workflow.store.migrate` passes its connection (already in the write
transaction, holding the write lock) as ``config.attributes["connection"]``,
so every revision and the version stamp commit together or not at all.
Without one (a developer's ``alembic`` run for ``revision --autogenerate``),
it connects to ``sqlalchemy.url``.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

from workflow.store import models  # noqa: F401  (registers the tables on SQLModel.metadata)

#: The pre-Alembic version marker's table: part of revision 0001 on servers, not a model.
LEGACY_TABLES = frozenset({"schema_meta"})


def include_object(item: Any, name: str | None, kind: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Autogenerate compares the models alone, not the legacy marker's table."""
    return not (kind == "table" and name in LEGACY_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_object=include_object,
        # SQLite cannot ALTER most things: autogenerate writes batch operations for it.
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLite's DDL is transactional too, under the engine's own BEGIN IMMEDIATE.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set")
    with create_engine(url).begin() as connection:
        _run(connection)


main()
