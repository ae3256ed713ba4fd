"""Reading a revision's content from a file: text, markdown or Word, bounded.

Bad input is refused before anything is written: an empty file, binary data
sent as text, a file over the size limit, something that is not a regular
file (a device or a pipe is never read), or text in another encoding (GBK is
common in this field, so it is named).

A Word file (.docx) is stored as it came, byte for byte: it is the original a
unit keeps.  Its text — paragraphs and table cells in document order, Word
headings marked as markdown headings — is extracted by :func:`text_of`
whenever the engine needs to read it: the section check, the diff, line
numbers of opinions, the notice and the dossier.  A .docx is a zip, so its
expansion is bounded too: a zip bomb is refused before it is inflated.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from workflow.errors import InvalidInput
from workflow.files import read_bounded

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

#: A revision's content.
MAX_BYTES = 5 * 1024 * 1024
#: An event's minutes (stored in the event record, not as a revision).
MAX_MINUTES_BYTES = 1024 * 1024
#: What a .docx may inflate to, all its parts together.  Text XML compresses
#: about tenfold, so a real 5 MiB document stays well below; a zip bomb does not.
MAX_UNZIPPED_BYTES = 32 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MEDIA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain",
               ".docx": DOCX}
#: Word's built-in heading styles, in English or as WPS names them.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)


@dataclass(frozen=True)
class Content:
    filename: str
    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def text(self) -> str:
        return text_of(self.media_type, self.data)


def has_text(media_type: str) -> bool:
    """Whether the engine can read text out of content of this type."""
    return media_type.startswith("text/") or media_type == DOCX


def text_of(media_type: str, data: bytes, limit: int = MAX_BYTES) -> str:
    """The text of stored content: UTF-8 text as it is, a Word file's extracted
    text, nothing for other files (a PDF stored through the API, say).

    The one place revision bytes become text, so the section check, the diff
    and the documents always read the same thing.
    """
    if media_type == DOCX:
        return docx_text(data, "content", limit)
    if media_type.startswith("text/"):
        return data.decode("utf-8", "replace")
    return ""


def from_text(text: str, filename: str = "content.md") -> Content:
    return check(filename, text.encode("utf-8"))


def read_content(path: Path, limit: int = MAX_BYTES, what: str = "content") -> Content:
    """The text, markdown or Word file at ``path``, of at most ``limit`` bytes."""
    return check(path.name, read_bounded(path, limit, what), limit)


def check(filename: str, data: bytes, limit: int = MAX_BYTES) -> Content:
    media_type = MEDIA_TYPES.get(Path(filename).suffix.lower())
    if media_type is None:
        raise InvalidInput(f"{filename}: {_unknown_type_hint(filename)}")
    if len(data) > limit:
        raise InvalidInput(f"{filename}: {len(data)} bytes is over the {limit}-byte limit")
    if not data.strip():
        raise InvalidInput(f"{filename}: the file is empty")
    if media_type == DOCX:
        if not docx_text(data, filename, limit).strip():
            raise InvalidInput(f"{filename}: the Word file has no text")
        return Content(Path(filename).name, media_type, data)
    if b"\x00" in data:
        raise InvalidInput(f"{filename}: binary data, not text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{filename}: {_encoding_hint(data)}") from None
    return Content(Path(filename).name, media_type, data.removeprefix(b"\xef\xbb\xbf"))


def _unknown_type_hint(filename: str) -> str:
    if Path(filename).suffix.lower() == ".doc":
        return "an old Word (.doc) file: save it as .docx (Word 2007 or later)"
    return f"content must be a text, markdown or Word file ({', '.join(MEDIA_TYPES)})"


def _encoding_hint(data: bytes) -> str:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    return "looks like GBK/GB18030 text; convert it to UTF-8 (iconv -f GB18030 -t UTF-8)"


# -- Word ---------------------------------------------------------------------------


def docx_text(data: bytes, filename: str = "content", limit: int = MAX_BYTES) -> str:
    """The text of a .docx, at most ``limit`` bytes of it (UTF-8); InvalidInput
    naming ``filename`` if it is not a Word file or would inflate too far."""
    _check_inflated_size(data, filename)
    document = _open_docx(data, filename)
    lines: list[str] = []
    size = 0
    for line in _lines(document):
        size += len(line.encode("utf-8")) + 1
        if size > limit:
            raise InvalidInput(f"{filename}: the Word file holds over {limit} bytes of text")
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def _check_inflated_size(data: bytes, filename: str) -> None:
    """Refuse a zip whose parts would inflate past :data:`MAX_UNZIPPED_BYTES`.

    The sizes the zip declares are a real bound: Python's zipfile stops
    inflating a part at its declared size (and a part that lies fails its CRC).
    """
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise InvalidInput(f"{filename}: not a Word (.docx) file: not a zip archive") from None
    if inflated > MAX_UNZIPPED_BYTES:
        raise InvalidInput(f"{filename}: the Word file would inflate to {inflated} bytes, over "
                           f"the {MAX_UNZIPPED_BYTES}-byte limit")


def _open_docx(data: bytes, filename: str) -> Document:
    import docx

    try:
        return docx.Document(BytesIO(data))
    # python-docx reports a broken package through many types (KeyError for a
    # missing part, lxml's syntax error, ValueError for another Office file,
    # zlib errors for a corrupt stream): for untrusted input each is the same
    # verdict, and the reason is kept in the one-line message.
    except Exception as error:
        reason = " ".join(str(error).split())[:120] or type(error).__name__
        raise InvalidInput(f"{filename}: not a readable Word (.docx) file ({reason})") from None


def _lines(container: Document | _Cell) -> Iterator[str]:
    """Paragraphs and table cells in document order, nested tables included."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if isinstance(block, Table):
            yield from _table_lines(block)
        else:
            yield from _paragraph_line(block).split("\n")


def _table_lines(table: Table) -> Iterator[str]:
    # A merged cell is returned once per grid cell it spans: read it once.  The
    # elements are kept so that their ids are not reused while the table is read.
    seen: dict[int, object] = {}
    for row in table.rows:
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen[id(cell._tc)] = cell._tc
                yield from _lines(cell)


def _paragraph_line(paragraph: Paragraph) -> str:
    """The paragraph's text, one line per manual line break; a Word heading as a
    markdown heading, so the section check sees it as one even when Word numbers
    it (its 一、 is then not in the text)."""
    text = "\n".join(line.strip() for line in paragraph.text.splitlines())
    level = min(_heading_level(paragraph), 6)
    return f"{'#' * level} {text}" if level and text else text


def _heading_level(paragraph: Paragraph) -> int:
    style = paragraph.style
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return 1
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        style = style.base_style
    return _outline_level(paragraph)


def _outline_level(paragraph: Paragraph) -> int:
    """A heading set by outline level on the paragraph itself (WPS does this)."""
    ppr = paragraph._p.pPr
    if ppr is None:
        return 0
    found = ppr.xpath("./w:outlineLvl/@w:val")
    value = str(found[0]) if found else ""
    return int(value) + 1 if value.isdigit() and int(value) < 6 else 0
