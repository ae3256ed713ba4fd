"""Attachments: any file (docx, pdf, images) kept content-addressed by sha256.

For a file-backed SQLite database the bytes live in a store directory beside
it — ``<db dir>/<db stem>.attachments/<sha[:2]>/<sha>`` — written atomically
and only when absent, so the same content is stored once however many names
it has.  For any other database (PostgreSQL, or SQLite in memory) they live
in the ``attachment_blob`` table, inside the same transaction as the rest.

Bad input is refused before anything is written: an unsafe name (``/``,
``\\``, ``..``, a leading dot, control characters, over 200 characters), a
name the deliverable already has (nothing is overwritten), an empty file, a
file over the limit (``CAMPAIGN_MAX_ATTACHMENT_BYTES``, default 20 MiB), or
something that is not a regular file.  If the transaction fails after a new
blob was written, the blob is removed again unless a committed row uses it.

Every read recomputes the sha256: a blob that is missing or does not match is
reported with :class:`IntegrityError` (exit 8) and never served.

Attachments do not change a deliverable's state, so they do not bump its
version: their audit event (``attachment.add``) names the deliverable in its
detail rather than in ``deliverable_id``, because :func:`workflow.store.audit.replay`
counts every event carrying a ``deliverable_id`` against the version.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import unicodedata
from pathlib import Path

from sqlalchemy import URL
from sqlmodel import Session, col, select

from workflow.errors import (
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from workflow.files import read_bounded, write_atomically
from workflow.machine import policy
from workflow.services.reads import deliverable, rows_of
from workflow.services.registry import Registry
from workflow.services.rows import own_role
from workflow.spec.definition import Role
from workflow.store import audit, database, seals
from workflow.store.models import Attachment, AttachmentBlob
from workflow.store.store import Store
from workflow.store.views import AttachmentView

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_BYTES_ENV = "CAMPAIGN_MAX_ATTACHMENT_BYTES"
MAX_NAME_CHARS = 200
FALLBACK_MEDIA_TYPE = "application/octet-stream"

#: Control, invisible-formatting (e.g. right-to-left override), surrogate and
#: line/paragraph-separator characters: none of them belongs in a file name.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# A private table, so a type does not depend on the machine's /etc/mime.types.
_MEDIA_TYPES = mimetypes.MimeTypes()
for _type, _suffix in (
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
    ("application/vnd.oasis.opendocument.text", ".odt"),
    ("application/vnd.oasis.opendocument.spreadsheet", ".ods"),
    ("application/vnd.oasis.opendocument.presentation", ".odp"),
    ("text/markdown", ".md"),
    ("image/webp", ".webp"),
):
    _MEDIA_TYPES.add_type(_type, _suffix)
_COMPRESSED = {
    "gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz",
    "compress": "application/x-compress", "br": "application/x-brotli",
}


class Attachments:
    """Attach files to deliverables and serve them back, verified."""

    def __init__(self, store: Store, registry: Registry,
                 max_bytes: int | None = None) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise InvalidInput("the attachment size limit must be at least 1 byte")
        self._store = store
        self._registry = registry
        self._max_bytes = max_bytes
        #: Where the blobs of a file database live (None: in the database).
        self.directory: Path | None = store_directory(store.engine.url)

    @property
    def max_bytes(self) -> int:
        """The size limit: the constructor's, else ``CAMPAIGN_MAX_ATTACHMENT_BYTES``, or 20 MiB."""
        if self._max_bytes is not None:
            return self._max_bytes
        return limit_from_env()

    # -- writing ----------------------------------------------------------------------

    def attach(
        self, actor: str | None, deliverable_id: int, path: Path, name: str | None = None
    ) -> AttachmentView:
        """Attach the file at ``path`` under ``name`` (default: its base name).

        Only the deliverable's owner or the campaign office may attach.
        """
        name = check_name(path.name if name is None else name)
        data = read_file(path, self.max_bytes)
        sha = hashlib.sha256(data).hexdigest()
        blob_written = False
        try:
            with self._store.writing() as session:
                who = self._store.actor(session, actor)
                item = self._store.state_of(session, deliverable_id)
                role = self.attach_role(who, item.owner_id, item.definition_sha, deliverable_id)
                if self._find(session, deliverable_id, name) is not None:
                    raise InvalidInput(
                        f"deliverable {deliverable_id} already has an attachment named {name!r}; "
                        "attachments are never overwritten (give another --name)"
                    )
                blob_written = True
                self._put_blob(session, sha, data)
                now = self._store.now()
                row = Attachment(
                    deliverable_id=deliverable_id, name=name, sha256=sha, size=len(data),
                    media_type=media_type(name), author_id=who.id, at=now,
                )
                session.add(row)
                session.flush()
                audit.append(
                    session, at=now, actor=who.id, role=role, action="attachment.add",
                    detail=audit.detail({"deliverable": deliverable_id, "name": name, "sha256": sha,
                                   "size": len(data), "media_type": row.media_type}),
                    seals=[seals.seal(session.connection(), "attachment", row.id)],
                )
                view = _view(row)
        except BaseException:
            if blob_written:
                self._discard_unreferenced(sha)
            raise
        return view

    def attach_role(
        self, who: policy.Actor, owner_id: str, definition_sha: str, deliverable_id: int
    ) -> str | None:
        """The role under which ``who`` attaches a file; raises if they may not
        (the owner or the campaign office only)."""
        if who.id == owner_id:
            return own_role(who, self._registry.spec(definition_sha))
        if who.has(Role.OFFICE):
            return Role.OFFICE.value
        raise PermissionDenied(
            who.id, "attach a file",
            f"only the owner ({owner_id}) or the campaign office may attach", deliverable_id,
        )

    def _put_blob(self, session: Session, sha: str, data: bytes) -> None:
        if self.directory is None:
            kept = session.get(AttachmentBlob, sha)
            if kept is None:
                session.add(AttachmentBlob(sha256=sha, size=len(data), content=data))
            elif hashlib.sha256(kept.content).hexdigest() != sha or kept.size != len(data):
                # Present but damaged: the content is known, repair it (as on disk).
                kept.size, kept.content = len(data), data
            return
        target = self.directory / sha[:2] / sha
        try:
            if _file_holds(target, sha, len(data)):
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            # Absent: write it.  Present but damaged: the content is known, repair it.
            write_atomically(target, data, overwrite=target.exists(), private=True)
        except FileExistsError:
            return  # it appeared meanwhile; same name, same content
        except OSError as exc:
            raise database.DatabaseUnavailable(
                f"cannot write the attachment store {self.directory}: "
                f"{exc.strerror or exc}") from None

    def _discard_unreferenced(self, sha: str) -> None:
        """Remove a blob no committed row uses (after a failed attach).

        Runs under the write lock, so no other attach can start using the blob
        in between; a failure here leaves at most an unreferenced blob.
        """
        store = self.directory
        if store is None:
            return  # the blob row was rolled back with everything else
        engine = self._store.engine
        with contextlib.suppress(Exception), database.write_transaction(engine) as session:
            used = session.exec(
                select(Attachment.id).where(col(Attachment.sha256) == sha).limit(1)
            ).first()
            if used is None:
                blob = store / sha[:2] / sha
                blob.unlink(missing_ok=True)
                for directory in (blob.parent, store):
                    with contextlib.suppress(OSError):
                        directory.rmdir()  # only if empty

    # -- reading ----------------------------------------------------------------------

    def check_all(self) -> None:
        """Every attachment's stored bytes still hash to it (each row itself is
        sealed by its event, see :mod:`workflow.store.seals`)."""
        with self._store.read() as session:
            rows = session.exec(select(Attachment).order_by(col(Attachment.id))).all()
            stored = [(r.deliverable_id, r.name) for r in rows]
        for deliverable_id, name in stored:
            self.data(deliverable_id, name)  # IntegrityError if the bytes changed

    def of(self, deliverable_id: int) -> list[AttachmentView]:
        """A deliverable's attachments, in the order they were added."""
        with self._store.read() as session:
            return [_view(r) for r in rows_of(session, Attachment, deliverable_id)]

    def get(self, deliverable_id: int, name: str) -> AttachmentView:
        with self._store.read() as session:
            return _view(self._named(session, deliverable_id, name))

    def data(self, deliverable_id: int, name: str) -> bytes:
        """The bytes of an attachment, after checking them against its sha256.

        Raises :class:`IntegrityError` if they are missing or do not match.
        """
        with self._store.read() as session:
            row = self._named(session, deliverable_id, name)
            sha, size = row.sha256, row.size
            data = self._get_blob(session, sha, size)
        if data is None:
            raise IntegrityError(deliverable_id, name,
                                 f"its stored content (sha256 {sha}) is missing")
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise IntegrityError(
                deliverable_id, name,
                f"its stored content does not match its sha256 (expected {sha}, found "
                f"{actual}{'' if len(data) == size else f', {len(data)} bytes instead of {size}'})",
            )
        return data

    def _get_blob(self, session: Session, sha: str, size: int) -> bytes | None:
        if self.directory is None:
            blob = session.get(AttachmentBlob, sha)
            return None if blob is None else blob.content
        path = self.directory / sha[:2] / sha
        try:
            with path.open("rb") as stream:
                return stream.read(size + 1)  # a grown file must not be read whole
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise database.DatabaseUnavailable(
                f"cannot read the attachment store {self.directory}: "
                f"{exc.strerror or exc}") from None

    def _named(self, session: Session, deliverable_id: int, name: str) -> Attachment:
        deliverable(session, deliverable_id)
        row = self._find(session, deliverable_id, name)
        if row is None:
            raise NotFound(f"attachment of deliverable {deliverable_id}", repr(name))
        return row

    @staticmethod
    def _find(session: Session, deliverable_id: int, name: str) -> Attachment | None:
        return session.exec(
            select(Attachment).where(
                col(Attachment.deliverable_id) == deliverable_id, col(Attachment.name) == name)
        ).first()


# -- helpers ------------------------------------------------------------------------------


def store_directory(url: URL) -> Path | None:
    """Where a database's attachment blobs go; None means in the database itself."""
    found = database.sqlite_file(url)  # a plain path or a file: URI; None: no file
    if found is None:
        return None
    db = found.absolute()
    return db.parent / f"{db.stem}.attachments"


def limit_from_env() -> int:
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    if not (raw.isascii() and raw.isdecimal()) or int(raw) < 1:
        raise InvalidInput(f"{MAX_BYTES_ENV}={raw!r} is not a positive number of bytes")
    return int(raw)


def check_name(name: str) -> str:
    """Return ``name`` if it is safe to keep and hand out as a file name; refuse it otherwise.

    Nothing is stripped or replaced: a name is accepted as given or refused.
    """
    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"attachment name {name!r} {why} (give another with --name)")

    if not name:
        raise InvalidInput("an attachment needs a name (--name)")
    if len(name) > MAX_NAME_CHARS:
        raise refuse(f"is {len(name)} characters long; at most {MAX_NAME_CHARS} are allowed")
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in name):
        raise refuse("contains control or invisible characters")
    if ".." in name.replace("\\", "/").split("/"):
        raise refuse("contains '..': a name may not leave its directory")
    if "/" in name or "\\" in name:
        raise refuse("contains a path separator ('/' or '\\'): give a plain file name")
    if name.startswith("."):
        raise refuse("starts with '.': hidden names are not allowed")
    if name != name.strip():
        raise refuse("starts or ends with white space")
    return name


def media_type(name: str) -> str:
    """By the name's suffixes (only they: ``guess_type`` would read a name like
    ``data:...`` as a URL)."""
    suffixes = "".join(Path(name).suffixes[-2:])
    guessed, encoding = _MEDIA_TYPES.guess_type(f"file{suffixes}", strict=False)
    if encoding is not None:
        return _COMPRESSED.get(encoding, FALLBACK_MEDIA_TYPE)
    return guessed or FALLBACK_MEDIA_TYPE


def read_file(path: Path, limit: int) -> bytes:
    """The whole of a regular, non-empty file of at most ``limit`` bytes.

    What is not a regular file (a device, a pipe) is refused before it is
    opened; the size is checked before reading (a huge file is never read)
    and again on the bytes read (a file that grew meanwhile is refused too).
    """
    data = read_bounded(path, limit, limit_name=f"attachment limit ({MAX_BYTES_ENV})")
    if not data:
        raise InvalidInput(f"{path}: the file is empty")
    return data


def _file_holds(path: Path, sha: str, size: int) -> bool:
    """True if ``path`` exists with exactly this content."""
    try:
        if path.stat().st_size != size:
            return False
        with path.open("rb") as stream:
            return hashlib.sha256(stream.read(size + 1)).hexdigest() == sha
    except FileNotFoundError:
        return False


def _view(row: Attachment) -> AttachmentView:
    return AttachmentView(
        id=row.id or 0, deliverable_id=row.deliverable_id, name=row.name, sha256=row.sha256,
        size=row.size, media_type=row.media_type, author=row.author_id, at=row.at,
    )
