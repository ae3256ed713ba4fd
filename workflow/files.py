"""Writing files so that a failure leaves nothing half-written: exported
reports, diagrams and dossiers, and the attachment store's blobs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import InvalidInput


def write_atomically(
    target: Path, data: bytes, *, overwrite: bool = True, private: bool = False
) -> None:
    """Write ``target`` via a synced temporary file in its directory, then rename.

    Without ``overwrite`` an existing ``target`` is never replaced: it raises
    :class:`FileExistsError` (the last step is a hard link, which cannot
    clobber).  ``private`` keeps the owner-only mode of the temporary file;
    otherwise the file gets the usual permissions (an export is meant to be
    read).  Either way a failure leaves no partial or temporary file.
    """
    directory = target.parent if str(target.parent) else Path()
    if not directory.is_dir():
        raise InvalidInput(f"{target}: directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        if overwrite:
            os.replace(temporary, target)
        else:
            _link_no_clobber(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    _sync_directory(directory)


def _link_no_clobber(source: str, target: Path) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:
        # No hard links on this file system: check, then rename.
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(source, target)


def _sync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
