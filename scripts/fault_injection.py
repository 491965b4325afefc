#!/usr/bin/env python3
"""The whole fault-injection set in one command, at ten times the CI load.

    .venv/bin/python scripts/fault_injection.py            # every case, figures printed
    .venv/bin/python scripts/fault_injection.py -k sigterm  # pytest's selection works

Each case runs real processes against real services (Mosquitto, nats-server, PostgreSQL:
``CARELINE_TEST_DATABASE_URL`` or an embedded one), publishes with a counting publisher
that records every PUBACK, injects its fault, and asserts 0 lost, 0 stored twice, ingest
writing again within the recovery bound, and one fault and one ticket per overheating
fridge. CI runs the same tests at the base load and a 20 s database outage; this runs
them with ``CARELINE_TEST_FAULT_LOAD=10`` and a 30 s outage, and fails (rather than skips)
when a service is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    "tests/integration/test_fault_injection.py",
    "tests/integration/test_recovery.py",
    "tests/integration/test_scale_out.py",
]


def main(argv: list[str]) -> int:
    env = {
        **os.environ,
        "CARELINE_TEST_FAULT_LOAD": os.environ.get("CARELINE_TEST_FAULT_LOAD", "10"),
        "CARELINE_TEST_OUTAGE_S": os.environ.get("CARELINE_TEST_OUTAGE_S", "30"),
        "CARELINE_TEST_REQUIRE": "mosquitto,nats",
    }
    command = [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", *CASES]
    return subprocess.run([*command, *argv], cwd=ROOT, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
