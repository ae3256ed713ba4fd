"""Password hashing (Argon2id, through argon2-cffi) and the rules a new
password must meet.  The engine never stores or logs a password, only its hash."""

from __future__ import annotations

import secrets
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST

from workflow.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256  # Argon2 takes any length; a megabyte "password" is a denial of service


def check_new(user_id: str, password: str) -> None:
    """Refuse a password too short, too long, or the account's own name."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_LENGTH} characters")
    if user_id.casefold() in password.casefold():
        raise InvalidInput("a password may not contain the account's id")


class Passwords:
    """Hashes and checks passwords.  The default cost is argon2-cffi's (RFC 9106's
    second recommendation: 64 MiB, three passes); :meth:`cheapest` is for tests,
    where hundreds of sign-ins would otherwise cost minutes.  A stored hash
    names its own parameters, so either checks the other's hashes."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    @classmethod
    def cheapest(cls) -> Passwords:
        return cls(PasswordHasher.from_parameters(CHEAPEST))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def matches(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` is the one ``stored`` hashes.  With no stored hash
        (no such account, or no password yet) a decoy is checked instead, so an
        unknown account takes as long to refuse as a wrong password."""
        try:
            verified = self._hasher.verify(stored or self._decoy, password[:MAX_LENGTH])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return verified and stored is not None

    @cached_property
    def _decoy(self) -> str:
        return self.hash(secrets.token_urlsafe(16))
