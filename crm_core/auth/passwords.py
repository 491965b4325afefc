"""Password hashing with Argon2id (argon2-cffi) and strength checks with zxcvbn.

Strength is judged by zxcvbn (Dropbox's estimator of how many guesses a cracker needs:
dictionaries, common passwords, keyboard patterns, repeats, dates, l33t), not by length
alone: ``'changeme' * 4`` is 32 characters and still guessed at once.

>>> strength_problem("password123") is not None
True
>>> strength_problem("changeme" * 4) is not None
True
>>> strength_problem("correct horse battery") is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from crm_core.auth.errors import WeakPasswordError

MIN_LENGTH = 10
MAX_LENGTH = 256  # longer ones are refused before hashing (and zxcvbn is quadratic)
MIN_SCORE = 3  # zxcvbn's 0-4 scale; 3 = about 10^8 guesses or more
ZXCVBN_MAX = 100  # zxcvbn looks at this many characters; the rest only adds strength


@cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults follow RFC 9106's second recommended option (Argon2id, 64 MiB).
    return PasswordHasher()


def strength_problem(
    secret: str, *, min_length: int = MIN_LENGTH, user_inputs: Sequence[str] = ()
) -> str | None:
    """Why ``secret`` is too weak (a sentence that never quotes it), or None if it is fine."""
    if len(secret) < min_length:
        return f"needs at least {min_length} characters"
    if len(secret) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    result = zxcvbn(secret[:ZXCVBN_MAX], user_inputs=list(user_inputs))
    if int(result["score"]) < MIN_SCORE:
        warning = str(result["feedback"].get("warning") or "it is easy to guess")
        return f"is too easy to guess ({warning.rstrip('.')}); use a longer, less common one"
    return None


def check_strength(password: str, user_inputs: Sequence[str] = ()) -> None:
    """Refuse passwords that are short or easy to guess (WeakPasswordError)."""
    problem = strength_problem(password, user_inputs=user_inputs)
    if problem is not None:
        raise WeakPasswordError(f"the password {problem}")


def hash_password(password: str) -> str:
    """An encoded Argon2id hash (salt and parameters included)."""
    return _hasher().hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether ``password`` matches ``encoded``; a malformed hash never matches."""
    if len(password) > MAX_LENGTH:
        return False
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
