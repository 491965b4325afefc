"""Signed links: a customer follows one from a mail without signing in.

A link carries what it is for (its *purpose*, e.g. ``survey``) and one id, signed with
the installation's secret (itsdangerous, HMAC-SHA1 over the payload and a timestamp) and
valid for ``max_age_s``. A token made for one purpose is refused for another, so a
survey link cannot open a preference page.

>>> signer = LinkSigner("s" * 32)
>>> token = signer.sign("survey", 42)
>>> signer.load("survey", token, max_age_s=60)
42
>>> signer.load("preferences", token, max_age_s=60)
Traceback (most recent call last):
...
crm_core.kernel.links.BadLinkError: this link is not valid (it was changed or is not ours)
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class BadLinkError(Exception):
    """The link was tampered with, is for something else, or has expired."""


class LinkExpiredError(BadLinkError):
    """The link is ours and unchanged, but older than its maximum age."""


class LinkSigner:
    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("a link secret needs at least 32 characters")
        self._secret = secret

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"careline-link:{purpose}")

    def sign(self, purpose: str, value: int) -> str:
        return str(self._serializer(purpose).dumps(value))

    def load(self, purpose: str, token: str, *, max_age_s: int) -> int:
        """The id in ``token``; :class:`BadLinkError` saying why it is refused."""
        try:
            value = self._serializer(purpose).loads(token, max_age=max_age_s)
        except SignatureExpired as exc:
            raise LinkExpiredError("this link has expired; ask us for a new one") from exc
        except BadSignature as exc:
            raise BadLinkError("this link is not valid (it was changed or is not ours)") from exc
        if type(value) is not int:
            raise BadLinkError("this link is not valid (it was changed or is not ours)")
        return value
