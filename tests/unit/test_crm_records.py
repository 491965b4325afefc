"""The CRM record rules without a database: fields, cover, the import's file checks."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from careline.crm_import.reading import Columns, FileTooLarge, ImportFileError, read_table
from careline.crm_import.report import Rejection, report_csv
from crm_core.customers.entitlement import ContractTerm, entitlement
from crm_core.customers.records import ContractFields, CustomerFields, SiteFields, field_errors
from devices.catalog import Catalog
from devices.records import DeviceFields
from simulators.fleet import MODELS


def test_every_simulated_model_is_in_the_catalog(catalog: Catalog) -> None:
    for device_type, models in MODELS.items():
        assert {m.name for m in models} <= set(catalog.device_type(device_type).models)


def test_the_preferred_channel_defaults_to_what_the_customer_can_be_reached_by() -> None:
    assert CustomerFields(kind="person", name="A", email="a@example.org").preferred_channel == (
        "email"
    )
    assert CustomerFields(kind="person", name="A", phone="+4930555712").preferred_channel == (
        "phone"
    )
    walk_in = CustomerFields(kind="business", name="Stall 4", preferred_channel="")
    assert (walk_in.email, walk_in.phone, walk_in.preferred_channel) == (None, None, "email")
    with pytest.raises(ValidationError) as refused:
        CustomerFields(kind="person", name="A", email="a@example.org", preferred_channel="sms")
    assert "needs a phone" in field_errors(refused.value)["record"]


def test_blank_cells_are_none_and_dates_and_positions_are_checked() -> None:
    site = SiteFields(customer_id=1, label=" Home ", address="x", latitude="", longitude=" ")
    assert (site.label, site.latitude) == ("Home", None)
    with pytest.raises(ValidationError):
        SiteFields(customer_id=1, label="Home", address="x", latitude=91, longitude=0)
    with pytest.raises(ValidationError):
        ContractFields(
            reference="SC 1",  # no spaces in a reference
            customer_id=1,
            tier="basic",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 2, 1),
        )
    with pytest.raises(ValidationError) as siteless:
        DeviceFields(serial="FR-1", device_type="refrigerator", model="m", site_id=3)
    assert "belongs to that site's customer" in str(siteless.value)


def test_the_best_covering_contract_is_named_once_the_warranty_has_ended() -> None:
    today = date(2026, 12, 6)
    terms = [
        ContractTerm("B-1", "basic", None, date(2026, 1, 1), date(2027, 1, 1)),
        ContractTerm("P-1", "premium", 9, date(2026, 1, 1), date(2026, 12, 31)),
        ContractTerm("P-OLD", "premium", None, date(2024, 1, 1), date(2025, 1, 1)),
    ]
    assert entitlement(date(2026, 1, 1), terms, today, device_id=9).contract_reference == "P-1"
    other = entitlement(date(2026, 1, 1), terms, today, device_id=8)
    assert (other.state, other.contract_reference) == ("contract", "B-1")
    assert entitlement(date(2026, 12, 6), terms, today, device_id=8).state == "warranty"
    assert entitlement(date(2026, 1, 1), terms[2:], today, device_id=8).billable


COLUMNS = Columns(("kind", "name"), ("email",))


def test_cells_are_read_as_text_and_trimmed() -> None:
    table = read_table(
        b"Kind , NAME,email\nperson , 007 NA ,\n", COLUMNS, max_bytes=1000, max_rows=10
    )
    assert table.to_dict(orient="records") == [{"kind": "person", "name": "007 NA", "email": ""}]


def test_a_file_is_refused_whole_with_the_reason() -> None:
    with pytest.raises(FileTooLarge):
        read_table(b"kind,name\n" + b"p,x\n" * 100, COLUMNS, max_bytes=100, max_rows=10)
    with pytest.raises(ImportFileError, match="columns named twice: name"):
        read_table(b"kind,name,name\np,a,b\n", COLUMNS, max_bytes=100, max_rows=10)
    with pytest.raises(ImportFileError, match="not UTF-8 \\(byte 0xe9"):
        read_table("kind,name\np,é\n".encode("cp1252"), COLUMNS, max_bytes=100, max_rows=10)


def test_the_report_neutralises_every_formula_start() -> None:
    rows = [Rejection(row=2, column="name", reason=s, key=s) for s in ("=1", "+1", "-1", "@x")]
    lines = report_csv(rows).splitlines()[1:]
    assert all(",'" in line for line in lines)
    assert lines[0] == "2,name,'=1,'=1"
