"""Customer, site and contract use cases: create, edit, archive, delete, and upsert by
natural key (what the CSV import does). One transaction each, every change audited.

Rules that need the database live here: a contract's device belongs to its customer, a
site with devices on it is not deleted, a natural key names one record.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

from crm_core.customers.records import (
    ContractFields,
    ContractPatch,
    CustomerFields,
    CustomerPatch,
    RecordError,
    SiteFields,
    SitePatch,
)
from crm_core.customers.store import Conn, Table, Written, delete, write
from crm_core.kernel import audit
from crm_core.kernel.errors import NotFound

CUSTOMERS = Table(
    "customers",
    "customer",
    ("kind", "name", "email", "phone", "preferred_channel", "external_ref"),
)
SITES = Table("sites", "site", ("customer_id", "label", "address", "latitude", "longitude"))
CONTRACTS = Table(
    "service_contracts",
    "contract",
    ("reference", "customer_id", "device_id", "tier", "starts_on", "ends_on"),
)


def save_customer(
    conn: Conn, customer_id: int | None, fields: CustomerFields, *, actor: str, now: datetime
) -> Written:
    """Create (``customer_id`` None) or replace a customer's fields."""
    with conn.transaction():
        return write(conn, CUSTOMERS, customer_id, fields.model_dump(), actor=actor, now=now)


def update_customer(
    conn: Conn, customer_id: int, patch: CustomerPatch, *, actor: str, now: datetime
) -> Written:
    """Change the fields sent; the result must still be a valid customer."""
    with conn.transaction():
        current = CUSTOMERS.get(conn, customer_id, for_update=True)
        fields = CustomerFields.model_validate({**current, **patch.model_dump(exclude_unset=True)})
        return write(conn, CUSTOMERS, customer_id, fields.model_dump(), actor=actor, now=now)


def upsert_customer(conn: Conn, fields: CustomerFields, *, actor: str, now: datetime) -> Written:
    """Create or update the customer named by ``external_ref``, else by e-mail address."""
    with conn.transaction():
        found = None
        if fields.external_ref is not None:
            found = CUSTOMERS.find(conn, sql.SQL("external_ref = %s"), (fields.external_ref,))
        if found is None and fields.email is not None:
            found = CUSTOMERS.find(conn, sql.SQL("lower(email) = lower(%s)"), (fields.email,))
        return write(conn, CUSTOMERS, found, fields.model_dump(), actor=actor, now=now)


def set_archived(
    conn: Conn, customer_id: int, archived: bool, *, actor: str, now: datetime
) -> None:
    """Archive a customer (their records and history stay), or bring them back."""
    with conn.transaction():
        row = conn.execute(
            "SELECT archived_at FROM customers WHERE id = %s FOR UPDATE", (customer_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"customer {customer_id} does not exist")
        if (row[0] is not None) == archived:
            return
        conn.execute(
            "UPDATE customers SET archived_at = %s WHERE id = %s",
            (now if archived else None, customer_id),
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            entity="customer",
            entity_id=customer_id,
            action="archived" if archived else "restored",
            detail={},
        )


def save_site(
    conn: Conn, site_id: int | None, fields: SiteFields, *, actor: str, now: datetime
) -> Written:
    with conn.transaction():
        if site_id is not None:
            current = SITES.get(conn, site_id, for_update=True)
            if current["customer_id"] != fields.customer_id:
                raise RecordError({"customer_id": "a site does not move to another customer"})
        return write(conn, SITES, site_id, fields.model_dump(), actor=actor, now=now)


def update_site(
    conn: Conn, site_id: int, patch: SitePatch, *, actor: str, now: datetime
) -> Written:
    with conn.transaction():
        current = SITES.get(conn, site_id, for_update=True)
        fields = SiteFields.model_validate({**current, **patch.model_dump(exclude_unset=True)})
        return write(conn, SITES, site_id, fields.model_dump(), actor=actor, now=now)


def upsert_site(conn: Conn, fields: SiteFields, *, actor: str, now: datetime) -> Written:
    """Create or update the customer's site with this label (case-insensitive)."""
    with conn.transaction():
        found = SITES.find(
            conn,
            sql.SQL("customer_id = %s AND lower(label) = lower(%s)"),
            (fields.customer_id, fields.label),
        )
        return write(conn, SITES, found, fields.model_dump(), actor=actor, now=now)


def delete_site(conn: Conn, site_id: int, *, actor: str, now: datetime) -> None:
    """Delete a site no device is installed at."""
    with conn.transaction():
        row = conn.execute("SELECT count(*) FROM devices WHERE site_id = %s", (site_id,)).fetchone()
        if row is not None and row[0]:
            raise RecordError({"site": f"{row[0]} device(s) are installed here; move them first"})
        delete(conn, SITES, site_id, actor=actor, now=now)


def _check_contract(conn: Conn, fields: ContractFields) -> None:
    if fields.device_id is None:
        return
    row = conn.execute(
        "SELECT customer_id FROM devices WHERE id = %s", (fields.device_id,)
    ).fetchone()
    if row is None:
        raise RecordError({"device_id": f"device {fields.device_id} does not exist"})
    if row[0] != fields.customer_id:
        raise RecordError({"device_id": "the device does not belong to this customer"})


def save_contract(
    conn: Conn, contract_id: int | None, fields: ContractFields, *, actor: str, now: datetime
) -> Written:
    with conn.transaction():
        if contract_id is not None:
            current = CONTRACTS.get(conn, contract_id, for_update=True)
            if current["customer_id"] != fields.customer_id:
                raise RecordError({"customer_id": "a contract does not move to another customer"})
        _check_contract(conn, fields)
        return write(conn, CONTRACTS, contract_id, fields.model_dump(), actor=actor, now=now)


def update_contract(
    conn: Conn, contract_id: int, patch: ContractPatch, *, actor: str, now: datetime
) -> Written:
    with conn.transaction():
        current = CONTRACTS.get(conn, contract_id, for_update=True)
        fields = ContractFields.model_validate({**current, **patch.model_dump(exclude_unset=True)})
        _check_contract(conn, fields)
        return write(conn, CONTRACTS, contract_id, fields.model_dump(), actor=actor, now=now)


def upsert_contract(conn: Conn, fields: ContractFields, *, actor: str, now: datetime) -> Written:
    """Create or update the contract with this reference."""
    with conn.transaction():
        found = CONTRACTS.find(conn, sql.SQL("reference = %s"), (fields.reference,))
        if found is not None:
            current = CONTRACTS.get(conn, found)
            if current["customer_id"] != fields.customer_id:
                raise RecordError({"reference": "this reference is another customer's contract"})
        _check_contract(conn, fields)
        return write(conn, CONTRACTS, found, fields.model_dump(), actor=actor, now=now)


def delete_contract(conn: Conn, contract_id: int, *, actor: str, now: datetime) -> None:
    """Delete a contract entered by mistake (one that ended keeps its ``ends_on``)."""
    delete(conn, CONTRACTS, contract_id, actor=actor, now=now)
