"""Diagnosis: fault signatures to causes (catalog data) and the time to failure."""

from __future__ import annotations

import math

import pytest

from devices.catalog import Catalog, CatalogError, parse_catalog
from devices.causes import Indicator
from devices.diagnosis import Seen, diagnose, seen, time_to_failure
from devices.faults.model import WindowSummary

HOUR = 3600.0


def windows(values: list[float], step: float = 300.0, score: float = 6.0) -> list[WindowSummary]:
    return [WindowSummary(i * step, v, 5, score) for i, v in enumerate(values)]


def up(metric: str, detector: str = "standard_score") -> Seen:
    return Seen(metric, detector, "up", None)


@pytest.mark.parametrize(
    ("signature", "cause", "part"),
    [
        ([up("door_open", "limit_high"), up("compressor_power")], "door_left_open", ""),
        ([up("condenser_temp"), up("duty_cycle")], "condenser_fan_failure", "condenser fan motor"),
        ([up("compressor_power", "regression"), up("duty_cycle")], "compressor_wear", "compressor"),
        ([up("duty_cycle"), up("compressor_power")], "door_seal_leak", "door seal"),
        ([up("cabinet_temp"), up("compressor_power")], "compressor_weak", "compressor"),
        ([up("cabinet_temp")], "cooling_loss", "thermostat and start relay"),
        ([up("freezer_temp")], "", ""),
    ],
)
def test_the_first_cause_whose_every_move_is_seen_wins(
    catalog: Catalog, signature: list[Seen], cause: str, part: str
) -> None:
    found = diagnose(catalog.device_type("refrigerator"), signature)
    assert (found.cause, found.part) == (cause, part)
    assert found.visit is (cause != "door_left_open")


def test_a_washer_signature(catalog: Catalog) -> None:
    washer = catalog.device_type("washing_machine")
    assert diagnose(washer, [up("vibration_rms")]).part.startswith("drum bearing")
    assert diagnose(washer, [Seen("water_temp", "standard_score", "down", None)]).cause == (
        "heating_element_failure"
    )
    assert diagnose(washer, [Seen("water_temp", "standard_score", "up", None)]).cause == ""


def test_which_way_a_fault_moved_is_read_from_its_evidence() -> None:
    falling = windows([40.0, 40.1, 39.9, 36.0, 34.0], score=1.0)
    assert seen("water_temp", "standard_score", 4.0, 3 * 300.0, falling).direction == "down"
    assert seen("door_open", "limit_high", 0.5, 0.0, []).direction == "up"
    rising = seen("cabinet_temp", "standard_score", 4.0, 0.0, windows([4.0, 4.5, 5.0]))
    assert rising.rate_per_hour == pytest.approx(6.0)  # 0.5 °C per 5 minutes


def test_a_bearing_wears_exponentially_toward_zone_d() -> None:
    # vibration doubling every 6 hours from 1.2 mm/s: 4.5 mm/s after 6 * log2(4.5/1.2) h
    values = [1.2 * 2 ** (i * 300 / (6 * HOUR)) for i in range(24)]
    urgency = time_to_failure(
        Indicator("vibration_rms", 4.5, "exponential"), windows(values), "mm/s"
    )
    expected = 6 * math.log2(4.5 / 1.2) - 23 * 300 / HOUR
    assert urgency.hours_to_failure == pytest.approx(expected, rel=1e-6)
    assert urgency.confidence == "high"


def test_no_trend_toward_the_line_gives_no_estimate_and_past_it_gives_zero() -> None:
    line = Indicator("cabinet_temp", 8.0)
    flat = time_to_failure(line, windows([5.0, 4.9, 5.0, 4.8, 4.9, 4.8]), "Cel")
    assert (flat.hours_to_failure, flat.confidence) == (None, "none")
    assert "not trending toward failure" in flat.note
    past = time_to_failure(line, windows([8.5, 8.7, 8.9]), "Cel", normal=4.0)
    assert past.hours_to_failure == 0.0
    assert "already" in past.note
    falling = time_to_failure(Indicator("water_temp", 25.0), windows([40.0, 38.0, 36.0]), "Cel")
    assert falling.hours_to_failure == pytest.approx((36.0 - 25.0) / 24.0)  # 2 °C / 5 min
    assert time_to_failure(line, windows([5.0, 5.1]), "Cel").confidence == "none"


def test_a_malformed_cause_is_a_clear_catalog_error() -> None:
    base = {
        "device_types": {
            "fridge": {
                "metrics": [
                    {
                        "key": "t",
                        "unit": "Cel",
                        "range": [-40, 60],
                        "typical": {"mean": 4, "daily_amplitude": 0, "noise": 0.1},
                    }
                ],
                "causes": [{"key": "x", "label": "X", "signature": ["t sideways"], "advice": "-"}],
            }
        }
    }
    with pytest.raises(CatalogError, match=r"causes\[0\].*'metric up\|down \[detector\]'"):
        parse_catalog(base)
    base["device_types"]["fridge"]["causes"] = [
        {"key": "x", "label": "X", "signature": ["t up"], "advice": "-"}
    ]
    with pytest.raises(CatalogError, match="names the part to bring"):
        parse_catalog(base)


def test_a_relation_names_other_metrics_of_its_type() -> None:
    spec = {
        "kind": "regression",
        "window_s": 300,
        "threshold": 4,
        "warmup": 10,
        "open_after": 3,
        "clear_after": 3,
        "adapt": 0.01,
        "inputs": ["nope"],
    }
    data = {
        "device_types": {
            "fridge": {
                "metrics": [
                    {
                        "key": "t",
                        "unit": "Cel",
                        "range": [-40, 60],
                        "relation": spec,
                        "typical": {"mean": 4, "daily_amplitude": 0, "noise": 0.1},
                    }
                ]
            }
        }
    }
    with pytest.raises(CatalogError, match=r"relation: inputs must name other metrics.*'nope'"):
        parse_catalog(data)
