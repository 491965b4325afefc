"""Password hashing with Argon2id (argon2-cffi), behind two small functions."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm_core.auth.errors import WeakPasswordError

MIN_LENGTH = 10
PLACEHOLDERS = frozenset({"changeme", "change-me", "password", "admin", "secret", "0123456789"})


@cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults follow RFC 9106's second recommended option (Argon2id, 64 MiB).
    return PasswordHasher()


def check_strength(password: str) -> None:
    """Refuse passwords that are short or well-known placeholders."""
    if len(password) < MIN_LENGTH or password.lower() in PLACEHOLDERS:
        raise WeakPasswordError(
            f"a password needs at least {MIN_LENGTH} characters and must not be a placeholder"
        )


def hash_password(password: str) -> str:
    """An encoded Argon2id hash (salt and parameters included)."""
    return _hasher().hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether ``password`` matches ``encoded``; a malformed hash never matches."""
    try:
        return _hasher().verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    try:
        return _hasher().check_needs_rehash(encoded)
    except InvalidHashError:
        return True
