"""Reading a revision's content from a file: text or markdown, UTF-8, bounded.

Bad input is refused before anything is written: an empty file, binary data
sent as text, a file over the size limit, something that is not a regular
file (a device or a pipe is never read), or text in another encoding (GBK is
common in this field, so it is named).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInput
from .files import read_bounded

#: A revision's content.
MAX_BYTES = 5 * 1024 * 1024
#: An event's minutes (stored in the event record, not as a revision).
MAX_MINUTES_BYTES = 1024 * 1024
MEDIA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain"}


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
        return self.data.decode("utf-8")


def from_text(text: str, filename: str = "content.md") -> Content:
    return check(filename, text.encode("utf-8"))


def read_content(path: Path, limit: int = MAX_BYTES, what: str = "content") -> Content:
    """The text or markdown file at ``path``, of at most ``limit`` bytes."""
    return check(path.name, read_bounded(path, limit, what), limit)


def check(filename: str, data: bytes, limit: int = MAX_BYTES) -> Content:
    media_type = MEDIA_TYPES.get(Path(filename).suffix.lower())
    if media_type is None:
        raise InvalidInput(
            f"{filename}: content must be a text or markdown file ({', '.join(MEDIA_TYPES)})"
        )
    if len(data) > limit:
        raise InvalidInput(f"{filename}: {len(data)} bytes is over the {limit}-byte limit")
    if not data.strip():
        raise InvalidInput(f"{filename}: the file is empty")
    if b"\x00" in data:
        raise InvalidInput(f"{filename}: binary data, not text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{filename}: {_encoding_hint(data)}") from None
    return Content(Path(filename).name, media_type, data.removeprefix(b"\xef\xbb\xbf"))


def _encoding_hint(data: bytes) -> str:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    return "looks like GBK/GB18030 text; convert it to UTF-8 (iconv -f GB18030 -t UTF-8)"
