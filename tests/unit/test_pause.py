"""A device that reports a defrost: its detectors look away from the metrics it moves."""

from __future__ import annotations

import pytest

from devices.catalog import Catalog, CatalogError, parse_catalog
from devices.detection import FleetDetectors
from devices.faults.model import FaultOpened

T0 = 1_700_006_400.0
PAUSED = ("flow_temp", "delta_t", "cop")


def _minute(fleet: FleetDetectors, t: float, defrost: bool, flow: float) -> list[object]:
    events: list[object] = []
    events += fleet.observe(1, "heat_pump", "defrost", t, float(defrost))
    events += fleet.observe(1, "heat_pump", "outdoor_temp", t, 2.0 + (t % 7) / 10)
    events += fleet.observe(1, "heat_pump", "flow_temp", t, flow)
    return events


def test_readings_during_a_defrost_and_its_settling_time_are_not_judged(
    catalog: Catalog,
) -> None:
    pause = catalog.device_type("heat_pump").pause
    assert pause is not None
    assert pause.flag == "defrost"
    assert pause.settle_s == 300
    fleet = FleetDetectors(catalog)
    events: list[object] = []
    t = T0
    for minute in range(2 * 1440):  # two days; every 70 minutes a 6-minute defrost
        defrost = minute % 70 < 6
        flow = 40.0 + (minute % 5) * 0.05 - (3.5 if defrost else 0.0)
        events += _minute(fleet, t, defrost, flow)
        t += 60
    assert not [e for e in events if isinstance(e, FaultOpened)]
    # 6 minutes of defrost and 5 of settling, per 70 minutes, of flow_temp
    assert fleet.paused_readings == pytest.approx(2 * 1440 / 70 * 11, rel=0.05)
    # the same dips without the flag are anomalies: the flag is what makes them normal
    blind = FleetDetectors(catalog)
    events = []
    t = T0
    for minute in range(2 * 1440):
        flow = 40.0 + (minute % 5) * 0.05 - (3.5 * 5 if 1500 < minute < 1530 else 0.0)
        events += _minute(blind, t, False, flow)
        t += 60
    assert [e for e in events if isinstance(e, FaultOpened)]


def test_a_late_flag_reading_does_not_pause_the_present(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.observe(1, "heat_pump", "defrost", T0 + 600, 0.0)
    fleet.observe(1, "heat_pump", "defrost", T0, 1.0)  # a buffered reading, uploaded late
    fleet.observe(1, "heat_pump", "flow_temp", T0 + 660, 40.0)
    assert fleet.paused_readings == 0


@pytest.mark.parametrize(
    ("pause", "message"),
    [
        ({"flag": "level", "metrics": ["level"]}, "boolean"),
        ({"flag": "on", "metrics": ["nope"]}, "other metrics"),
        ({"flag": "on", "metrics": ["level"], "settle_s": -1}, "settle_s"),
        ({"metrics": ["level"]}, "pause"),
    ],
)
def test_a_malformed_pause_is_refused_naming_it(pause: dict[str, object], message: str) -> None:
    metric = {
        "unit": "/",
        "range": [0, 1],
        "typical": {"mean": 0, "daily_amplitude": 0, "noise": 0},
    }
    data = {
        "device_types": {
            "x": {
                "pause": pause,
                "metrics": [
                    {"key": "on", "kind": "boolean", **metric},
                    {"key": "level", **metric},
                ],
            }
        }
    }
    with pytest.raises(CatalogError, match=message):
        parse_catalog(data)
