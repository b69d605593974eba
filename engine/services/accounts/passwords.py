"""Password hashing with argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from engine.errors import ValidationFailed

_hasher = PasswordHasher()  # argon2id

MIN_LENGTH = 10
# A real (but unusable) hash so that "unknown user" costs the same as "wrong password".
_DUMMY_HASH = _hasher.hash("portico-dummy-password-for-timing")


def check_strength(password: str, *, field_name: str = "password") -> None:
    """Raises ValidationFailed when the password is too weak to accept."""
    problems = []
    if len(password or "") < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password or "") > 256:
        problems.append("must be at most 256 characters")
    if problems:
        raise ValidationFailed("password too weak", details={field_name: problems})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, str | None]:
    """(matches, new_hash). new_hash is set when the stored parameters are outdated."""
    if not stored_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password + "x")
        except VerificationError:
            pass
        return False, None
    try:
        _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if _hasher.check_needs_rehash(stored_hash):
        return True, _hasher.hash(password)
    return True, None
