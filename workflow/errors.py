"""One exception tree for the whole engine.

Every class carries the exit code the CLI returns for it, so a script calling
``campaign`` can tell a refusal from a conflict without parsing messages.
Each code is declared by exactly one class and inherited by its subclasses,
and :data:`EXIT_CODES` at the end is the table of them that ``--help`` prints
and the README's table is tested against.  ``str(error)`` is always a single
line fit for stderr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ``scheme://user:password@``: greedy to the token's last ``@``, so a password
# holding an unescaped ``@`` is masked whole (over-masking a bit of the host is
# harmless; showing a bit of the password is not).
_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>\S*)@")


def mask_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` replaced by ``***``.

    Works on URLs SQLAlchemy cannot parse too, which is exactly when they end
    up quoted in an error message.
    """
    return _CREDENTIALS.sub(r"\g<head>***@", text)


def url_passwords(text: str) -> list[str]:
    """The passwords of the ``scheme://user:password@`` URLs in ``text``, as written there."""
    return [match.group("secret") for match in _CREDENTIALS.finditer(text)]


class CampaignError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line, and never a database password, whatever the message quotes.
        super().__init__(mask_credentials(" ".join(message.split())))

    @property
    def message(self) -> str:
        return str(self)


class PermissionDenied(CampaignError):
    """The actor lacks the role, or a rule (owner only, no self-approval) refuses them."""

    exit_code = 3

    def __init__(
        self, actor: str, action: str, reason: str, deliverable_id: int | None = None
    ) -> None:
        self.actor = actor
        self.action = action
        self.reason = reason
        self.deliverable_id = deliverable_id
        target = f" on deliverable {deliverable_id}" if deliverable_id is not None else ""
        super().__init__(f"permission denied: {actor} may not {action}{target}: {reason}")


class SignInRefused(PermissionDenied):
    """A sign-in refused: one message whatever was wrong (the account, the
    password, a deactivated user), so the answer never tells who exists."""

    def __init__(self, account: str, reason: str = "wrong account or password") -> None:
        super().__init__(account, "sign in", reason)


class SignInThrottled(SignInRefused):
    """Too many failed sign-ins for this account or from this address lately."""

    def __init__(self, account: str, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(account, "too many failed sign-ins; try again in "
                                  f"{max(1, retry_after_seconds // 60)} min")


class ObjectionsThrottled(PermissionDenied):
    """Too many objections to public notices from one address lately."""

    def __init__(self, actor: str, address: str, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(actor, "object", f"too many objections from {address}; try again in "
                                          f"{max(1, retry_after_seconds // 60)} min")


class SignInNeeded(PermissionDenied):
    """A page or API call that needs a signed-in user, without one."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__("(not signed in)", f"open {path}", "sign in first")


class PasswordChangeNeeded(PermissionDenied):
    """A temporary password: nothing else until it is changed."""

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id, "act", "change the temporary password first")


class FormExpired(PermissionDenied):
    """A form or API write without its session's CSRF token: forged, or from an old page."""

    def __init__(self, actor: str = "(unknown)") -> None:
        super().__init__(actor, "send this form", "it has expired or was not sent from this "
                         "site; reload the page")


class TransitionNotAllowed(CampaignError):
    """The move is not possible now: wrong state, missing reason, content not editable.

    ``items`` names what is missing when there may be many (a phase gate):
    ``str(error)`` still carries them on its one line, while ``summary`` is the
    line without them, for a caller that lists them one per line (the CLI).
    """

    exit_code = 4

    def __init__(self, reason: str, deliverable_id: int | None = None,
                 items: tuple[str, ...] | list[str] = ()) -> None:
        self.reason = reason
        self.deliverable_id = deliverable_id
        self.items = tuple(items)
        target = f"deliverable {deliverable_id}: " if deliverable_id is not None else ""
        self.summary = " ".join(f"not allowed: {target}{reason}".split())
        listed = " — " + "；".join(self.items) if self.items else ""
        super().__init__(self.summary + listed)


class Conflict(CampaignError):
    """Someone else changed the deliverable since the caller read it."""

    exit_code = 5

    def __init__(self, deliverable_id: int, expected_version: int, actual_version: int) -> None:
        self.deliverable_id = deliverable_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"conflict: deliverable {deliverable_id} is at version {actual_version}, "
            f"expected {expected_version}; reload and try again"
        )


class NotFound(CampaignError):
    exit_code = 6

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"not found: {kind} {key!s}")


class InvalidInput(CampaignError):
    """Input the engine cannot accept: bad file, bad value, bad definition."""

    exit_code = 7


class IncompatibleDatabase(InvalidInput):
    """``--db`` names something this build must not write to: a file that is not
    SQLite, another program's tables, or a campaign schema of another version.

    Raised before anything is written, so the database is left as it was.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"cannot use database {where}: {problem}")


class DatabaseUnavailable(CampaignError):
    """The database cannot be reached or used now: the environment, not the input."""


class DatabaseBusy(DatabaseUnavailable):
    """Another connection held the write lock for longer than the busy timeout."""

    exit_code = 9

    def __init__(self, where: str, waited: float, *, deadlock: bool = False) -> None:
        self.where = where
        self.waited = waited
        self.deadlock = deadlock
        why = ("two writers waited for each other's locks and the server gave up this one"
               if deadlock else
               f"waited {waited:g} s; CAMPAIGN_BUSY_TIMEOUT sets the wait")
        super().__init__(
            f"database is busy (locked by another writer); try again: {where} ({why})"
        )


class Interrupted(CampaignError):
    """A run of many moves stopped by the user (Ctrl-C): the batches committed
    before it stay made, the rest were not attempted."""

    exit_code = 130

    def __init__(self, message: str = "interrupted: the moves listed as made are made; the "
                 "rest were not attempted") -> None:
        super().__init__(message)


class NotifierStopped(Interrupted):
    """``campaign notify`` stopped by Ctrl-C: what it sent is sent."""

    def __init__(self) -> None:
        super().__init__("stopped: every mail reported as sent was sent")


class DatabaseReadOnly(DatabaseUnavailable):
    """The database (or the directory SQLite keeps its -wal and -shm files in) cannot be written."""

    exit_code = 10

    def __init__(self, where: str, problem: str | None = None) -> None:
        self.where = where
        self.problem = problem
        super().__init__(
            f"database is read-only: {where}: {problem}" if problem
            else f"database is read-only: cannot write to {where}"
        )


@dataclass(frozen=True)
class Location:
    """Where in a definition file something is: file, 1-based line, dotted field path."""

    file: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
        if self.field:
            text += f": {self.field}"
        return text


class DefinitionError(InvalidInput):
    """A definition file that cannot be loaded; names the file, line and field."""

    def __init__(self, location: Location, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"invalid definition {location}: {problem}")


class RosterError(InvalidInput):
    """A roster file with bad rows; names the first three, and nothing of it is loaded."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        super().__init__(f"roster {file}: {'; '.join(problems[:3])}{more}; nothing was loaded")


class IntegrityFailure(CampaignError):
    """Something stored is not what was recorded: the audit log, an attachment, a revision."""

    exit_code = 8


class AuditVerificationFailed(IntegrityFailure):
    """The audit log does not verify; names the first bad event."""

    def __init__(self, seq: int | None, problem: str) -> None:
        self.seq = seq
        self.problem = problem
        where = f"event {seq}: " if seq is not None else ""
        super().__init__(f"audit verification failed: {where}{problem}")


class IntegrityError(IntegrityFailure):
    """A stored attachment is missing or does not match its sha256; it is not served."""

    def __init__(self, deliverable_id: int, name: str, problem: str) -> None:
        self.deliverable_id = deliverable_id
        self.name = name
        self.problem = problem
        super().__init__(
            f"integrity check failed: attachment {name!r} of deliverable {deliverable_id}: "
            f"{problem}; it is not served"
        )


class ContentIntegrityError(IntegrityFailure):
    """A stored revision is not the text its audit event recorded; it is not presented."""

    def __init__(self, deliverable_id: int, number: int, problem: str) -> None:
        self.deliverable_id = deliverable_id
        self.number = number
        self.problem = problem
        super().__init__(
            f"integrity check failed: deliverable {deliverable_id} revision {number}: "
            f"{problem}; it is not presented"
        )


@dataclass(frozen=True)
class ExitCode:
    """One row of the exit-code table that ``campaign --help`` and the README show."""

    code: int
    meaning: str
    #: The one class that declares ``code``; its subclasses share it.  None for
    #: the codes no engine error carries: success and click's usage error.
    error: type[CampaignError] | None = None


def _declared_by(error: type[CampaignError], meaning: str) -> ExitCode:
    # The number comes from the class, so the table cannot drift from what is raised.
    return ExitCode(error.exit_code, meaning, error)


#: Every exit code of ``campaign``, in order: the one table of them.
EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(0, "ok"),
    _declared_by(CampaignError, "environment or internal error"),
    ExitCode(2, "usage (bad option or argument)"),  # click.UsageError's; no click import here
    _declared_by(PermissionDenied, "permission denied"),
    _declared_by(TransitionNotAllowed, "not allowed now"),
    _declared_by(Conflict, "conflict (changed by someone else)"),
    _declared_by(NotFound, "not found"),
    _declared_by(InvalidInput, "invalid input, definition or database"),
    _declared_by(IntegrityFailure, "audit verification failed, or stored content fails its hash"),
    _declared_by(DatabaseBusy, "database busy (locked by another writer)"),
    _declared_by(DatabaseReadOnly, "database read-only"),
    _declared_by(Interrupted, "interrupted (Ctrl-C during a bulk move or `notify`)"),
)
