"""Commands for reviewers' documents: diffs, opinions, content checks, the
publicity notice and the dossier.

Rendering (markdown, Graphviz) is imported inside the commands that need it,
so ``campaign --help`` stays as cheap as click.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workflow.cli.common import (
    ID,
    Env,
    echo_text,
    emit,
    emit_json,
    escape_controls,
    format_option,
    ident,
    json_option,
    pass_env,
    plural,
    table,
)
from workflow.cli.tables import words

out_file = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--from", "from_n", type=ID, metavar="N", help="Older revision number.")
@click.option("--to", "to_n", type=ID, metavar="M", help="Newer revision (default: the latest).")
@format_option()
@pass_env
def diff(env: Env, deliverable_id: int, from_n: int | None, to_n: int | None,
         fmt: str) -> None:
    """What changed between two revisions (text: a unified diff; other files: size and hash).

    Without --from, a reviewer (--as) sees the change since the revision they
    last acted on or commented on, everyone else the change from the previous
    revision.  The table format is the diff itself; CSV has one row per line of it.
    """
    result = env.campaign.documents.diff(deliverable_id, from_n, to_n, reader=env.user)
    old = result.from_revision.number if result.from_revision else None
    rows = [{"from": old, "to": result.to_revision.number, "line": number, "text": text}
            for number, text in enumerate(result.lines, 1)]
    emit(fmt, result, lambda: echo_text(result.render(), nl=False), rows=rows,
         header=["from", "to", "line", "text"])


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--text", required=True, help="The opinion (审核意见).")
@click.option("--line", type=ID, metavar="N", help="The line of the revision it is about.")
@click.option("--revision", type=ID, metavar="N", help="The revision (default: the latest).")
@json_option
@pass_env
def comment(env: Env, deliverable_id: int, text: str, line: int | None, revision: int | None,
            as_json: bool) -> None:
    """Add a review opinion on a revision, or on one line of it (audited)."""
    view = env.campaign.documents.add_opinion(env.actor, deliverable_id, text, line=line,
                                    revision=revision)
    if as_json:
        emit_json(view.to_json())
    else:
        where = f", line {view.line}" if view.line is not None else ""
        click.echo(f"#{deliverable_id} opinion {view.id} on revision {view.revision_number}"
                   f"{where} (event {view.event_seq})")


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@format_option()
@pass_env
def check(env: Env, deliverable_id: int, fmt: str) -> None:
    """Which required sections the latest revision lacks, without submitting (exit 4 if
    any).  CSV: one row per missing section."""
    from workflow.render.labels import accepted

    campaign = env.campaign
    spec = campaign.registry.definition_for(campaign.reads.get(deliverable_id))
    missing = campaign.documents.check_content(deliverable_id)
    gaps = [{"name": s.name, "label": s.label, "accepted": accepted(s)} for s in missing]

    def show() -> None:
        if missing:
            table(f"#{deliverable_id}: missing required sections",
                  [ident("section"), "label", words("accepted as")],
                  ((s.name, s.label, accepted(s)) for s in missing))
            return
        click.echo(f"#{deliverable_id} complete: every required section present "
                   f"({len(spec.required_sections)})")

    emit(fmt, {"id": deliverable_id, "type": spec.id, "complete": not missing,
               "required": [{"name": s.name, "label": s.label}
                            for s in spec.required_sections],
               "missing": gaps}, show, rows=gaps, header=["name", "label", "accepted"])
    if missing:
        from workflow.errors import TransitionNotAllowed

        # Not raised: a submit would be refused, but the line says what check found.
        names = escape_controls("、".join(s.label for s in missing))
        click.echo(f"campaign: deliverable {deliverable_id} lacks "
                   f"{plural(len(missing), 'required section')}: {names}", err=True)
        sys.exit(TransitionNotAllowed.exit_code)


def _write_or_echo(out: Path | None, text: str) -> None:
    if out is None:
        echo_text(text, nl=False)
        return
    from workflow.files import write_atomically

    write_atomically(out, text.encode("utf-8"))
    click.echo(f"wrote {out}")


@click.command()
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), default="html",
              show_default=True, help="html to print and post, or markdown.")
@click.option("--out", type=out_file, help="Write to this file instead of stdout.")
@pass_env
def notice(env: Env, deliverable_id: int, fmt: str, out: Path | None) -> None:
    """The publicity notice (公示) to post; refused (exit 4) if it never entered publicity."""
    from workflow.render import notices

    _write_or_echo(out, notices.notice(env.campaign, deliverable_id, fmt))


@click.command("dossier")
@click.argument("deliverable_id", metavar="ID", type=ID)
@click.option("--out", type=out_file, required=True, help="The HTML file to write.")
@pass_env
def dossier_(env: Env, deliverable_id: int, out: Path) -> None:
    """Everything about a deliverable in one self-contained HTML file.

    Exit 8 if the audit log does not verify: the file is still written, with
    a red banner saying so.
    """
    from workflow.files import write_atomically
    from workflow.render import dossier

    html, verified = dossier.dossier(env.campaign, deliverable_id)
    write_atomically(out, html.encode("utf-8"))
    if not verified:
        from workflow.errors import AuditVerificationFailed

        try:
            env.campaign.audit.verify()
            problem = "audit verification failed"
        except AuditVerificationFailed as failure:
            problem = str(failure)
        click.echo(f"campaign: {problem}; {out} written with a 'verification FAILED' banner",
                   err=True)
        sys.exit(AuditVerificationFailed.exit_code)
    click.echo(f"wrote {out}")


COMMANDS = (diff, comment, check, notice, dossier_)
