"""The hash-chained audit log: verify, anchor, export, refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.cli.common import (
    Env,
    emit,
    escape_controls,
    fields,
    format_option,
    ident,
    json_safe,
    pass_env,
    plural,
    table,
    when,
    words,
)


@click.group("audit")
def audit_group() -> None:
    """Verify, anchor and export the hash-chained audit log."""


@audit_group.command("verify")
@click.option("--digest", help="A digest kept earlier (SEQ:SHA256); the log must still extend it.")
@format_option()
@pass_env
def audit_verify(env: Env, digest: str | None, fmt: str) -> None:
    """Check every hash link and replay every deliverable; exit 8 if anything is off."""
    report = env.campaign.audit.verify(digest)
    emit(fmt, report, lambda: click.echo(
        f"ok: {plural(report.events, 'event')} and "
        f"{plural(report.deliverables, 'deliverable')} verified; digest {report.head}"))


@audit_group.command("digest")
@format_option()
@pass_env
def audit_digest(env: Env, fmt: str) -> None:
    """The head digest (SEQ:SHA256): keep it elsewhere, check it later with verify --digest."""
    digest = env.campaign.audit.digest()
    emit(fmt, {"digest": digest}, lambda: click.echo(digest or "empty"))


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="jsonl: one JSON object per line; csv: a header row "
              "and one row per event.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file instead of stdout.")
@pass_env
def audit_export(env: Env, fmt: str, out: Path | None) -> None:
    """Every audit event, oldest first."""
    terminal = out is None and sys.stdout.isatty()
    chunks = (_export_text(chunk, fmt, terminal) for chunk in env.campaign.audit.export(fmt))
    if out is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    from workflow.files import write_atomically

    write_atomically(out, (chunk.encode("utf-8") for chunk in chunks))


def _export_text(chunk: str, fmt: str, terminal: bool) -> str:
    """JSON lines get DEL and C1 controls escaped too (the same JSON, parsed); CSV is
    data and keeps stored text as it is, except when shown on a terminal."""
    if fmt == "jsonl":
        return json_safe(chunk)
    return escape_controls(chunk, keep_lines=True) if terminal else chunk


@audit_group.command("refusals")
@format_option()
@pass_env
def audit_refusals(env: Env, fmt: str) -> None:
    """Refused attempts (permission denied): who, what, when, why."""
    from workflow.store.views import RefusalView

    rows = env.campaign.audit.refusals()
    emit(fmt, rows, lambda: table(
        "Refused attempts",
        [ident("id"), words("at"), ident("actor"), ident("action"), ident("#"), "reason"],
        ((r.id, when(r.at), r.actor, r.action, r.deliverable_id, r.reason) for r in rows)),
        header=fields(RefusalView))


COMMANDS = (audit_group,)
