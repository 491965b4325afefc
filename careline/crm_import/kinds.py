"""What each kind of record looks like as a CSV row, and how a row is stored.

Every kind has a natural key, so that importing the same file twice changes nothing:
a customer's ``external_ref`` (else their e-mail address), a site's customer and label, a
device's serial, a contract's reference. Rows name their customer by ``customer_ref`` or
``customer_email``, a device's site by its label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from careline.crm_import.reading import Columns
from crm_core.customers.records import ContractFields, CustomerFields, RecordError, SiteFields
from crm_core.customers.service import upsert_contract, upsert_customer, upsert_site
from crm_core.customers.store import Conn, Written
from devices.catalog import Catalog
from devices.records import DeviceFields, device_id_of, upsert_device

Kind = Literal["customers", "sites", "devices", "contracts"]
KINDS: tuple[Kind, ...] = ("customers", "sites", "devices", "contracts")
Row = dict[str, str]
OWNER = ("customer_ref", "customer_email")


@dataclass(frozen=True, slots=True)
class RowContext:
    conn: Conn
    catalog: Catalog
    actor: str
    now: datetime


def _given(row: Row, *names: str) -> dict[str, str]:
    """The named cells that are not empty."""
    return {n: row[n] for n in names if row.get(n, "")}


def _customer_id(ctx: RowContext, row: Row, *, required: bool = True) -> int | None:
    ref, email = row.get("customer_ref", ""), row.get("customer_email", "")
    if ref:
        found = ctx.conn.execute(
            "SELECT id FROM customers WHERE external_ref = %s", (ref,)
        ).fetchone()
        if found is None:
            raise RecordError({"customer_ref": f"no customer with reference {ref!r}"})
        return int(found[0])
    if email:
        found = ctx.conn.execute(
            "SELECT id FROM customers WHERE lower(email) = lower(%s)", (email,)
        ).fetchone()
        if found is None:
            raise RecordError({"customer_email": f"no customer with e-mail {email!r}"})
        return int(found[0])
    if required:
        raise RecordError({"customer_ref": "name the customer: customer_ref or customer_email"})
    return None


def _customers(ctx: RowContext, row: Row) -> Written:
    fields = CustomerFields.model_validate(
        _given(row, "kind", "name", "email", "phone", "preferred_channel", "external_ref")
    )
    if fields.external_ref is None and fields.email is None:
        raise RecordError(
            {"email": "give email or external_ref: the import finds customers by them"}
        )
    return upsert_customer(ctx.conn, fields, actor=ctx.actor, now=ctx.now)


def _sites(ctx: RowContext, row: Row) -> Written:
    customer_id = _customer_id(ctx, row)
    values = {
        "customer_id": customer_id,
        **_given(row, "label", "address", "latitude", "longitude"),
    }
    fields = SiteFields.model_validate(values)
    return upsert_site(ctx.conn, fields, actor=ctx.actor, now=ctx.now)


def _devices(ctx: RowContext, row: Row) -> Written:
    customer_id = _customer_id(ctx, row, required=False)
    values: dict[str, object] = {
        "customer_id": customer_id,
        **_given(
            row,
            "serial",
            "device_type",
            "model",
            "firmware",
            "production_batch",
            "installed_on",
            "warranty_end",
        ),
    }
    label = row.get("site_label", "")
    if label:
        if customer_id is None:
            raise RecordError({"site_label": "a site needs the customer it belongs to"})
        site = ctx.conn.execute(
            "SELECT id FROM sites WHERE customer_id = %s AND lower(label) = lower(%s)",
            (customer_id, label),
        ).fetchone()
        if site is None:
            raise RecordError({"site_label": f"the customer has no site {label!r}"})
        values["site_id"] = int(site[0])
    fields = DeviceFields.model_validate(values)
    return upsert_device(ctx.conn, fields, ctx.catalog, actor=ctx.actor, now=ctx.now)


def _contracts(ctx: RowContext, row: Row) -> Written:
    customer_id = _customer_id(ctx, row)
    values: dict[str, object] = {
        "customer_id": customer_id,
        **_given(row, "reference", "tier", "starts_on", "ends_on"),
    }
    serial = row.get("device_serial", "")
    if serial:
        device_id = device_id_of(ctx.conn, serial)
        if device_id is None:
            raise RecordError({"device_serial": f"no device with serial {serial!r}"})
        values["device_id"] = device_id
    fields = ContractFields.model_validate(values)
    return upsert_contract(ctx.conn, fields, actor=ctx.actor, now=ctx.now)


@dataclass(frozen=True, slots=True)
class KindSpec:
    columns: Columns
    key: Callable[[Row], str]
    """The row's natural key, as the report shows it and duplicates are found by."""
    store: Callable[[RowContext, Row], Written]
    field_columns: dict[str, str]
    """A record field -> the CSV column it came from, for the report."""


SPECS: dict[Kind, KindSpec] = {
    "customers": KindSpec(
        Columns(("kind", "name"), ("email", "phone", "preferred_channel", "external_ref")),
        lambda r: r.get("external_ref") or r.get("email", "").lower(),
        _customers,
        {},
    ),
    "sites": KindSpec(
        Columns(("label", "address"), (*OWNER, "latitude", "longitude")),
        lambda r: (
            f"{r.get('customer_ref') or r.get('customer_email', '').lower()}/"
            f"{r.get('label', '').lower()}"
        ),
        _sites,
        {"customer_id": "customer_ref"},
    ),
    "devices": KindSpec(
        Columns(
            ("serial", "device_type", "model"),
            (
                "firmware",
                "production_batch",
                *OWNER,
                "site_label",
                "installed_on",
                "warranty_end",
            ),
        ),
        lambda r: r.get("serial", ""),
        _devices,
        {"customer_id": "customer_ref", "site_id": "site_label"},
    ),
    "contracts": KindSpec(
        Columns(("reference", "tier", "starts_on", "ends_on"), (*OWNER, "device_serial")),
        lambda r: r.get("reference", ""),
        _contracts,
        {"customer_id": "customer_ref", "device_id": "device_serial"},
    ),
}
