"""JSON and CSV written a record at a time, for reads that may be large.

The text is exactly what :func:`workflow.cli.common.emit` prints for the
same records (a JSON list indented by two, CSV with its header row); only
the memory differs: one record at a time, not the whole result.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from workflow.cli.common import csv_text, escape_controls, json_safe


def stream_json(records: Iterable[Any]) -> None:
    """A JSON list, one element at a time, as ``json.dumps(indent=2)`` lays it out."""
    import json

    opened = False
    for record in records:
        text = json.dumps(record, ensure_ascii=False, indent=2, default=str)
        click.echo(("[\n  " if not opened else ",\n  ") + json_safe(text.replace("\n", "\n  ")),
                   nl=False)
        opened = True
    click.echo("\n]" if opened else "[]")


def stream_csv(rows: Iterable[Mapping[str, Any]], header: Sequence[str]) -> None:
    """CSV with ``header`` as its columns, one row at a time: the rows must all
    have exactly those keys, as ``csv_text`` would name them."""
    terminal = sys.stdout.isatty()
    click.echo(csv_text([], header), nl=False)
    for row in rows:
        # csv_text writes a header before each row; drop it.
        text = csv_text([row], header).split("\n", 1)[1]
        click.echo(escape_controls(text, keep_lines=True) if terminal else text, nl=False)
