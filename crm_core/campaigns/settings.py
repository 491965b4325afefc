"""The offers settings group: contact-pressure caps, the holdout, the learner."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.campaigns.model import Limits
from crm_core.kernel.settings import Group


class OfferSettings(Group):
    per_customer_per_day: Annotated[
        int,
        Field(ge=0, le=100, description="Marketing messages (any channel) per customer per 24 h."),
    ] = 2
    quiet_start_hour: Annotated[
        int, Field(ge=0, le=23, description="Store-local hour quiet hours begin.")
    ] = 21
    quiet_end_hour: Annotated[
        int, Field(ge=0, le=23, description="Store-local hour quiet hours end.")
    ] = 8
    bad_survey_days: Annotated[
        int, Field(ge=0, le=365, description="Days a bad survey suppresses promotions.")
    ] = 14
    holdout_percent: Annotated[
        float,
        Field(ge=0, le=100, description="Share of zone entries that get no offer (for uplift)."),
    ] = 10.0
    explore_percent: Annotated[
        float,
        Field(ge=0, le=100, description="Share of offers chosen at random (for replay)."),
    ] = 10.0

    def limits(self) -> Limits:
        return Limits(
            per_customer_per_day=self.per_customer_per_day,
            quiet_start_hour=self.quiet_start_hour,
            quiet_end_hour=self.quiet_end_hour,
            bad_survey_days=self.bad_survey_days,
        )
