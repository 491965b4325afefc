"""A small, realistic CRM dataset for the demo and the end-to-end tests.

People and businesses with install sites, each owning devices of the simulated fleet
(:func:`simulators.fleet.make_fleet`), so that the devices publishing telemetry are the
devices registered here. Deterministic for a seed; seeding twice adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg.rows import TupleRow

from crm_core.customers.records import CustomerFields
from simulators.fleet import SimDevice


def e164(phone: str) -> str | None:
    """The number as the CRM stores it (the console's and the API's rule)."""
    return CustomerFields(kind="person", name="-", phone=phone).phone


@dataclass(frozen=True, slots=True)
class SeedCustomer:
    kind: str
    name: str
    email: str
    phone: str
    site_label: str
    address: str
    latitude: float
    longitude: float


CUSTOMERS: tuple[SeedCustomer, ...] = (
    SeedCustomer(
        "person",
        "Amélie Laurent",
        "amelie.laurent@example.net",
        "+33 4 72 10 20 31",
        "Home",
        "14 rue Mercière, 69002 Lyon",
        45.7622,
        4.8330,
    ),
    SeedCustomer(
        "person",
        "Jonas Becker",
        "jonas.becker@example.net",
        "+49 30 5557 1234",
        "Home",
        "Kastanienallee 12, 10435 Berlin",
        52.5386,
        13.4100,
    ),
    SeedCustomer(
        "person",
        "Sofia Marino",
        "sofia.marino@example.net",
        "+39 02 5550 1987",
        "Flat",
        "Via Paolo Sarpi 8, 20154 Milano",
        45.4797,
        9.1778,
    ),
    SeedCustomer(
        "person",
        "Liam O'Connor",
        "liam.oconnor@example.net",
        "+353 1 555 0142",
        "Home",
        "21 Camden Street, Dublin 2",
        53.3347,
        -6.2652,
    ),
    SeedCustomer(
        "person",
        "Emma Janssen",
        "emma.janssen@example.net",
        "+31 20 555 0193",
        "Home",
        "Prinsengracht 263, 1016 GV Amsterdam",
        52.3752,
        4.8840,
    ),
    SeedCustomer(
        "person",
        "Lucas Moreau",
        "lucas.moreau@example.net",
        "+33 1 55 50 01 77",
        "Home",
        "5 rue Oberkampf, 75011 Paris",
        48.8647,
        2.3700,
    ),
    SeedCustomer(
        "person",
        "Nora Lindqvist",
        "nora.lindqvist@example.net",
        "+46 8 555 010 22",
        "Summer house",
        "Strandvägen 7, 114 56 Stockholm",
        59.3326,
        18.0860,
    ),
    SeedCustomer(
        "person",
        "Mateo García",
        "mateo.garcia@example.net",
        "+34 91 555 0168",
        "Home",
        "Calle de Fuencarral 45, 28004 Madrid",
        40.4237,
        -3.7010,
    ),
    SeedCustomer(
        "business",
        "Boulangerie du Vieux Lyon",
        "contact@boulangerie-vl.example",
        "+33 4 78 55 01 02",
        "Shop",
        "3 place du Change, 69005 Lyon",
        45.7648,
        4.8276,
    ),
    SeedCustomer(
        "business",
        "Café Kastanie GmbH",
        "service@cafe-kastanie.example",
        "+49 30 5550 9876",
        "Café",
        "Oderberger Str. 2, 10435 Berlin",
        52.5392,
        13.4056,
    ),
    SeedCustomer(
        "business",
        "Trattoria Navigli Srl",
        "ordini@trattoria-navigli.example",
        "+39 02 5550 4411",
        "Kitchen",
        "Alzaia Naviglio Grande 36, 20144 Milano",
        45.4517,
        9.1695,
    ),
    SeedCustomer(
        "business",
        "Wash & Go Laundrettes Ltd",
        "ops@washandgo.example",
        "+353 1 555 0177",
        "Rathmines branch",
        "260 Rathmines Road Lower, Dublin 6",
        53.3232,
        -6.2653,
    ),
)


STOCK_EVERY = 10  # every tenth device of the fleet is in stock, owned by nobody


def is_owned(index: int) -> bool:
    """Whether the fleet's device at ``index`` is given an owner by :func:`seed_crm`."""
    return index % STOCK_EVERY != STOCK_EVERY - 1


def seed_crm(
    conn: psycopg.Connection[TupleRow], fleet: list[SimDevice], *, seed: int, today: date
) -> int:
    """Register customers, sites and the fleet's devices; return the devices added.

    About one device in ten stays unassigned (in stock), as in a real registry. Devices
    already registered (by serial) are left alone, so seeding twice adds nothing.
    """
    rng = random.Random(seed)
    with conn.transaction():
        sites: list[tuple[int, int]] = []
        for customer in CUSTOMERS:
            row = conn.execute(
                "SELECT c.id, s.id FROM customers c JOIN sites s ON s.customer_id = c.id "
                "WHERE c.email = %s",
                (customer.email,),
            ).fetchone()
            if row is None:
                customer_id = conn.execute(
                    "INSERT INTO customers (kind, name, email, phone) VALUES (%s, %s, %s, %s) "
                    "RETURNING id",
                    (customer.kind, customer.name, customer.email, e164(customer.phone)),
                ).fetchone()[0]  # type: ignore[index]
                site_id = conn.execute(
                    "INSERT INTO sites (customer_id, label, address, latitude, longitude) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (
                        customer_id,
                        customer.site_label,
                        customer.address,
                        customer.latitude,
                        customer.longitude,
                    ),
                ).fetchone()[0]  # type: ignore[index]
                row = (customer_id, site_id)
            sites.append((int(row[0]), int(row[1])))

        added = 0
        for index, device in enumerate(fleet):
            owner = sites[rng.randrange(len(sites))] if is_owned(index) else None
            installed = today - timedelta(days=rng.randint(60, 2400))
            warranty_end = installed + timedelta(days=365 * rng.choice((2, 3, 5)))
            cur = conn.execute(
                """
                INSERT INTO devices (serial, device_type, model, firmware, production_batch,
                                     customer_id, site_id, installed_on, warranty_end)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (serial) DO NOTHING
                """,
                (
                    device.serial,
                    device.device_type,
                    device.model,
                    device.firmware,
                    device.production_batch,
                    owner[0] if owner else None,
                    owner[1] if owner else None,
                    installed if owner else None,
                    warranty_end if owner else None,
                ),
            )
            added += cur.rowcount
    return added


@dataclass(frozen=True, slots=True)
class SeedTechnician:
    name: str
    email: str
    skills: tuple[str, ...]
    region: str
    latitude: float
    longitude: float


TECHNICIANS: tuple[SeedTechnician, ...] = (
    SeedTechnician(
        "Lena Vogel", "lena.vogel@example.com", ("refrigerator",), "Berlin", 52.5200, 13.4050
    ),
    SeedTechnician(
        "Marco Rossi",
        "marco.rossi@example.com",
        ("refrigerator", "washing_machine"),
        "Milano",
        45.4642,
        9.1900,
    ),
    SeedTechnician(
        "Claire Dubois",
        "claire.dubois@example.com",
        ("washing_machine", "refrigerator"),
        "Lyon",
        45.7640,
        4.8357,
    ),
    SeedTechnician(
        "Sean Byrne", "sean.byrne@example.com", ("washing_machine",), "Dublin", 53.3498, -6.2603
    ),
    SeedTechnician(
        "Pieter de Vries",
        "pieter.devries@example.com",
        ("refrigerator", "washing_machine"),
        "Amsterdam",
        52.3676,
        4.9041,
    ),
)
CONTRACT_TIERS = ("premium", "standard", "basic")


def seed_service(conn: psycopg.Connection[TupleRow], *, today: date) -> int:
    """Technicians, and a service contract for the first three customers (premium,
    standard, basic) so that the SLA tiers show; return the technicians added.

    Seeding twice adds nothing (by technician e-mail and contract reference).
    """
    added = 0
    with conn.transaction():
        for t in TECHNICIANS:
            cur = conn.execute(
                "INSERT INTO technicians (name, email, skills, region, home_latitude, "
                "home_longitude) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (email) DO NOTHING",
                (t.name, t.email, list(t.skills), t.region, t.latitude, t.longitude),
            )
            added += cur.rowcount
        for number, (customer, tier) in enumerate(zip(CUSTOMERS, CONTRACT_TIERS, strict=False)):
            conn.execute(
                "INSERT INTO service_contracts (reference, customer_id, tier, starts_on, ends_on) "
                "SELECT %s, id, %s, %s, %s FROM customers WHERE email = %s "
                "ON CONFLICT (reference) DO NOTHING",
                (
                    f"DEMO-SC-{number + 1}",
                    tier,
                    today - timedelta(days=200),
                    today + timedelta(days=165),
                    customer.email,
                ),
            )
    return added
