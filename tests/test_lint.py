"""Definition lint: each code is found, located, and nothing else is reported.

Variants are the shipped ``self_review.yaml`` as data, changed minimally and
dumped into ``tmp_path``; the expected line is found by markers in the
dumped text.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflow.errors import DefinitionError, Location
from workflow.spec.lint import Finding, errors_in, lint, lint_path
from workflow.spec.loader import load_file, shipped_definitions_dir

SELF_REVIEW = shipped_definitions_dir() / "self_review.yaml"
#: How many transitions the base has: a mutation appends after them.
BASE_TRANSITIONS = len(yaml.safe_load(SELF_REVIEW.read_text(encoding="utf-8"))["transitions"])

Data = dict[str, Any]


def line_of(text: str, *markers: str) -> int:
    """1-based line of the last marker, each searched after the one before."""
    position = 0
    for marker in markers:
        position = text.index(marker, position)
    return text.count("\n", 0, position) + 1


@pytest.fixture(scope="module")
def valid_data() -> Data:
    data: Data = yaml.safe_load(SELF_REVIEW.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def data(valid_data: Data) -> Data:
    return copy.deepcopy(valid_data)


def dump(data: Data) -> str:
    return yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000
    )


def write(directory: Path, data: Data, name: str | None = None) -> Path:
    path = directory / f"{name or data['id']}.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return path


def state(name: str, *, final: bool = False) -> dict[str, Any]:
    return {"name": name, "label": name, "label_en": name, "final": final}


def transition(trigger: str, source: str | list[str], dest: str, **extra: Any) -> dict[str, Any]:
    return {
        "trigger": trigger,
        "label": trigger,
        "label_en": trigger,
        "source": source,
        "dest": dest,
        "roles": ["office"],
        **extra,
    }


def transition_index(data: Data, trigger: str) -> int:
    return next(i for i, t in enumerate(data["transitions"]) if t["trigger"] == trigger)


# -- the shipped definition ------------------------------------------------


def test_self_review_lints_clean() -> None:
    assert lint(load_file(SELF_REVIEW)) == []
    assert lint_path(SELF_REVIEW) == []


def test_dumped_base_lints_clean(data: Data, tmp_path: Path) -> None:
    """The variants below start from a clean base, so each finding is the mutation's."""
    assert lint_path(write(tmp_path, data)) == []


# -- each code, from a minimal mutation --------------------------------------


def add_orphan(data: Data) -> None:
    data["states"].append(state("orphan"))
    data["transitions"].append(transition("adopt", "orphan", "archived"))


def add_dead_end(data: Data) -> None:
    data["states"].append(state("stuck"))
    data["transitions"].append(transition("park", "review", "stuck"))


def add_trap_loop(data: Data) -> None:
    data["states"] += [state("loop_a"), state("loop_b")]
    data["transitions"] += [
        transition("detour", "review", "loop_a"),
        transition("spin", "loop_a", "loop_b"),
        transition("spin_back", "loop_b", "loop_a"),
    ]


def nothing_final(data: Data) -> None:
    data["states"][-1]["final"] = False
    data["transitions"].append(transition("republish", "archived", "publicity"))


def approve_goes_back(data: Data) -> None:
    data["transitions"][transition_index(data, "approve")]["dest"] = "review"


def unknown_transition_role(data: Data) -> None:
    data["transitions"][transition_index(data, "return")]["roles"].append("mayor")


def unknown_create_role(data: Data) -> None:
    data["create_roles"].append("visitor")


def duplicate_forward(data: Data) -> None:
    data["transitions"].append(transition("forward", ["draft", "review"], "publicity"))


def exit_from_final(data: Data) -> None:
    data["transitions"].append(transition("unarchive", "archived", "publicity"))


def return_without_reason(data: Data) -> None:
    data["transitions"][transition_index(data, "return")]["rules"] = ["not_owner"]


@dataclass(frozen=True)
class Variant:
    code: str
    mutate: Callable[[Data], None]
    line: tuple[str, ...]  # markers locating the expected line in the dumped text
    field: str
    severity: str = "error"
    #: Codes the mutation necessarily triggers as well.
    also: frozenset[str] = frozenset()


VARIANTS = {
    "unreachable": Variant("unreachable-state", add_orphan, ("name: orphan",), "states.5.name"),
    "dead-end": Variant("dead-end", add_dead_end, ("name: stuck",), "states.5.name"),
    "trap-loop": Variant("no-final-path", add_trap_loop, ("name: loop_a",), "states.5.name"),
    "nothing-final": Variant("no-final-path", nothing_final, ("states:", "- {name"), "states"),
    "initial-cannot-finish": Variant(
        "no-final-path",
        approve_goes_back,
        ("name: draft",),
        "states.0.name",
        also=frozenset({"unreachable-state"}),
    ),
    "unknown-transition-role": Variant(
        "unknown-role",
        unknown_transition_role,
        ("trigger: return", "roles: [principal, mayor]"),
        "transitions.1.roles.1",
    ),
    "unknown-create-role": Variant(
        "unknown-role", unknown_create_role, ("create_roles:",), "create_roles.3"
    ),
    "duplicate-trigger": Variant(
        "duplicate-trigger",
        duplicate_forward,
        ("trigger: forward", "trigger: to_supervisors", "trigger: forward",
         "source: [draft, review]"),
        f"transitions.{BASE_TRANSITIONS}.source.1",  # the one appended
    ),
    "final-has-exit": Variant(
        "final-has-exit",
        exit_from_final,
        ("name: archived",),
        "states.4.final",
        severity="warning",
    ),
    "return-without-reason": Variant(
        "return-without-reason",
        return_without_reason,
        ("trigger: return", "rules: [not_owner]"),
        "transitions.1.rules",
        severity="warning",
    ),
}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_mutation_is_found_and_located(variant: Variant, data: Data, tmp_path: Path) -> None:
    variant.mutate(data)
    path = write(tmp_path, data)

    findings = lint(load_file(path))

    assert {f.code for f in findings} == {variant.code} | variant.also
    expected = Location(str(path), line_of(dump(data), *variant.line), variant.field)
    found = [f for f in findings if f.code == variant.code and f.location == expected]
    assert len(found) == 1, f"no {variant.code} at {expected} in {list(map(str, findings))}"
    assert found[0].severity == variant.severity


def test_a_loop_with_no_way_out_flags_every_trapped_state(data: Data, tmp_path: Path) -> None:
    add_trap_loop(data)
    findings = lint(load_file(write(tmp_path, data)))
    assert [f.location.field for f in findings] == ["states.5.name", "states.6.name"]


def test_an_owner_taking_work_back_is_not_a_return(data: Data, tmp_path: Path) -> None:
    data["transitions"].append(transition("withdraw", "review", "draft", rules=["owner_only"]))
    assert lint_path(write(tmp_path, data)) == []


def test_findings_are_sorted_and_deterministic(data: Data, tmp_path: Path) -> None:
    for mutate in (add_orphan, unknown_create_role, exit_from_final, return_without_reason):
        mutate(data)
    path = write(tmp_path, data)

    first, second = lint_path(path), lint_path(path)

    assert first == second
    assert len(first) == 4
    keys = [(f.location.line or 0, f.code) for f in first]
    assert keys == sorted(keys)
    assert [f.code for f in errors_in(first)] == ["unknown-role", "unreachable-state"]


def test_finding_prints_as_one_located_line() -> None:
    finding = Finding("dead-end", "error", Location("a.yaml", 7, "states.1.name"), "stuck")
    assert str(finding) == "a.yaml:7: states.1.name: [dead-end] stuck"


# -- files that do not load --------------------------------------------------


def break_yaml(text: str) -> str:
    return text.replace("label_en: Draft", "label_en: Draft: really", 1)


def add_unknown_field(text: str) -> str:
    return text.replace("initial: draft", "initial: draft\ncolour: red", 1)


@pytest.mark.parametrize(
    "edit", [break_yaml, add_unknown_field, lambda _: ""], ids=["syntax", "unknown-field", "empty"]
)
def test_a_file_that_fails_to_load_is_one_load_error(
    edit: Callable[[str], str], tmp_path: Path
) -> None:
    path = tmp_path / "self_review.yaml"
    path.write_text(edit(SELF_REVIEW.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)

    findings = lint_path(path)

    assert [(f.code, f.severity) for f in findings] == [("load-error", "error")]
    assert findings[0].location == caught.value.location
    assert findings[0].message == caught.value.problem


def test_missing_path_is_a_load_error(tmp_path: Path) -> None:
    findings = lint_path(tmp_path / "absent.yaml")
    assert [(f.code, f.message) for f in findings] == [("load-error", "no such file")]


# -- directories ---------------------------------------------------------------


def test_a_clean_directory_lints_clean(data: Data, tmp_path: Path) -> None:
    write(tmp_path, data)
    write(tmp_path, {**data, "id": "peer_review"})
    assert lint_path(tmp_path) == []


def test_findings_in_a_directory_name_their_file(data: Data, tmp_path: Path) -> None:
    good = write(tmp_path, data)
    add_orphan(data)
    bad = write(tmp_path, {**data, "id": "peer_review"})
    findings = lint_path(tmp_path)
    assert [(f.code, f.location.file) for f in findings] == [("unreachable-state", str(bad))]
    assert lint_path(good) == []


def test_duplicate_id_across_files(data: Data, tmp_path: Path) -> None:
    write(tmp_path, data)
    copied = write(tmp_path, data, name="copy_of_review")
    findings = lint_path(tmp_path)

    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"duplicate-id", "load-error"}
    duplicate = by_code["duplicate-id"]
    assert duplicate.location == Location(str(copied), line_of(dump(data), "id:"), "id")
    assert "self_review.yaml" in duplicate.message
    assert by_code["load-error"].location.file == str(copied)


def test_duplicate_id_when_no_file_owns_it(data: Data, tmp_path: Path) -> None:
    for name in ("first", "second"):
        write(tmp_path, data, name=name)
    duplicates = [f for f in lint_path(tmp_path) if f.code == "duplicate-id"]
    assert [Path(f.location.file).name for f in duplicates] == ["first.yaml", "second.yaml"]


def test_an_empty_directory_is_a_load_error(tmp_path: Path) -> None:
    assert [f.code for f in lint_path(tmp_path)] == ["load-error"]
