"""Attachments: attach any file to a deliverable, list them, get one back verified."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.cli.common import (
    ID,
    Env,
    emit,
    emit_json,
    escape_controls,
    fields,
    format_option,
    ident,
    json_option,
    pass_env,
    table,
    when,
    words,
)


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.argument("file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--name", help="Keep it under this name (default: the file's name).")
@json_option
@pass_env
def attach(env: Env, deliverable_id: int, file: Path, name: str | None, as_json: bool) -> None:
    """Attach a file (docx, pdf, image, ...) to a deliverable (owner or office only)."""
    view = env.campaign.attachments.attach(env.actor, deliverable_id, file, name)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(f"attached “{escape_controls(view.name)}” to #{deliverable_id} "
                   f"({view.size} bytes, "
                   f"{view.media_type}, sha256 {view.sha256[:12]})")


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--get", "get_name", metavar="NAME", help="Write this attachment to --out.")
@click.option("--out", type=click.Path(path_type=Path), metavar="PATH",
              help="Where --get writes the attachment.")
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@format_option()
@pass_env
def attachments(env: Env, deliverable_id: int, get_name: str | None, out: Path | None,
                force: bool, fmt: str) -> None:
    """List a deliverable's attachments, or write one (checked against its sha256) to a file."""
    if get_name is None:
        if out is not None or force:
            raise click.UsageError("--out and --force go with --get NAME")
        _list(env, deliverable_id, fmt)
        return
    if out is None:
        raise click.UsageError("--get NAME needs --out PATH")
    _write(env, deliverable_id, get_name, out, force, fmt == "json")


def _list(env: Env, deliverable_id: int, fmt: str) -> None:
    from workflow.store.views import AttachmentView

    items = env.campaign.attachments.of(deliverable_id)
    emit(fmt, items, lambda: table(
        f"Attachments of #{deliverable_id}",
        [ident("name"), ident("size"), "type", ident("sha256"), ident("by"), words("at")],
        ((a.name, a.size, a.media_type, a.sha256[:12], a.author, when(a.at))
         for a in items)), header=fields(AttachmentView))


def _write(env: Env, deliverable_id: int, name: str, out: Path, force: bool,
           as_json: bool) -> None:
    from workflow.errors import InvalidInput
    from workflow.files import write_atomically

    def refuse_existing() -> InvalidInput:
        return InvalidInput(f"{out}: already exists (use --force to replace it)")

    if out.is_dir():
        raise InvalidInput(f"{out}: is a directory; give a file path")
    if out.exists() and not force:
        raise refuse_existing()
    directory = out.parent if str(out.parent) else Path()
    if not directory.is_dir():
        raise InvalidInput(f"{out}: directory {directory} does not exist")
    view = env.campaign.attachments.get(deliverable_id, name)
    data = env.campaign.attachments.data(deliverable_id, name)  # verified, or raises
    try:
        write_atomically(out, data, overwrite=force)
    except FileExistsError:
        raise refuse_existing() from None
    except OSError as exc:
        raise InvalidInput(f"{out}: {exc.strerror or exc}") from None
    if as_json:
        emit_json({**view.to_json(), "out": str(out)})
    else:
        click.echo(f"wrote {out} ({len(data)} bytes, sha256 verified)")


COMMANDS = (attach, attachments)
