"""What the inbox, the deliverable pages and their forms share: the page
reads, the rule of sight, and uploads read without trusting their size."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from workflow.campaign import Campaign
from workflow.errors import InvalidInput
from workflow.services.attachments import check_name
from workflow.services.page_reads import PageReads
from workflow.web.context import Viewer, web

#: Items on one page of the inbox or of "my deliverables".
PAGE = 50
#: Copying an upload to disk, this much at a time.
_CHUNK = 64 * 1024


def campaign_of(request: Request) -> Campaign:
    return web(request).campaign


def page_reads(request: Request) -> PageReads:
    """The page reads over the request's campaign (cheap: it holds three references)."""
    campaign = campaign_of(request)
    return campaign.pages


def readable(request: Request, who: Viewer, deliverable_id: int) -> Campaign:
    """The campaign, once ``who`` may read the deliverable (else it is not found: 404)."""
    campaign = campaign_of(request)
    campaign.visibility.require_read(who.id, deliverable_id)
    return campaign


def text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_number(form: FormData, name: str) -> int | None:
    """A positive whole number from the form, or None when the field is empty."""
    value = text_field(form, name)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InvalidInput(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def uploaded(form: FormData, name: str = "file") -> UploadFile:
    value = form.get(name)
    if not isinstance(value, UploadFile) or not value.filename:
        raise InvalidInput("choose a file to upload")
    return value


def bounded_bytes(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes, refused once over ``limit`` without reading further
    (the part is already spooled by the form parser; this bounds the memory)."""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{upload.filename}: over the {limit}-byte limit")
    return data


@contextmanager
def spooled_to_disk(upload: UploadFile, limit: int) -> Iterator[Path]:
    """The upload copied to a private temporary file under its own base name
    (the attachment service reads a path), at most ``limit`` + 1 bytes copied."""
    name = check_name(Path(upload.filename or "").name)  # before it names a file here
    with tempfile.TemporaryDirectory(prefix="campaign-upload-") as directory:
        target = Path(directory) / name
        with target.open("wb") as out:
            copied = 0
            while copied <= limit and (chunk := upload.file.read(_CHUNK)):
                out.write(chunk)
                copied += len(chunk)
        if copied > limit:
            raise InvalidInput(f"{name}: over the {limit}-byte limit")
        yield target


def download(data: bytes, filename: str, media_type: str) -> Response:
    """Bytes served as a download, never shown inline (a stored HTML file must
    not run in the site's origin)."""
    # An ASCII name for browsers that ignore filename* (RFC 6266), the real one for the rest.
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                    for c in filename)
    disposition = (f'attachment; filename="{plain}"; '
                   f"filename*=UTF-8''{quote(filename, safe='')}")
    # The middleware adds X-Content-Type-Options: nosniff to every answer.
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": disposition})
