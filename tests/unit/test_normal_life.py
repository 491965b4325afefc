"""The simulator's normal life: holidays, defrost cycles and a heat pump's weather."""

from __future__ import annotations

from devices.catalog import Catalog
from simulators.behaviour import ICING_BELOW
from simulators.delivery import deliveries
from simulators.fleet import DAY_S, make_device, make_fleet
from simulators.household import away, away_on, home_country
from simulators.signals import device_rng, readings

START = 1_764_460_800.0  # 2025-11-30T00:00Z


def test_households_are_away_on_some_public_holidays_and_nobody_opens_the_fridge(
    catalog: Catalog,
) -> None:
    fleet = make_fleet(1, refrigerators=40, washing_machines=0)
    days = range(int(START // DAY_S), int(START // DAY_S) + 14)
    away_days = {(d.serial, day) for d in fleet for day in days if away_on(d.serial, day)}
    assert away_days, "some households are away in two weeks of December"
    assert len({home_country(d) for d in fleet}) > 3
    serial, day = min(away_days)
    fridge = next(d for d in fleet if d.serial == serial)
    kind = catalog.device_type("refrigerator")
    rng = device_rng(1, serial)
    opened = [readings(fridge, kind, day * DAY_S + 60.0 * m, rng)["door_open"] for m in range(1440)]
    assert not any(opened)
    home = next(d for d in range(day + 1, day + 30) if not away_on(serial, d))
    opened = [
        readings(fridge, kind, home * DAY_S + 60.0 * m, rng)["door_open"] for m in range(1440)
    ]
    assert any(opened)


def test_a_washer_is_off_while_its_household_is_away() -> None:
    washers = make_fleet(1, refrigerators=0, washing_machines=60)
    washer, day = next(
        (w, d)
        for w in washers
        for d in range(int(START // DAY_S), int(START // DAY_S) + 14)
        if away_on(w.serial, d)
    )
    start = day * DAY_S
    sent = list(deliveries(washer, 1, start, start + DAY_S, 60.0, lambda t: {"x": t}, []))
    assert all(not away(washer, d.t) for d in sent)
    assert len(sent) < 1440


def test_nofrost_fridges_and_cold_heat_pumps_defrost(catalog: Catalog) -> None:
    fridges = make_fleet(1, refrigerators=10, washing_machines=0)
    nofrost = next(d for d in fridges if "NoFrost" in d.model)
    kind = catalog.device_type("refrigerator")
    rng = device_rng(1, nofrost.serial)
    freezer = [readings(nofrost, kind, START + 60.0 * m, rng)["freezer_temp"] for m in range(600)]
    assert max(freezer) - min(freezer) > 2.0  # the heater ran at least once in 10 hours

    pump = make_device(1, "heat_pump", 1)
    kind = catalog.device_type("heat_pump")
    rng = device_rng(1, pump.serial)
    day = [readings(pump, kind, START + 60.0 * m, rng) for m in range(2 * 1440)]
    defrosting = [v for v in day if v["defrost"]]
    assert defrosting
    assert len(defrosting) < len(day) / 5
    assert all(float(v["outdoor_temp"]) < ICING_BELOW + 1.5 for v in defrosting)
    assert all(float(v["delta_t"]) < 0 for v in defrosting)  # heat flows back from the water
    assert all(
        abs(float(v["return_temp"]) - float(v["flow_temp"]) + float(v["delta_t"])) < 0.002
        for v in day
    )
