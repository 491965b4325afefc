"""The console's record forms described as data: which fields, how each is entered.

One template (``record_form.html``) draws every form from these descriptions, with the
value sent and the reason a field was refused next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

from crm_core.customers.queries import Site
from crm_core.customers.records import Channel, CustomerKind, Tier
from devices.catalog import Catalog
from devices.queries import DeviceSummary
from devices.records import SERIAL_PATTERN

Option = tuple[str, str]  # (value, label)


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # an <input> type, or "select"
    required: bool = False
    hint: str = ""
    options: tuple[Option, ...] = ()
    groups: tuple[tuple[str, tuple[Option, ...]], ...] = ()  # <optgroup>s of a select
    attrs: dict[str, str] = field(default_factory=dict)


def _choices(values: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple((v, v.replace("_", " ")) for v in values)


CUSTOMER_FIELDS = (
    FormField("kind", "Kind", "select", True, options=_choices(get_args(CustomerKind))),
    FormField("name", "Name", required=True, attrs={"maxlength": "200"}),
    FormField("email", "E-mail", "email", attrs={"maxlength": "254"}),
    FormField(
        "phone",
        "Phone",
        "tel",
        hint="International form, e.g. +33 4 72 10 20 31; stored as +33472102031.",
        attrs={"maxlength": "40"},
    ),
    FormField(
        "preferred_channel",
        "Preferred channel",
        "select",
        options=(("", "(e-mail if given, else phone)"), *_choices(get_args(Channel))),
    ),
    FormField(
        "external_ref",
        "External reference",
        hint="The customer's number in your ERP or shop system (imports find them by it).",
        attrs={"maxlength": "64"},
    ),
)

SITE_FIELDS = (
    FormField("label", "Label", required=True, hint="Home, Shop, Rathmines branch…"),
    FormField("address", "Address", required=True, attrs={"maxlength": "500"}),
    FormField("latitude", "Latitude", "number", attrs={"step": "any", "min": "-90", "max": "90"}),
    FormField(
        "longitude", "Longitude", "number", attrs={"step": "any", "min": "-180", "max": "180"}
    ),
)


def _site_field(sites: list[Site]) -> FormField:
    options = (("", "(no site)"), *((str(s.id), s.label) for s in sites))
    return FormField("site_id", "Site", "select", options=options)


def device_fields(catalog: Catalog, sites: list[Site], *, new: bool) -> tuple[FormField, ...]:
    types = tuple(sorted(catalog.device_types.values(), key=lambda t: t.label))
    groups = tuple((t.label, tuple((m, m) for m in t.models)) for t in types)
    head: tuple[FormField, ...] = ()
    if new:
        head = (
            FormField(
                "serial",
                "Serial",
                required=True,
                hint="As printed on the device: letters, digits, '.', '_' and '-'.",
                attrs={"pattern": SERIAL_PATTERN.strip("^$"), "maxlength": "64"},
            ),
            FormField(
                "device_type",
                "Type",
                "select",
                True,
                options=tuple((t.key, t.label) for t in types),
            ),
        )
    return (
        *head,
        FormField("model", "Model", "select", True, groups=groups),
        FormField("firmware", "Firmware", attrs={"maxlength": "64"}),
        FormField("production_batch", "Production batch", attrs={"maxlength": "64"}),
        _site_field(sites),
        FormField("installed_on", "Installed on", "date"),
        FormField("warranty_end", "Warranty until", "date"),
    )


def contract_fields(devices: list[DeviceSummary], *, new: bool) -> tuple[FormField, ...]:
    head = (
        (
            FormField(
                "reference",
                "Reference",
                required=True,
                hint="Your contract number, e.g. SC-2026-0042.",
                attrs={"maxlength": "64"},
            ),
        )
        if new
        else ()
    )
    device_options = (
        ("", "(all the customer's devices)"),
        *((str(d.id), d.serial) for d in devices),
    )
    return (
        *head,
        FormField("device_id", "Covers", "select", options=device_options),
        FormField("tier", "Tier", "select", True, options=_choices(get_args(Tier))),
        FormField("starts_on", "Starts on", "date", True),
        FormField("ends_on", "Ends on", "date", True),
    )
