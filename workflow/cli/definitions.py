"""Workflow definitions: list, show and lint them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from workflow.cli.common import (
    Env,
    emit_json,
    escape_controls,
    from_files,
    json_option,
    pass_env,
    table,
)

if TYPE_CHECKING:
    from workflow.definition import WorkflowSpec


@click.group()
def definitions() -> None:
    """List, show and lint workflow definitions."""


def _specs(env: Env, directory: Path | None) -> list[WorkflowSpec]:
    if directory is None:
        return env.campaign.definitions()
    from workflow.loader import load_directory

    return [d.spec for d in load_directory(directory)]


def _spec(env: Env, type_id: str, directory: Path | None) -> WorkflowSpec:
    if directory is None:
        return env.campaign.definition(type_id)
    from workflow.errors import NotFound

    for spec in _specs(env, directory):
        if spec.id == type_id:
            return spec
    raise NotFound("deliverable type", type_id)




@definitions.command("list")
@from_files
@json_option
@pass_env
def definitions_list(env: Env, directory: Path | None, as_json: bool) -> None:
    """The deliverable types the engine runs."""
    specs = _specs(env, directory)
    if as_json:
        emit_json([{"id": s.id, "title": s.title, "title_en": s.title_en} for s in specs])
        return
    table("Definitions", ["id", "title", "", "states", "transitions"],
          ((s.id, s.title, s.title_en, len(s.states), len(s.transitions)) for s in specs))


@definitions.command("show")
@click.argument("type_id", metavar="ID")
@from_files
@json_option
@pass_env
def definitions_show(env: Env, type_id: str, directory: Path | None, as_json: bool) -> None:
    """One definition: its states and transitions."""
    from workflow.reports import definition_json

    spec = _spec(env, type_id, directory)
    if as_json:
        emit_json(definition_json(spec))
        return
    click.echo(escape_controls(f"{spec.id}: {spec.title} ({spec.title_en}); "
                               f"initial state {spec.initial}"))
    table("States", ["state", "label", "", "final"],
          ((s.name, s.label, s.label_en, "yes" if s.final else "") for s in spec.states))
    table("Transitions", ["trigger", "label", "from", "to", "roles", "rules"], (
        (t.trigger, t.label, ", ".join(t.source), t.dest, ", ".join(t.roles),
         ", ".join(t.rules)) for t in spec.transitions))


@definitions.command("lint")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@json_option
def definitions_lint(path: Path | None, as_json: bool) -> None:
    """Check definition files (default: the shipped ones); exit 7 on errors."""
    from workflow.checks import errors_in, lint_path
    from workflow.loader import shipped_definitions_dir

    findings = lint_path(path or shipped_definitions_dir())
    if as_json:
        emit_json([{"code": f.code, "severity": f.severity, "file": f.location.file,
                    "line": f.location.line, "field": f.location.field,
                    "message": f.message} for f in findings])
    else:
        for finding in findings:
            click.echo(escape_controls(str(finding)))
    errors = errors_in(findings)
    if errors:
        click.echo(f"campaign: {len(errors)} error(s) in definitions", err=True)
        sys.exit(7)
    if not as_json:
        click.echo(f"ok: {len(findings)} warning(s)" if findings else "ok")


COMMANDS = (definitions,)
