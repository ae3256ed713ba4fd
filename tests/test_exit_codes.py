"""One error tree, one table of exit codes.

Every exception class of the package lives in :mod:`workflow.errors`, each
exit code is declared by exactly one class there, and ``EXIT_CODES`` is the
only table of them: ``campaign --help`` prints it and the README's table must
agree with it.  No command exits with a number of its own.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import click
from click.testing import CliRunner

import cli
import workflow
from workflow import errors
from workflow.errors import EXIT_CODES, CampaignError

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "workflow"
#: The only module that may exit with a literal number: the CLI's entry point.
ENTRY_POINT = PACKAGE / "cli" / "main.py"
_README_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(.*?)\s*\|\s*$")


def package_modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(workflow.__path__, "workflow.")]
    return ["workflow", *names]


def engine_errors() -> list[type[CampaignError]]:
    return [obj for obj in vars(errors).values()
            if inspect.isclass(obj) and issubclass(obj, CampaignError)]


def declarers() -> dict[int, list[type[CampaignError]]]:
    """Each exit code and the classes that set it themselves rather than inherit it."""
    found: dict[int, list[type[CampaignError]]] = defaultdict(list)
    for error in engine_errors():
        if "exit_code" in vars(error):
            found[error.exit_code].append(error)
    return found


def readme_rows() -> list[tuple[int, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return [(int(m.group(1)), m.group(2)) for line in section.splitlines()
            if (m := _README_ROW.match(line.strip()))]


def normalised(text: str) -> str:
    return " ".join(text.split())


# -- the tree -------------------------------------------------------------------------------


def test_every_exception_class_lives_in_errors() -> None:
    misplaced = []
    for name in package_modules():
        module = importlib.import_module(name)
        misplaced += [f"{name}.{obj.__name__}" for obj in vars(module).values()
                      if inspect.isclass(obj) and issubclass(obj, BaseException)
                      and obj.__module__ == name and name != "workflow.errors"]
    assert misplaced == []


def test_each_code_is_declared_by_exactly_one_class() -> None:
    shared = {code: [c.__name__ for c in classes]
              for code, classes in declarers().items() if len(classes) > 1}
    assert shared == {}


def test_the_integrity_errors_share_one_code_through_their_parent() -> None:
    for error in (errors.AuditVerificationFailed, errors.IntegrityError,
                  errors.ContentIntegrityError):
        assert issubclass(error, errors.IntegrityFailure)
        assert error.exit_code == 8


# -- the table ------------------------------------------------------------------------------


def test_the_table_lists_each_code_once_in_order() -> None:
    codes = [row.code for row in EXIT_CODES]
    assert codes == sorted(set(codes))


def test_the_table_names_the_class_declaring_each_code() -> None:
    rows = {row.code: row.error for row in EXIT_CODES if row.error is not None}
    assert rows == {code: classes[0] for code, classes in declarers().items()}


def test_the_codes_no_engine_error_carries_are_success_and_usage() -> None:
    bare = {row.code for row in EXIT_CODES if row.error is None}
    assert bare == {0, click.UsageError.exit_code}


def test_help_prints_the_table() -> None:
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0, result.output
    shown = normalised(result.stdout)
    for row in EXIT_CODES:
        assert f"{row.code} {row.meaning}" in shown
    assert normalised(cli.EXIT_HELP.replace("\b", "")) in shown  # \b: click's no-wrap mark


def test_readme_table_matches_the_table() -> None:
    rows = readme_rows()
    assert [code for code, _ in rows] == [row.code for row in EXIT_CODES]
    for (code, cell), row in zip(rows, EXIT_CODES, strict=True):
        assert cell.startswith(row.meaning), f"README's exit {code}: {cell!r}"


# -- no private numbers ---------------------------------------------------------------------


def literal_exits(source: str) -> list[int]:
    """Lines of ``sys.exit(N)``, ``exit(N)`` or ``SystemExit(N)`` with a literal number."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        code = node.args[0]
        if (name in ("exit", "SystemExit") and isinstance(code, ast.Constant)
                and type(code.value) is int):
            lines.append(node.lineno)
    return lines


def test_literal_exits_are_recognised() -> None:
    source = "sys.exit(4)\nsys.exit(error.exit_code)\nraise SystemExit(7)\nsys.exit('why')\n"
    assert literal_exits(source) == [1, 3]


def test_no_literal_exit_code_outside_the_entry_point() -> None:
    found = {str(path.relative_to(REPO)): lines for path in sorted(PACKAGE.rglob("*.py"))
             if path != ENTRY_POINT
             and (lines := literal_exits(path.read_text(encoding="utf-8")))}
    assert found == {}
