"""``careline bench trace`` at a tiny size: loads by COPY, traces, prints the JSON keys."""

from __future__ import annotations

import json

import pytest

from careline.bench.trace import TraceSizes, run_trace_bench
from careline.settings import load_settings

pytestmark = pytest.mark.integration


def test_bench_trace_tiny(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(database={"url": database_url})
    sizes = TraceSizes(customers=300, lots=60, shipments=30, readings=6000, queries=20)
    assert run_trace_bench(settings, sizes, as_json=True) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"p50_ms", "p95_ms", "customers", "lots", "shipments", "readings"} <= result.keys()
    assert (result["customers"], result["lots"], result["readings"]) == (300, 60, 6000)
    assert result["mean_customers_per_trace"] > 0
    assert 0 < result["p50_ms"] <= result["p95_ms"]
