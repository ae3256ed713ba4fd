"""Tables for people: as wide as the terminal, never breaking an id.

An id the user must type back (``supervisor_approval``, ``employment_training``)
split over two lines is an id they cannot copy.  So each column says what it holds:

- ``ident`` — ids, triggers, states, types: never broken; the column is as wide
  as its widest cell.
- ``words`` — a move (``review → supervisor_approval``), a time
  (``2014-06-16 09:04 +08:00``), a list of ids: broken only between words, so
  each id in it stays whole.
- text (the default) — titles, comments, reasons: wrapped at word boundaries; a
  word wider than the column folds, which is how Chinese (no spaces) wraps.
  rich counts a CJK character as two cells, so the columns line up.

The widths are planned here rather than left to rich, which shrinks whichever
column is widest — ids included.  When even the narrowest plan is wider than
the terminal, each row is printed as a record (``column: value`` lines) that
the terminal may soft-wrap but nothing cuts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console

Kind = Literal["ident", "words", "text"]

#: The narrowest a free-text column is squeezed to (five Chinese characters).
TEXT_FLOOR = 10
#: Between two columns: one cell of padding and one of the (blank) divider.
GAP = 2


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"


def ident(header: str) -> Column:
    """A column of ids: never broken."""
    return Column(header, "ident")


def words(header: str) -> Column:
    """A column broken only between words (moves, times, lists of ids)."""
    return Column(header, "words")


def _cell_len(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.splitlines()), default=0)


def _longest_word(cells: Sequence[str]) -> int:
    """The widest whitespace-free run that must stay whole.  Runs holding CJK
    may fold anywhere (Chinese breaks between any two characters)."""
    return max((_cell_len(w) for c in cells for w in c.split() if w.isascii()), default=0)


def _floor(column: Column, cells: Sequence[str], natural: int) -> int:
    """The narrowest this column may get without breaking what it promises to keep."""
    if column.kind == "ident":
        return natural
    shortest = min(natural, TEXT_FLOOR)
    if column.kind == "words":
        return max(_longest_word(cells), min(shortest, 4))
    return max(shortest, _longest_word([column.header]))


def _share(widths: list[int], wants: list[int], slack: int) -> list[int]:
    """Give ``slack`` cells to the columns, filling the smallest wants first (a
    figure or a time then sits on one line) and sharing the rest evenly."""
    gains = [0] * len(wants)
    hungry = [i for i, want in enumerate(wants) if want > 0]
    while hungry and slack > 0:
        share = max(slack // len(hungry), 1)
        for i in sorted(hungry, key=lambda i: wants[i] - gains[i]):
            give = min(share, wants[i] - gains[i], slack)
            gains[i] += give
            slack -= give
        hungry = [i for i in hungry if gains[i] < wants[i]]
    return [w + g for w, g in zip(widths, gains, strict=True)]


def console() -> Console:
    """A console on stdout whose closed pipe is a ``BrokenPipeError`` like any
    other write's: rich's own handling exits 1, the CLI's ends quietly with 0."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return _Console()


def plan_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]],
                width: int) -> list[int] | None:
    """Each column's width so that the table fits ``width`` cells, or None when
    it cannot fit without breaking an id or a word of a ``words`` column."""
    cells = [[c.header, *(row[i] for row in rows)] for i, c in enumerate(columns)]
    natural = [max(_cell_len(text) for text in column) for column in cells]
    room = width - GAP * (len(columns) - 1)
    if sum(natural) <= room:
        return natural
    floors = [_floor(c, cells[i], natural[i]) for i, c in enumerate(columns)]
    if sum(floors) > room:
        return None
    wants = [n - f for n, f in zip(natural, floors, strict=True)]
    return _share(floors, wants, room - sum(floors))


def print_table(console: Console, title: str | None, columns: Sequence[Column],
                rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` (already terminal-safe text) under ``columns``, as plain text:
    no cell is read as markup or emoji."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    widths = plan_widths(columns, rows, console.width)
    if widths is None:
        print_records(console, title, columns, rows)
        return
    grid = Table(title=None if title is None else Text(title), box=box.SIMPLE_HEAD,
                 show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for column, width in zip(columns, widths, strict=True):
        grid.add_column(Text(column.header), width=max(width, 1), overflow="fold",
                        no_wrap=column.kind == "ident")
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))
    console.print(grid)


def print_records(console: Console, title: str | None, columns: Sequence[Column],
                  rows: Sequence[Sequence[str]]) -> None:
    """Each row as ``column: value`` lines, for a terminal too narrow for the table.
    Lines are not wrapped by us: the terminal soft-wraps, and a copied id is whole."""
    from rich.text import Text

    if title is not None:
        console.print(Text(title), soft_wrap=True)
    for row in rows:
        console.print()
        for column, cell in zip(columns, row, strict=True):
            if cell:
                console.print(Text(f"{column.header}: {cell}"), soft_wrap=True)
