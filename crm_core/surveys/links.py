"""Survey links: the customer answers without signing in.

A :class:`~crm_core.kernel.links.LinkSigner` token for the purpose ``survey`` that names
the survey; a preference link (another purpose) cannot open it.

>>> from crm_core.kernel.links import LinkSigner
>>> links = SurveyLinks(LinkSigner("k" * 32))
>>> links.survey(links.token(7))
7
>>> links.url("https://care.example/", 7).startswith("https://care.example/survey/")
True
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.kernel.links import LinkSigner

PURPOSE = "survey"
LINK_DAYS = 30


@dataclass(frozen=True, slots=True)
class SurveyLinks:
    signer: LinkSigner
    max_age_s: int = LINK_DAYS * 86_400

    def token(self, survey_id: int) -> str:
        return self.signer.sign(PURPOSE, survey_id)

    def survey(self, token: str) -> int:
        """The survey the token names; BadLinkError (or LinkExpiredError) when refused."""
        return self.signer.load(PURPOSE, token, max_age_s=self.max_age_s)

    def path(self, survey_id: int) -> str:
        return f"/survey/{self.token(survey_id)}"

    def url(self, public_url: str, survey_id: int) -> str:
        return public_url.rstrip("/") + self.path(survey_id)
