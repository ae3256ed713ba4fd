"""Statements on a move's hot path, compiled once and run on SQLite's own cursor.

A move is this engine's hot path and SQLAlchemy's per-statement machinery
(compile-cache lookup, execution context, result proxy, events) costs several
times the SQL itself there.  A :class:`Prepared` statement is still written
with SQLAlchemy Core, compiled once per dialect; on SQLite it runs on the
driver's cursor in the caller's transaction, with plain values (ints and
strings: nothing needing SQLAlchemy's type processing).  Any other database
runs it through SQLAlchemy as usual, so the statement stays portable and its
errors are translated the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable


class Row(dict[str, Any]):
    """A result row read by column name, as attributes (like SQLAlchemy's)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Prepared:
    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any]] | None = None

    def _compiled(self, connection: Connection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """The SQL, its parameters' names in order, and the values fixed in the
        statement itself (a LIMIT's, say)."""
        if self._sqlite is None:
            compiled = self.statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
            self._sqlite = (compiled.string, tuple(compiled.positiontup or ()),
                            dict(compiled.params))
        return self._sqlite

    def _cursor(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        sql, names, fixed = self._compiled(connection)
        values = tuple(params[name] if name in params else fixed.get(name) for name in names)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql, values)
        return cursor

    def first(self, connection: Connection, params: Mapping[str, Any]) -> Row | None:
        """The first row, or None."""
        if connection.dialect.name != "sqlite":
            found = connection.execute(self.statement, dict(params)).first()
            return None if found is None else Row(found._mapping)
        cursor = self._cursor(connection, params)
        try:
            values = cursor.fetchone()
            if values is None:
                return None
            return Row(zip((d[0] for d in cursor.description), values, strict=True))
        finally:
            cursor.close()

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[Row]:
        if connection.dialect.name != "sqlite":
            return [Row(r._mapping) for r in connection.execute(self.statement, dict(params))]
        cursor = self._cursor(connection, params)
        try:
            names = [d[0] for d in cursor.description]
            return [Row(zip(names, values, strict=True)) for values in cursor.fetchall()]
        finally:
            cursor.close()

    def write(self, connection: Connection, params: Mapping[str, Any]) -> tuple[int, int | None]:
        """Run an INSERT or UPDATE: the rows it changed, and the new row's id."""
        if connection.dialect.name != "sqlite":
            result = connection.execute(self.statement, dict(params))
            key = result.inserted_primary_key if result.is_insert else None
            return result.rowcount, (int(key[0]) if key else None)
        cursor = self._cursor(connection, params)
        try:
            return cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()
