"""Files in and out.

Reading: every file a user names (content, minutes, definitions, plans,
rosters, attachments) goes through :func:`read_bounded`, which refuses what is
not a regular file, or is too big, without reading it.  Writing: exported
reports, diagrams and dossiers, and the attachment store's blobs are written so
that a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from workflow.errors import InvalidInput, NotFound

#: O_NONBLOCK: opening a FIFO that was swapped in after the check must not wait
#: for a writer; O_NOCTTY: opening a terminal must not make it ours.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_BINARY", 0))


#: Makes the error for a refused file from the problem ("no such file", ...).
Refusal = Callable[[str], InvalidInput]


def read_bounded(
    path: Path, limit: int, what: str = "", *, limit_name: str = "limit",
    refusal: Refusal | None = None,
) -> bytes:
    """The whole of the regular file ``path``, refused if it holds over ``limit`` bytes.

    A missing file is :class:`NotFound` (exit 6; or what ``refusal`` makes of
    "no such file"); a directory, a device, a FIFO or a socket is refused
    (:class:`InvalidInput`, exit 7: "WHAT PATH: PROBLEM", or what ``refusal``
    makes of the problem) before it is opened, so ``/dev/zero`` or a pipe is
    never read; so is a file whose size is over ``limit``.  The type is
    checked again on the open descriptor (the path may have been swapped),
    and at most ``limit + 1`` bytes are read, so a file that grew meanwhile
    is refused too.  ``what`` ("roster", "content", ...) and ``limit_name``
    word the message.
    """
    def refuse(problem: str) -> InvalidInput:
        if refusal is not None:
            return refusal(problem)
        return InvalidInput(f"{what} {path}: {problem}" if what else f"{path}: {problem}")

    try:
        info = os.stat(path)
        _require_regular(info.st_mode, refuse)
        if info.st_size > limit:
            raise refuse(f"{info.st_size} bytes is over the {limit}-byte {limit_name}")
        with os.fdopen(_open_nonblocking(path), "rb") as stream:
            # Swapped for a device or a pipe since the check?  The bounded read
            # below covers a regular file swapped for a bigger one.
            _require_regular(os.fstat(stream.fileno()).st_mode, refuse)
            data = stream.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        if refusal is None:  # a file that is not there is not found (exit 6), like a user
            raise NotFound(f"{what} file" if what else "file", path) from None
        raise refusal("no such file") from None
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    except ValueError:  # a NUL in the path (the Python API; argv cannot carry one)
        raise refuse("not a valid file name") from None
    if len(data) > limit:
        raise refuse(f"the file grew while being read, to over the {limit}-byte {limit_name}")
    return data


def _open_nonblocking(path: Path) -> int:
    return os.open(path, _READ_FLAGS)


def _require_regular(mode: int, refuse: Refusal) -> None:
    if stat.S_ISDIR(mode):
        raise refuse("is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise refuse(f"not a regular file ({_kind(mode)})")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "an unknown kind")


def write_atomically(
    target: Path, data: bytes | Iterable[bytes], *, overwrite: bool = True,
    private: bool = False,
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
            # Chunks are written as they come: an export never sits whole in memory.
            for chunk in (data,) if isinstance(data, bytes) else data:
                stream.write(chunk)
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
