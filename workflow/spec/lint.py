"""Lint for workflow definitions: the graph problems the loader lets through.

The loader refuses specs that mean nothing; :func:`lint` reports unreachable
states, dead ends, loops with no way out, unknown roles and ambiguous
triggers, each with its file, line and field.  :func:`lint_path` never raises
for a bad file: each problem that stops it loading is a ``load-error`` — all
of them, not only the first the loader would raise.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workflow.errors import DefinitionError, Location
from workflow.spec.definition import KNOWN_ROLES, WorkflowSpec
from workflow.spec.loader import (
    LoadedDefinition,
    definition_files,
    definition_problems,
    file_name_problem,
    parse_definition,
    parse_plan,
    read_text,
)

Severity = Literal["error", "warning"]

#: Codes that are reported as warnings; every other code is an error.
WARNINGS: frozenset[str] = frozenset({"final-has-exit", "return-without-reason"})


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: [{self.code}] {self.message}"


def errors_in(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def _finding(location: Location, code: str, message: str) -> Finding:
    severity: Severity = "warning" if code in WARNINGS else "error"
    return Finding(code, severity, location, message)


def _sort_key(finding: Finding) -> tuple[str, int, str, str, str]:
    where = finding.location
    return (where.file, where.line or 0, finding.code, where.field or "", finding.message)


# -- the graph -------------------------------------------------------------

Edges = dict[str, set[str]]


def _edges(spec: WorkflowSpec, *, reverse: bool = False) -> Edges:
    edges: Edges = {state.name: set() for state in spec.states}
    for transition in spec.transitions:
        for source in transition.source:
            start, end = (transition.dest, source) if reverse else (source, transition.dest)
            edges[start].add(end)
    return edges


def _closure(start: Iterable[str], edges: Edges) -> set[str]:
    """Every state reachable from ``start`` (inclusive) along ``edges``."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for following in edges[todo.pop()] - seen:
            seen.add(following)
            todo.append(following)
    return seen


# -- the checks --------------------------------------------------------------

Check = Callable[[LoadedDefinition], Iterator[Finding]]


def _unreachable(loaded: LoadedDefinition) -> Iterator[Finding]:
    spec = loaded.spec
    reachable = _closure([spec.initial], _edges(spec))
    for i, state in enumerate(spec.states):
        if state.name not in reachable:
            where = loaded.location(("states", i, "name"))
            yield _finding(where, "unreachable-state", f"state {state.name!r} cannot be reached")


def _has_exit(spec: WorkflowSpec, state: str) -> bool:
    return next(spec.transitions_from(state), None) is not None


def _dead_ends(loaded: LoadedDefinition) -> Iterator[Finding]:
    for i, state in enumerate(loaded.spec.states):
        if not state.final and not _has_exit(loaded.spec, state.name):
            where = loaded.location(("states", i, "name"))
            yield _finding(where, "dead-end", f"state {state.name!r} is not final and has no exit")


def _no_final_path(loaded: LoadedDefinition) -> Iterator[Finding]:
    spec = loaded.spec
    if not spec.final_states:
        yield _finding(loaded.location(("states",)), "no-final-path", "no state is final")
        return
    reachable = _closure([spec.initial], _edges(spec))
    finishing = _closure(spec.final_states, _edges(spec, reverse=True))
    for i, state in enumerate(spec.states):
        name = state.name
        if name in finishing or name not in reachable:
            continue
        where = loaded.location(("states", i, "name"))
        if name == spec.initial:
            yield _finding(where, "no-final-path", f"no path from {name!r} to any final state")
        elif _has_exit(spec, name):  # dead ends have their own finding
            message = f"no final state can be reached from {name!r} (a loop with no way out?)"
            yield _finding(where, "no-final-path", message)


def _unknown_roles(loaded: LoadedDefinition) -> Iterator[Finding]:
    spec = loaded.spec
    used: list[tuple[tuple[str | int, ...], str]] = [
        (("create_roles", j), role) for j, role in enumerate(spec.create_roles)
    ]
    for i, transition in enumerate(spec.transitions):
        used += [(("transitions", i, "roles", j), role) for j, role in enumerate(transition.roles)]
    known = ", ".join(sorted(KNOWN_ROLES))
    for path, role in used:
        if role not in KNOWN_ROLES:
            message = f"unknown role {role!r} (known: {known})"
            yield _finding(loaded.location(path), "unknown-role", message)


def _duplicate_triggers(loaded: LoadedDefinition) -> Iterator[Finding]:
    first: dict[tuple[str, str], int] = {}
    for i, transition in enumerate(loaded.spec.transitions):
        for j, source in enumerate(transition.source):
            key = (source, transition.trigger)
            if key in first:
                message = f"trigger {key[1]!r} from {source!r} also in transitions.{first[key]}"
                where = loaded.location(("transitions", i, "source", j))
                yield _finding(where, "duplicate-trigger", message)
            first.setdefault(key, i)


def _final_exits(loaded: LoadedDefinition) -> Iterator[Finding]:
    for i, state in enumerate(loaded.spec.states):
        exits = sorted({t.trigger for t in loaded.spec.transitions_from(state.name)})
        if state.final and exits:
            message = f"final state {state.name!r} has exits: {', '.join(exits)}"
            yield _finding(loaded.location(("states", i, "final")), "final-has-exit", message)


def _returns_without_reason(loaded: LoadedDefinition) -> Iterator[Finding]:
    initial = loaded.spec.initial
    for i, transition in enumerate(loaded.spec.transitions):
        # A return is someone else sending the work back; the owner moving
        # their own deliverable back (owner_only) owes nobody a reason.
        is_return = transition.dest == initial and set(transition.source) != {initial}
        if is_return and not transition.owner_only and not transition.requires_comment:
            message = f"{transition.trigger!r} returns to {initial!r} without requires_comment"
            where = loaded.location(("transitions", i, "rules"))
            yield _finding(where, "return-without-reason", message)


CHECKS: tuple[Check, ...] = (
    _unreachable,
    _dead_ends,
    _no_final_path,
    _unknown_roles,
    _duplicate_triggers,
    _final_exits,
    _returns_without_reason,
)


def lint(loaded: LoadedDefinition) -> list[Finding]:
    """Every graph finding for one loaded definition, sorted by line then code."""
    return sorted((f for check in CHECKS for f in check(loaded)), key=_sort_key)


# -- files and directories -------------------------------------------------


def _load_error(error: DefinitionError) -> Finding:
    return _finding(error.location, "load-error", error.problem)


def _lint_file(path: Path) -> list[Finding]:
    """Every problem of one file: each field that fails to load (not just the
    first), or else the graph findings and a file name that is not its id."""
    try:
        text = read_text(path)
    except DefinitionError as error:
        return [_load_error(error)]
    if _is_plan(text):
        return _lint_plan(text, path)
    problems = definition_problems(text, str(path))
    if problems:
        return sorted((_load_error(p) for p in problems), key=_sort_key)
    loaded = parse_definition(text, str(path))
    findings = lint(loaded)
    if (misnamed := file_name_problem(path, loaded)) is not None:
        findings.append(_load_error(misnamed))
    return sorted(findings, key=_sort_key)


def _is_plan(text: str) -> bool:
    """A campaign plan has phases where a definition has states."""
    return bool(re.search(r"^phases:", text, re.MULTILINE)) and not re.search(
        r"^states:", text, re.MULTILINE)


def _lint_plan(text: str, path: Path) -> list[Finding]:
    """A plan file: the first problem that keeps it from loading, located."""
    try:
        parse_plan(text, str(path))
    except DefinitionError as error:
        return [_load_error(error)]
    return []


def _declared_id(path: Path) -> tuple[str, Location] | None:
    """The id ``path`` declares and where, even if its file name does not match."""
    try:
        loaded = parse_definition(read_text(path), str(path))
    except DefinitionError:
        return None
    return loaded.spec.id, loaded.location(("id",))


def _duplicate_ids(files: Sequence[Path]) -> Iterator[Finding]:
    # load_file wants id == file name, so a clash is a load-error as well;
    # this finding names the other file that holds the id.
    by_id: dict[str, list[tuple[Path, Location]]] = defaultdict(list)
    for path in files:
        if (found := _declared_id(path)) is not None:
            by_id[found[0]].append((path, found[1]))
    for spec_id, group in by_id.items():
        for path, where in group:
            if len(group) > 1 and path.stem != spec_id:
                others = ", ".join(p.name for p, _ in group if p != path)
                message = f"id {spec_id!r} is also declared by {others}"
                yield _finding(where, "duplicate-id", message)


def lint_path(path: Path) -> list[Finding]:
    """Lint one definition file, or every ``*.yaml`` in a directory."""
    if not path.is_dir():
        return _lint_file(path)
    try:
        files = definition_files(path)
    except DefinitionError as error:
        return [_load_error(error)]
    if not files:
        return [_load_error(DefinitionError(Location(str(path)), "no *.yaml definitions found"))]
    findings = [f for file in files for f in _lint_file(file)]
    return sorted([*findings, *_duplicate_ids(files)], key=_sort_key)
