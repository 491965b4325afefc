"""The service team's settings: the business calendar SLA clocks run on, the warning share,
how assignment weighs load against distance, who staff notices go to (SLA escalations),
and when unacknowledged faults are reminded of and escalated."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from crm_core.kernel.settings import Group
from crm_core.tickets.business_hours import BusinessCalendar
from crm_core.tickets.policies import load_service_levels
from crm_core.tickets.queries import SlaContext


class ServiceSettings(Group):
    timezone: Annotated[
        str, Field(description="The service team's time zone (IANA name): business hours.")
    ] = "Europe/Berlin"
    workday_start: Annotated[time, Field(description="Start of the working day (HH:MM).")] = time(
        8, 0
    )
    workday_end: Annotated[time, Field(description="End of the working day (HH:MM).")] = time(17, 0)
    holidays_country: Annotated[
        str | None,
        Field(description="ISO country code whose public holidays stop SLA clocks; empty: none."),
    ] = "DE"
    holidays_subdivision: Annotated[
        str | None, Field(description="Subdivision (state) code for the holidays, e.g. BE.")
    ] = "BE"
    sla_warning_share: Annotated[
        float,
        Field(gt=0, lt=1, description="Share of an SLA target at which a warning is raised."),
    ] = 0.75
    km_per_live_ticket: Annotated[
        float,
        Field(ge=0, description="Assignment: km of extra distance one live ticket weighs."),
    ] = 25.0

    lead_email: Annotated[
        str,
        Field(
            min_length=3,
            description="The service lead's address: escalations without an address of their own.",
        ),
    ] = "service-lead@careline.example"
    escalation_emails: Annotated[
        tuple[tuple[str, str], ...],
        Field(
            description="Address per escalation target of service_levels.toml (a JSON object, "
            'e.g. {"field service L2": "l2@example.com"}); a target not named: the lead.'
        ),
    ] = (("field service L2", "field-service-l2@careline.example"),)
    desk_email: Annotated[
        str,
        Field(min_length=3, description="The service desk: fault acknowledgement reminders."),
    ] = "service-desk@careline.example"
    reminder_first_after_min: Annotated[
        float,
        Field(
            gt=0, description="Minutes an open fault waits for acknowledgement before reminder 1."
        ),
    ] = 30.0
    reminder_growth: Annotated[
        float,
        Field(ge=1, le=10, description="Each interval between reminders is this times the last."),
    ] = 2.0
    reminder_max_interval_min: Annotated[
        float, Field(gt=0, description="Longest interval between two reminders, in minutes.")
    ] = 480.0
    reminder_escalate_after: Annotated[
        int,
        Field(ge=0, le=100, description="Reminders to the desk before they go to the lead."),
    ] = 3

    def escalation_email(self, target: str) -> str:
        """The address for an escalation target (the lead when it has none of its own)."""
        return dict(self.escalation_emails).get(target) or self.lead_email

    @field_validator("escalation_emails", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        # kept as pairs, not a dict, so that the frozen settings stay hashable
        return tuple(value.items()) if isinstance(value, dict) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("holidays_country", "holidays_subdivision")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    def calendar(self) -> BusinessCalendar:
        """The business calendar (ValueError for an unknown country or subdivision)."""
        try:
            return BusinessCalendar(
                self.timezone,
                self.workday_start,
                self.workday_end,
                self.holidays_country,
                self.holidays_subdivision,
            )
        except NotImplementedError as exc:  # holidays' answer for an unknown country
            raise ValueError(str(exc)) from exc


@lru_cache(maxsize=8)
def sla_context(settings: ServiceSettings) -> SlaContext:
    """The policies, the calendar and the warning share these settings give (built once)."""
    return SlaContext(load_service_levels(), settings.calendar(), settings.sla_warning_share)
