"""CSV import against the real database: good files, rejected rows and their report,
idempotent re-import, and hostile files."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.crm_import.settings import ImportSettings
from tests.api.server import serve

Pool = ConnectionPool[psycopg.Connection[TupleRow]]

CUSTOMERS = """kind,name,email,phone,preferred_channel,external_ref
person,Ann Lee,ann@example.org,+44 20 7946 0958,sms,ERP-1
business,Bob's Bistro,bob@example.org,,,ERP-2
person,Cy,not-an-email,+1 555,,
person,,nobody@example.org,,,
"""


def upload(
    client: httpx.Client, headers: dict[str, str], kind: str, body: bytes, name: str = "f.csv"
) -> httpx.Response:
    return client.post(
        f"/api/v1/imports/{kind}", files={"file": (name, body, "text/csv")}, headers=headers
    )


def count(db: Pool, table: str) -> int:
    with db.connection() as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_good_rows_go_in_and_bad_ones_are_reported_with_row_column_and_reason(
    client: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    answer = upload(client, admin, "customers", CUSTOMERS.encode())
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert (run["total"], run["created"], run["rejected"]) == (4, 2, 2)
    problems = {(r["row"], r["column"]) for r in run["rejections"]}
    assert problems == {(4, "email"), (4, "phone"), (5, "name")}
    report = client.get(f"/api/v1/imports/{run['id']}/rejected.csv", headers=admin)
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert [r["row"] for r in rows] == ["4", "4", "5"]
    assert "not a valid phone number" in rows[1]["reason"]
    assert count(db, "customers") == 2
    with db.connection() as conn:
        actors = conn.execute("SELECT DISTINCT actor FROM audit_log").fetchall()
    assert actors == [("test admin",)]


def test_importing_the_same_file_twice_changes_nothing_and_an_edit_updates(
    client: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    first = upload(client, admin, "customers", CUSTOMERS.encode()).json()
    again = upload(client, admin, "customers", CUSTOMERS.encode()).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    edited = CUSTOMERS.replace("Bob's Bistro", "Bob's Brasserie")
    third = upload(client, admin, "customers", edited.encode()).json()
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 1)
    assert count(db, "customers") == 2
    listing = client.get("/api/v1/imports", headers=admin).json()["items"]
    assert [i["id"] for i in listing][-1] == first["id"]


def test_sites_devices_and_contracts_import_by_natural_keys(
    client: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    upload(client, admin, "customers", CUSTOMERS.encode())
    sites = "customer_ref,customer_email,label,address,latitude,longitude\n"
    sites += "ERP-1,,Home,1 High St,51.5,-0.12\n,bob@example.org,Kitchen,2 Low St,,\n"
    sites += "ERP-9,,Shed,3 Any St,,\n"
    run = upload(client, admin, "sites", sites.encode()).json()
    assert (run["created"], run["rejected"]) == (2, 1)
    assert run["rejections"][0]["column"] == "customer_ref"
    devices = "serial,device_type,model,customer_ref,site_label,installed_on,warranty_end\n"
    devices += "FR-700001,refrigerator,CoolFrost CF-300,ERP-1,Home,2025-02-01,2027-02-01\n"
    devices += "WM-700001,washing_machine,AquaSpin AS-714,ERP-1,Kitchen,2024-01-01,2026-01-01\n"
    devices += "FR-700002,toaster,T-1,,,,\n"
    devices += "FR-700001,refrigerator,CoolFrost CF-300,,,,\n"
    run = upload(client, admin, "devices", devices.encode()).json()
    assert run["created"] == 1
    reasons = {(r["row"], r["column"]): r["reason"] for r in run["rejections"]}
    assert "no site 'Kitchen'" in reasons[(3, "site_label")]
    assert "unknown device type" in reasons[(4, "device_type")]
    assert reasons[(5, "")] == "same key as row 2"
    contracts = "reference,customer_ref,device_serial,tier,starts_on,ends_on\n"
    contracts += "SC-1,ERP-1,FR-700001,premium,2026-01-01,2026-12-31\n"
    contracts += "SC-2,ERP-2,FR-700001,basic,2026-01-01,2026-12-31\n"
    contracts += "SC-3,ERP-2,,gold,2026-01-01,2025-12-31\n"
    run = upload(client, admin, "contracts", contracts.encode()).json()
    assert run["created"] == 1
    reasons = {(r["row"], r["column"]): r["reason"] for r in run["rejections"]}
    assert reasons[(3, "device_serial")] == "the device does not belong to this customer"
    assert (4, "tier") in reasons


def test_report_cells_that_a_spreadsheet_would_run_are_neutralised(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    hostile = "kind,name,email,external_ref\n"
    hostile += 'person,=HYPERLINK("http://evil.example"),=1+2@x,\n'
    hostile += "-2+3,@SUM(A1),+cmd,\n"
    run = upload(client, admin, "customers", hostile.encode()).json()
    assert run["rejected"] == 2
    report = client.get(f"/api/v1/imports/{run['id']}/rejected.csv", headers=admin).text
    for row in csv.DictReader(io.StringIO(report)):
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), row


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kind,name\nperson,Zoë Ærø\n".encode("latin-1"), "not UTF-8"),
        (b"kind,name\nperson,A\x00B\n", "NUL bytes"),
        (b"name,email\nAnn,ann@example.org\n", "missing column(s): kind"),
        (b"kind,name,emial\nperson,Ann,a@example.org\n", "unknown column(s): emial"),
        (b"", "empty"),
        (b'kind,name\nperson,"unterminated\n', "not readable as CSV"),
    ],
)
def test_hostile_files_are_refused_whole_with_a_reason(
    client: httpx.Client, admin: dict[str, str], db: Pool, body: bytes, message: str
) -> None:
    answer = upload(client, admin, "customers", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_file"
    assert message in answer.json()["detail"]
    assert count(db, "crm_imports") == 0


def test_a_utf8_file_with_a_byte_order_mark_is_read(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    body = "\ufeffkind,name,email\nperson,Zoë Ærø,zoe@example.org\n".encode()
    assert upload(client, admin, "customers", body).json()["created"] == 1


@pytest.fixture
def small_limits(context: AppContext) -> Iterator[httpx.Client]:
    settings = context.settings.model_copy(
        update={"imports": ImportSettings(max_bytes=4096, max_rows=3)}
    )
    small = AppContext(
        settings=settings,
        pool=context.pool,
        catalog=context.catalog,
        capabilities=context.capabilities,
        clock=context.clock,
    )
    with serve(create_app(small)) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def test_files_past_the_size_or_row_limit_are_refused(
    small_limits: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    rows = "".join(f"person,P{i},p{i}@example.org\n" for i in range(4))
    too_many = upload(small_limits, admin, "customers", ("kind,name,email\n" + rows).encode())
    assert too_many.status_code == 400
    assert "more than 3 rows" in too_many.json()["detail"]
    near = b"kind,name\n" + b"person,x\n" * 600  # 5 KiB: under the request limit, over the file's
    assert upload(small_limits, admin, "customers", near).status_code == 413
    huge = b"kind,name\n" + b"person,x\n" * 2_000_000  # 18 MB: refused before it is read
    answer = upload(small_limits, admin, "customers", huge)
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"
    assert count(db, "customers") == 0


def test_only_admins_import(client: httpx.Client, agent: dict[str, str]) -> None:
    assert upload(client, agent, "customers", CUSTOMERS.encode()).status_code == 403
    assert upload(client, agent, "toasters", CUSTOMERS.encode()).status_code in (403, 422)


def test_a_template_names_the_columns(client: httpx.Client, viewer: dict[str, str]) -> None:
    answer = client.get("/api/v1/imports/templates/devices.csv", headers=viewer)
    assert answer.text.startswith("serial,device_type,model,")
