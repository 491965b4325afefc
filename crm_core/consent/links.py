"""Preference links: a customer changes their consents without signing in.

A :class:`~crm_core.kernel.links.LinkSigner` token for the purpose ``preferences`` that
names the customer: a survey link (another purpose) cannot open it. Tampered tokens raise
:class:`~crm_core.kernel.links.BadLinkError`, tokens older than ``max_age_s``
:class:`~crm_core.kernel.links.LinkExpiredError`.

>>> links = PreferenceLinks(LinkSigner("k" * 32), max_age_s=3600)
>>> links.customer(links.token(42))
42
>>> links.url("https://care.example/", 42).startswith("https://care.example/preferences/")
True
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.kernel.links import LinkSigner

PURPOSE = "preferences"


@dataclass(frozen=True, slots=True)
class PreferenceLinks:
    signer: LinkSigner
    max_age_s: int

    def token(self, customer_id: int) -> str:
        return self.signer.sign(PURPOSE, customer_id)

    def customer(self, token: str) -> int:
        """The customer the token names; BadLinkError (or LinkExpiredError) when refused."""
        return self.signer.load(PURPOSE, token, max_age_s=self.max_age_s)

    def url(self, public_url: str, customer_id: int) -> str:
        return f"{public_url.rstrip('/')}/preferences/{self.token(customer_id)}"
