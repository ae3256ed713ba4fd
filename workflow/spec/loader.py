"""The only code that reads definition files.

YAML is composed into nodes by PyYAML's safe machinery and turned into plain
data by hand, so that (1) a duplicated key is an error instead of a silent
overwrite, (2) any tag outside the YAML core schema (``!!python/object`` and
friends) is refused, and (3) every field keeps the line it came from, which
is how a pydantic error becomes "file:line: field: problem".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError, model_validator

from workflow.errors import DefinitionError, Location, NotFound
from workflow.files import read_bounded
from workflow.spec.definition import WorkflowSpec, reference_problems
from workflow.spec.plan import PlanSpec

_CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
)

Path_ = tuple[str | int, ...]

#: Aliases share nodes, so a small file can expand without bound ("billion
#: laughs") or refer to itself; these caps keep the builder finite.
_MAX_DEPTH = 32
_MAX_NODES = 20_000

#: A definition or plan file (the shipped ones are a few KiB); a bigger file,
#: or a device, is refused without being read.
MAX_DEFINITION_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedDefinition:
    """A validated spec with the text it came from and where each field sits."""

    spec: WorkflowSpec
    source: str
    file: str
    lines: dict[Path_, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    def location(self, path: Iterable[str | int]) -> Location:
        return locate(self.file, self.lines, tuple(path))


def locate(file: str, lines: dict[Path_, int], path: Path_) -> Location:
    """The nearest line known for ``path`` (falls back to its parents)."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            dotted = ".".join(str(p) for p in path) or None
            return Location(file, lines[path[:cut]], dotted)
    return Location(file, None, ".".join(str(p) for p in path) or None)


class _Builder:
    """Turns a composed node tree into plain data, remembering lines."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path_, int] = {}
        self._constructor = yaml.SafeLoader("")
        self._built = 0

    def build(self, node: yaml.Node, path: Path_ = ()) -> Any:
        self.lines[path] = node.start_mark.line + 1
        self._built += 1
        if len(path) > _MAX_DEPTH:
            raise self._error(node, path[:3], f"nested over {_MAX_DEPTH} deep (recursive alias?)")
        if self._built > _MAX_NODES:
            raise self._error(node, path[:3], f"over {_MAX_NODES} values (alias expansion?)")
        if node.tag not in _CORE_TAGS:
            raise self._error(node, path, f"tag {node.tag!r} is not allowed (safe YAML only)")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        # PyYAML matches 2014-02-30 as a date and then fails in datetime, and an
        # int of thousands of digits fails in int(): both are the file's fault.
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[-1].replace("timestamp", "date")
            raise self._error(node, path, f"{node.value!r} is not a valid {kind} ({exc})") from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._error(key_node, path, "merge keys (<<) are not allowed")
            key = self._scalar_key(key_node, path)
            if not isinstance(key, str):
                raise self._error(key_node, path, f"key {key!r} must be text")
            if key in result:
                raise self._error(key_node, (*path, key), f"duplicate key {key!r}")
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar_key(self, node: yaml.Node, path: Path_) -> object:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _CORE_TAGS:
            raise self._error(node, path, "keys must be plain text")
        return self._scalar(node, path)

    def _error(self, node: yaml.Node, path: Path_, problem: str) -> DefinitionError:
        dotted = ".".join(str(p) for p in path) or None
        return DefinitionError(Location(self.file, node.start_mark.line + 1, dotted), problem)


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    """Safe-load one YAML document; return its data and a path → line map."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError(Location(file, line), f"YAML syntax: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(Location(file), f"YAML: {exc}") from None
    except RecursionError:
        raise DefinitionError(Location(file), "YAML nested too deeply") from None
    if node is None:
        raise DefinitionError(Location(file, 1), "the file is empty")
    builder = _Builder(file)
    return builder.build(node), builder.lines


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], text: str, file: str) -> tuple[M, dict[Path_, int]]:
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise DefinitionError(Location(file, 1), "a definition must be a mapping")
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise _first_problem(exc, file, lines) from None


def parse_definition(text: str, file: str) -> LoadedDefinition:
    """Parse and validate one definition; raise :class:`DefinitionError` on the first problem."""
    spec, lines = _validated(WorkflowSpec, text, file)
    return LoadedDefinition(spec=spec, source=text, file=file, lines=lines)


@dataclass(frozen=True)
class LoadedPlan:
    """A validated campaign plan with the text it came from."""

    spec: PlanSpec
    source: str
    file: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


def parse_plan(text: str, file: str) -> LoadedPlan:
    spec, _ = _validated(PlanSpec, text, file)
    return LoadedPlan(spec=spec, source=text, file=file)


def load_plan(path: Path) -> LoadedPlan:
    """A campaign plan file (``definitions/campaigns/*.yaml``)."""
    return parse_plan(read_text(path), str(path))


def shipped_plan(name: str = "mianyang-2014") -> Path:
    return shipped_definitions_dir() / "campaigns" / f"{name}.yaml"


def shipped_plans() -> list[str]:
    return sorted(p.stem for p in (shipped_definitions_dir() / "campaigns").glob("*.yaml"))


def find_plan(name_or_path: str) -> LoadedPlan:
    """A plan file, or a shipped plan by its name (``mianyang-2014``), so that
    ``campaign start`` works from any folder."""
    path = Path(name_or_path)
    if not path.exists() and name_or_path in shipped_plans():
        path = shipped_plan(name_or_path)
    if not path.exists():
        raise NotFound(
            f"campaign plan (a file, or one of the shipped: {', '.join(shipped_plans())})",
            name_or_path)
    return load_plan(path)


def _first_problem(exc: ValidationError, file: str, lines: dict[Path_, int]) -> DefinitionError:
    return _problem(exc.errors(include_url=False)[0], file, lines)


def _problem(error: Any, file: str, lines: dict[Path_, int]) -> DefinitionError:
    """One pydantic error as "file:line: field: problem"."""
    path: Path_ = tuple(error["loc"])
    context = error.get("ctx") or {}
    if "path" in context:
        path = _dotted_path(str(context["path"]))
    return DefinitionError(locate(file, lines, path), error["msg"])


def read_text(path: Path, limit: int = MAX_DEFINITION_BYTES) -> str:
    raw = read_bounded(path, limit,
                       refusal=lambda problem: DefinitionError(Location(str(path)), problem))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DefinitionError(Location(str(path), line), "the file is not UTF-8") from None


def load_file(path: Path) -> LoadedDefinition:
    loaded = parse_definition(read_text(path), str(path))
    if (problem := file_name_problem(path, loaded)) is not None:
        raise problem
    return loaded


def file_name_problem(path: Path, loaded: LoadedDefinition) -> DefinitionError | None:
    """A definition's id is its file name (``self_review.yaml`` holds ``self_review``)."""
    if path.stem == loaded.spec.id:
        return None
    problem = f"id {loaded.spec.id!r} does not match file name {path.name!r}"
    return DefinitionError(loaded.location(("id",)), problem)


class _Unresolved(WorkflowSpec):
    """A definition validated field by field, its names not yet resolved, so that
    lint can report every unresolved name (the real model raises the first)."""

    @model_validator(mode="after")
    def _references_resolve(self) -> _Unresolved:  # replaces the parent's check
        return self


def definition_problems(text: str, file: str) -> list[DefinitionError]:
    """Every problem :func:`parse_definition` would stop at the first of: each
    invalid field, then each name that does not resolve.  A YAML problem is
    still one (what follows it cannot be read)."""
    try:
        data, lines = parse_yaml(text, file)
    except DefinitionError as error:
        return [error]
    if not isinstance(data, dict):
        return [DefinitionError(Location(file, 1), "a definition must be a mapping")]
    try:
        spec = _Unresolved.model_validate(data)
    except ValidationError as exc:
        return [_problem(error, file, lines) for error in exc.errors(include_url=False)]
    return [DefinitionError(locate(file, lines, _dotted_path(path)), problem)
            for path, problem in reference_problems(spec)]


def _dotted_path(dotted: str) -> Path_:
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def definition_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise DefinitionError(Location(str(directory)), "not a directory")
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def load_directory(directory: Path) -> list[LoadedDefinition]:
    """Every ``*.yaml`` in ``directory``; ids must be unique (they are file names)."""
    files = definition_files(directory)
    if not files:
        raise DefinitionError(Location(str(directory)), "no *.yaml definitions found")
    return [load_file(p) for p in files]


def shipped_definitions_dir() -> Path:
    """The shipped definitions: inside the installed package (a wheel), else
    ``definitions/`` beside it (a checkout, or its editable install)."""
    package = Path(__file__).resolve().parent.parent  # workflow/, from workflow/spec/
    inside = package / "definitions"
    return inside if inside.is_dir() else package.parent / "definitions"
