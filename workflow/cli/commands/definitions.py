"""Workflow definitions: list, show and lint them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from workflow.cli.common import (
    Env,
    emit,
    escape_controls,
    format_option,
    from_files,
    ident,
    pass_env,
    plural,
    table,
    words,
)

if TYPE_CHECKING:
    from workflow.spec.definition import WorkflowSpec


@click.group()
def definitions() -> None:
    """List, show and lint workflow definitions."""


def _specs(env: Env, directory: Path | None) -> list[WorkflowSpec]:
    if directory is None:
        return env.campaign.registry.definitions()
    from workflow.spec.loader import load_directory

    return [d.spec for d in load_directory(directory)]


def _spec(env: Env, type_id: str, directory: Path | None) -> WorkflowSpec:
    if directory is None:
        return env.campaign.registry.definition(type_id)
    from workflow.errors import NotFound

    for spec in _specs(env, directory):
        if spec.id == type_id:
            return spec
    raise NotFound("deliverable type", type_id)




@definitions.command("list")
@from_files
@format_option()
@pass_env
def definitions_list(env: Env, directory: Path | None, fmt: str) -> None:
    """The deliverable types the engine runs."""
    specs = _specs(env, directory)
    emit(fmt, [{"id": s.id, "title": s.title, "title_en": s.title_en} for s in specs],
         lambda: table("Definitions", [ident("id"), "title", "", ident("states"),
                                       ident("moves")],
                       ((s.id, s.title, s.title_en, len(s.states), len(s.transitions))
                        for s in specs)), header=["id", "title", "title_en"])


@definitions.command("show")
@click.argument("type_id", metavar="ID")
@from_files
@format_option()
@pass_env
def definitions_show(env: Env, type_id: str, directory: Path | None, fmt: str) -> None:
    """One definition: its states and transitions (CSV: one row per transition)."""
    from workflow.render.json_shapes import definition_json

    spec = _spec(env, type_id, directory)
    document = definition_json(spec)
    emit(fmt, document, lambda: _print_definition(spec), rows=document["transitions"])


def _print_definition(spec: WorkflowSpec) -> None:
    click.echo(escape_controls(f"{spec.id}: {spec.title} ({spec.title_en}); "
                               f"initial state {spec.initial}"))
    table("States", [ident("state"), "label", "", ident("final")],
          ((s.name, s.label, s.label_en, "yes" if s.final else "") for s in spec.states))
    table("Transitions", [ident("trigger"), "label", words("move"), words("roles"),
                          words("rules")], (
        (t.trigger, t.label, f"{', '.join(t.source)} → {t.dest}", ", ".join(t.roles),
         ", ".join(t.rules)) for t in spec.transitions))
    _print_requirements(spec)


def _print_requirements(spec: WorkflowSpec) -> None:
    """What a leader must write, and how long it stays public: the rules a
    ``content_complete`` move and a publicity window apply."""
    from workflow.render.labels import accepted

    if spec.required_sections:
        table("Required sections (content_complete)", ["section", words("accepted as")],
              ((s.label, accepted(s)) for s in spec.required_sections))
    if spec.publicity is not None:
        close = spec.publicity.close_trigger or "publicity.end"
        click.echo(f"publicity: {spec.publicity.working_days} working days (official calendar)")
        click.echo(escape_controls(
            f"  objection: {spec.publicity.objection_trigger}; after the window: {close}"))


@definitions.command("lint")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@format_option()
def definitions_lint(path: Path | None, fmt: str) -> None:
    """Check definition files (default: the shipped ones): every problem, not just
    the first; exit 7 on errors."""
    from workflow.spec.lint import errors_in, lint_path
    from workflow.spec.loader import shipped_definitions_dir

    findings = lint_path(path or shipped_definitions_dir())
    rows = [{"code": f.code, "severity": f.severity, "file": f.location.file,
             "line": f.location.line, "field": f.location.field, "message": f.message}
            for f in findings]

    def show() -> None:
        for finding in findings:
            click.echo(escape_controls(str(finding)))

    emit(fmt, rows, show, header=["code", "severity", "file", "line", "field", "message"])
    errors = errors_in(findings)
    if errors:
        from workflow.errors import DefinitionError

        # Not raised: the findings are already listed, this line only counts them.
        click.echo(f"campaign: {plural(len(errors), 'error')} in definitions", err=True)
        sys.exit(DefinitionError.exit_code)
    if fmt == "table":
        click.echo(f"ok: {plural(len(findings), 'warning')}" if findings else "ok")


COMMANDS = (definitions,)
