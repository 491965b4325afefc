"""The exceptions of the auth package, drawn in one place.

The API layer maps :class:`NotAuthenticatedError` to 401 and :class:`PermissionDeniedError` to 403;
the others are refusals of bad input by the admin functions (the CLI prints them).
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of the errors the auth package raises."""


class NotAuthenticatedError(AuthError):
    """No valid credentials came with the request (none, unknown, revoked or malformed)."""


class PermissionDeniedError(AuthError):
    """The caller is known but its role does not allow this."""


class InvalidRoleError(AuthError, ValueError):
    """A role name we do not know; the message lists the known ones."""


class WeakPasswordError(AuthError, ValueError):
    """A password too short or a well-known placeholder."""


class UserExistsError(AuthError):
    """A staff user with this e-mail exists already."""
