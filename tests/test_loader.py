"""The loader: safe YAML in, a validated spec out, and every refusal located.

Each bad file is a one-line edit of the shipped ``self_review.yaml``; the
expected line is found by a marker in the edited text, so the assertions do
not depend on the shipped file's layout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from workflow.errors import DefinitionError
from workflow.spec.loader import LoadedDefinition, load_file, parse_yaml, shipped_definitions_dir

SELF_REVIEW = shipped_definitions_dir() / "self_review.yaml"

Content = str | bytes


def line_of(content: Content, *markers: str) -> int:
    """1-based line of the last marker, each searched after the one before."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    position = 0
    for marker in markers:
        position = data.index(marker.encode("utf-8"), position)
    return data.count(b"\n", 0, position) + 1


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} is not in the base definition"
    return text.replace(old, new, 1)


@pytest.fixture(scope="module")
def base() -> str:
    return SELF_REVIEW.read_text(encoding="utf-8")


def write(directory: Path, content: Content, name: str = "self_review.yaml") -> Path:
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_error(path: Path) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    return caught.value


# -- the shipped definition ----------------------------------------------------


@pytest.fixture(scope="module")
def loaded() -> LoadedDefinition:
    return load_file(SELF_REVIEW)


def test_self_review_loads(loaded: LoadedDefinition) -> None:
    spec = loaded.spec
    assert spec.id == "self_review"
    assert spec.initial == "draft"
    assert spec.final_states == {"archived"}
    assert spec.transition("review", "forward") is not None
    assert spec.state("draft").label == "草稿"
    assert loaded.file == str(SELF_REVIEW)
    assert len(loaded.sha256) == 64


def test_self_review_fields_know_their_lines(loaded: LoadedDefinition, base: str) -> None:
    assert loaded.location(("id",)).line == line_of(base, "id: self_review")
    dest = loaded.location(("transitions", 3, "dest"))
    assert dest.line == line_of(base, "trigger: approve", "dest:")
    assert dest.field == "transitions.3.dest"


# -- every refusal names file, line and field --------------------------------


@dataclass(frozen=True)
class Bad:
    """A broken variant of the base text and where the loader must point."""

    id: str
    edit: Callable[[str], Content]
    line: tuple[str, ...]  # markers locating the expected line in the edited content
    field: str | None
    problem: str


def sub(old: str, new: str) -> Callable[[str], str]:
    return lambda text: replace_once(text, old, new)


def gbk_line(text: str) -> bytes:
    """UTF-8 throughout except one line saved as GBK."""
    good = b"title_en: Self-review material"
    return text.encode("utf-8").replace(good, "title_en: 自查材料".encode("gbk"), 1)


BAD_FILES = [
    Bad(
        "yaml-syntax",
        sub("label_en: Draft\n", "label_en: Draft: really\n"),
        ("label_en: Draft: really",),
        None,
        "YAML syntax",
    ),
    Bad(
        "duplicate-key",
        sub("title_en: Self-review material\n", "title_en: A\ntitle_en: B\n"),
        ("title_en: B",),
        "title_en",
        "duplicate key 'title_en'",
    ),
    Bad(
        "merge-key",
        sub("  - name: archived\n", "  - <<: {final: true}\n    name: archived\n"),
        ("<<: {final: true}",),
        "states.4",
        "merge keys",
    ),
    Bad(
        "missing-field",
        sub("    label_en: Archived\n", ""),
        ("name: archived",),
        "states.4.label_en",
        "Field required",
    ),
    Bad(
        "undeclared-dest",
        sub("dest: publicity", "dest: nowhere"),
        ("dest: nowhere",),
        "transitions.3.dest",
        "dest state 'nowhere' is not declared",
    ),
    Bad(
        "wrong-type",
        sub("final: true", "final: [true]"),
        ("final: [true]",),
        "states.4.final",
        "valid boolean",
    ),
    Bad(
        "unknown-field",
        sub("final: true\n", "final: true\n    colour: red\n"),
        ("colour: red",),
        "states.4.colour",
        "Extra inputs are not permitted",
    ),
    Bad("empty-file", lambda _: "", (), None, "empty"),
    Bad("only-comments", lambda _: "# nothing here\n", (), None, "empty"),
    Bad("not-a-mapping", lambda _: "- a\n- b\n", (), None, "must be a mapping"),
    Bad("non-utf8", gbk_line, ("title_en: ",), None, "not UTF-8"),
    Bad(
        "id-not-file-name",
        sub("id: self_review", "id: other_name"),
        ("id: other_name",),
        "id",
        "does not match file name",
    ),
    Bad(
        "owner-only-and-not-owner",
        sub("rules: [owner_only, content_complete]",
            "rules: [owner_only, not_owner, content_complete]"),
        ("trigger: submit",),
        "transitions.0",
        "exclude each other",
    ),
    Bad(
        "non-text-key",
        sub("initial: draft\n", "initial: draft\n1: one\n"),
        ("1: one",),
        None,
        "must be text",
    ),
    Bad(
        "date-where-text-expected",
        sub("title_en: Self-review material", "title_en: 2024-01-01"),
        ("title_en: 2024",),
        "title_en",
        "valid string",
    ),
]


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda bad: bad.id)
def test_refusal_is_located(bad: Bad, base: str, tmp_path: Path) -> None:
    content = bad.edit(base)
    path = write(tmp_path, content)

    error = load_error(path)

    assert error.location.file == str(path)
    assert error.location.line == (line_of(content, *bad.line) if bad.line else 1)
    assert error.location.field == bad.field
    assert bad.problem in error.problem
    assert "\n" not in str(error)
    assert str(error).startswith(f"invalid definition {path}:{error.location.line}")


def test_missing_file_is_a_definition_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "absent.yaml")
    assert (error.location.file, error.problem) == (str(tmp_path / "absent.yaml"), "no such file")


# -- unsafe YAML is refused, never executed ------------------------------------


def system_payload(sentinel: Path) -> str:
    return f"!!python/object/apply:os.system ['touch {sentinel}']"


def test_the_payload_would_run_under_an_unsafe_loader(tmp_path: Path) -> None:
    """Control: proves the sentinel check below can fail."""
    sentinel = tmp_path / "pwned"
    yaml.unsafe_load(system_payload(sentinel))
    assert sentinel.exists()


@pytest.mark.parametrize("where", ["value", "list-item"])
def test_python_tag_is_refused_and_not_run(where: str, base: str, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    payload = system_payload(sentinel)
    if where == "value":
        content = replace_once(base, "title_en: Self-review material", f"title_en: {payload}")
        marker, field = "title_en: !!python", "title_en"
    else:
        content = replace_once(base, "roles: [office]", f"roles: [{payload}]")
        marker, field = "roles: [!!python", "transitions.5.roles.0"

    error = load_error(write(tmp_path, content))

    assert not sentinel.exists()
    assert (error.location.line, error.location.field) == (line_of(content, marker), field)
    assert "python/object/apply:os.system" in error.problem
    assert "not allowed" in error.problem


# -- hostile structure ends in a DefinitionError, quickly --------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &x [*x]\n", "recursive alias"),
        (billion_laughs(), "alias expansion"),
        ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ],
    ids=["recursive-alias", "billion-laughs", "deep-nesting"],
)
def test_hostile_yaml_is_refused(text: str, problem: str) -> None:
    started = time.monotonic()
    with pytest.raises(DefinitionError) as caught:
        parse_yaml(text, "hostile.yaml")
    assert time.monotonic() - started < 5
    assert caught.value.location.file == "hostile.yaml"
    assert problem in caught.value.problem
    assert "\n" not in str(caught.value)


def test_aliases_within_limits_still_work() -> None:
    data, _ = parse_yaml("a: &r [leader, office]\nb: *r\n", "ok.yaml")
    assert data == {"a": ["leader", "office"], "b": ["leader", "office"]}
