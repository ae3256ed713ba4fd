"""Reading a campaign's roster (people, roles, units) from CSV or YAML.

Every bad row is reported with its line, and a roster with any bad row is
refused whole: nothing is half-loaded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflow.errors import DefinitionError, InvalidInput, RosterError
from workflow.files import read_bounded
from workflow.spec.definition import KNOWN_ROLES, USER_ID_MAX, USER_ID_PATTERN
from workflow.spec.loader import parse_yaml

#: A roster of some ten thousand people; a bigger file, or a device, is refused unread.
MAX_ROSTER_BYTES = 1024 * 1024


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, Field(pattern=USER_ID_PATTERN, max_length=USER_ID_MAX)]
    name: Annotated[str, Field(min_length=1)]
    roles: Annotated[tuple[str, ...], Field(min_length=1)]
    unit: str | None = None

    @field_validator("roles", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(r for r in value.replace(";", " ").replace(",", " ").split() if r)
        return value

    @field_validator("roles")
    @classmethod
    def _known(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in roles if r not in KNOWN_ROLES]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}")
        return tuple(dict.fromkeys(roles))


def read_roster(path: Path) -> list[Person]:
    raw = read_bounded(path, MAX_ROSTER_BYTES, "roster")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(f"roster {path}: line {line}: not UTF-8 (save it as UTF-8)") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            rows = list(_yaml_rows(text, str(path)))
        except DefinitionError as error:  # the YAML reader speaks of definitions
            problem = f"line {error.location.line or 1}: {error.problem}"
            raise RosterError(str(path), [problem]) from None
    else:
        rows = list(_csv_rows(text))
    return _validate(iter(rows), str(path))


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"id", "name", "roles"} <= set(reader.fieldnames):
        yield 1, {"__header__": reader.fieldnames}
        return
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        clean = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        # Spreadsheets often end rows with empty cells; only text beyond the header counts.
        if any((cell or "").strip() for cell in row.get(None) or []):
            clean["__extra__"] = row[None]
        yield reader.line_num, clean


def _yaml_rows(text: str, file: str) -> Iterator[tuple[int, dict[str, Any]]]:
    data, lines = parse_yaml(text, file)
    people = data.get("people") if isinstance(data, dict) else data
    if not isinstance(people, list):
        yield 1, {"__header__": None}
        return
    prefix: tuple[str, ...] = ("people",) if isinstance(data, dict) else ()
    for index, item in enumerate(people):
        yield lines.get((*prefix, index), 0), item if isinstance(item, dict) else {"__row__": item}


def _validate(rows: Iterator[tuple[int, dict[str, Any]]], file: str) -> list[Person]:
    people: list[Person] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        problem = _row_problem(row)
        if problem is None:
            try:
                person = Person.model_validate(row)
            except ValidationError as exc:
                error = exc.errors(include_url=False)[0]
                field = ".".join(str(p) for p in error["loc"])
                problem = f"{field}: {error['msg'].removeprefix('Value error, ')}"
            else:
                if person.id in seen:
                    problem = f"id {person.id!r} already on line {seen[person.id]}"
                else:
                    seen[person.id] = line
                    people.append(person)
        if problem:
            problems.append(f"line {line}: {problem}")
    if problems:
        raise RosterError(file, problems)
    if not people:
        raise RosterError(file, ["no people in it"])
    return people


def _row_problem(row: dict[str, Any]) -> str | None:
    if "__header__" in row:
        return "needs the columns id, name, roles (and optionally unit)"
    if "__extra__" in row:
        return "more cells than columns"
    if "__row__" in row:
        return "each person must be a mapping with id, name, roles"
    return None
