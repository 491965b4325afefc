"""What a customer, a site or a service contract must be to be stored: the rules that the
API, the console's forms and the CSV import all apply.

Pure: pydantic models and validators, no I/O. Syntax is checked by well-kept libraries
(``email-validator`` for addresses, ``phonenumbers`` for numbers, which are stored in
E.164); rules that need the database (a site belongs to the customer named, an e-mail is
not another customer's) are the service's, which raises :class:`RecordError` naming the
field, so that every front end can show the message next to it.

>>> CustomerFields(kind="person", name=" Ann Lee ", phone="+33 4 72 10 20 31").phone
'+33472102031'
>>> CustomerFields(kind="person", name="Ann", email="ann@@x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for CustomerFields
email
  Value error, not an e-mail address: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

CustomerKind = Literal["person", "business"]
Channel = Literal["email", "phone", "sms", "push"]
Tier = Literal["basic", "standard", "premium"]


class RecordError(ValueError):
    """A record breaks a rule; ``fields`` maps each field at fault to the reason."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic's errors as field -> first reason, in words a person reads."""
    found: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "record"
        message = str(error["msg"]).removeprefix("Value error, ")
        found.setdefault(field, message)
    return found


def _blank_is_none(value: object) -> object:
    """An empty form field or CSV cell means "none"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not an e-mail address: {exc}") from None


def _phone(value: str) -> str:
    """E.164, from an international number written any usual way."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(
            "not a phone number; write it in international form, e.g. +33 4 72 10 20 31"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_phone)
]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"),
]
Optional = BeforeValidator(_blank_is_none)
RecordId = Annotated[int, Field(gt=0)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerFields(_Record):
    """A person or a business, and how they want to be reached."""

    kind: CustomerKind
    name: Text
    email: Annotated[Email | None, Optional] = None
    phone: Annotated[Phone | None, Optional] = None
    preferred_channel: Channel = Field(
        "email", description="Default: email when there is an address, else phone."
    )
    external_ref: Annotated[Reference | None, Optional] = Field(
        None, description="The customer's number in the system they come from."
    )

    @model_validator(mode="before")
    @classmethod
    def _default_channel(cls, data: object) -> object:
        if not isinstance(data, dict) or _blank_is_none(data.get("preferred_channel")):
            return data
        has_email = _blank_is_none(data.get("email")) is not None
        has_phone = _blank_is_none(data.get("phone")) is not None
        channel = "phone" if has_phone and not has_email else "email"
        return {**data, "preferred_channel": channel}

    @model_validator(mode="after")
    def _reachable(self) -> CustomerFields:
        needs = {"email": self.email, "phone": self.phone, "sms": self.phone}
        if self.email is None and self.phone is None:
            return self  # no contact details at all: nothing to prefer
        if self.preferred_channel in needs and needs[self.preferred_channel] is None:
            wanted = "an e-mail address" if self.preferred_channel == "email" else "a phone"
            raise ValueError(
                f"preferred channel {self.preferred_channel} needs {wanted}; give one or "
                "choose another channel"
            )
        return self


class CustomerPatch(_Record):
    """The fields to change; those not sent keep their value."""

    kind: CustomerKind | None = None
    name: Text | None = None
    email: Annotated[Email | None, Optional] = None
    phone: Annotated[Phone | None, Optional] = None
    preferred_channel: Channel | None = None
    external_ref: Annotated[Reference | None, Optional] = None


Latitude = Annotated[Annotated[float, Field(ge=-90, le=90)] | None, Optional]
Longitude = Annotated[Annotated[float, Field(ge=-180, le=180)] | None, Optional]


def _both_or_neither(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise ValueError("give both latitude and longitude, or neither")


class SiteFields(_Record):
    """Where a customer's devices are installed."""

    customer_id: RecordId
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    latitude: Latitude = None
    longitude: Longitude = None

    @model_validator(mode="after")
    def _position(self) -> SiteFields:
        _both_or_neither(self.latitude, self.longitude)
        return self


class SitePatch(_Record):
    label: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    address: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
        | None
    ) = None
    latitude: Latitude = None
    longitude: Longitude = None


class ContractFields(_Record):
    """A service contract: for all the customer's devices, or one."""

    reference: Reference
    customer_id: RecordId
    device_id: Annotated[RecordId | None, Optional] = None
    tier: Tier
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _dates(self) -> ContractFields:
        if self.ends_on < self.starts_on:
            raise ValueError(f"ends_on ({self.ends_on}) is before starts_on ({self.starts_on})")
        return self


class ContractPatch(_Record):
    device_id: Annotated[RecordId | None, Optional] = None
    tier: Tier | None = None
    starts_on: date | None = None
    ends_on: date | None = None
