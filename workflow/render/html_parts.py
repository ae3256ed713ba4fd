"""Pieces of the self-contained HTML documents (dossier, notice): the page
shell and a table of cells.  Every value from the database is escaped before
it reaches these."""

from __future__ import annotations

from html import escape


def page(title: str, css: str, body: list[str]) -> str:
    """A whole page carrying its own CSS: nothing is fetched when it is opened."""
    return ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def table(headers: list[str], rows: list[list[str]], mono: tuple[int, ...] = ()) -> str:
    """A table of already escaped cells; columns in ``mono`` are drawn small and fixed."""
    if not rows:
        return '<p class="muted">（无）</p>'
    out = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in headers)
           + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="mono">{cell}</td>' if index in mono else f"<td>{cell}</td>"
            for index, cell in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def escaped(value: object) -> str:
    """A value as cell text: escaped, and nothing at all for None."""
    return "" if value is None else escape(str(value))
