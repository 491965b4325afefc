"""A regression fitted on mild weather meets a colder spell: weather is learned, a fault is not.

A heat pump's flow temperature follows the outdoor temperature (the heating curve, +0.6 °C
per °C colder). The first day is mild (4-10 °C); then the weather turns and stays colder
than anything the regression has seen (down to about -5 °C). That alone must open no fault;
the same colder spell with the flow falling 4 °C (a pump that no longer moves the heat) must.
Through the catalog's real heat-pump detectors, a reading a minute, seeded.
"""

from __future__ import annotations

import math
import random

from devices.catalog import Catalog
from devices.detection import FleetDetectors
from devices.detection.regression import RegressionDetector
from devices.faults.model import FaultEvent, FaultOpened
from simulators.fleet import make_fleet
from simulators.signals import device_rng, readings

START = 1_700_006_400.0  # midnight UTC
DAY_S = 86400.0
FAULT_AT = START + 2.25 * DAY_S  # day 3, 06:00: well into the colder spell


def outdoor(t: float) -> float:
    """7 °C ± 3 on the first day, then 11 °C colder over the second, and it stays."""
    into = (t - START) / DAY_S
    cold = 11.0 * min(max(into - 1.0, 0.0), 1.0)
    return 7.0 + 3.0 * math.sin(2 * math.pi * into) - cold


def flow_fault(t: float) -> float:
    """4 °C less flow, over three hours from :data:`FAULT_AT`."""
    return -4.0 * min(max((t - FAULT_AT) / (3 * 3600), 0.0), 1.0)


def feed(catalog: Catalog, seed: int, *, fault: bool, days: float = 4.0) -> list[FaultEvent]:
    rng = random.Random(seed)
    fleet = FleetDetectors(catalog)
    events: list[FaultEvent] = []
    for minute in range(int(days * 1440)):
        t = START + 60 * minute
        out = outdoor(t) + rng.gauss(0, 0.3)
        flow = 40.0 + 0.6 * (4.0 - out) + rng.gauss(0, 0.3) + (flow_fault(t) if fault else 0.0)
        events += fleet.observe(1, "heat_pump", "outdoor_temp", t, out)
        events += fleet.observe(1, "heat_pump", "flow_temp", t, flow)
    return events


def flow_faults(events: list[FaultEvent]) -> list[FaultOpened]:
    return [
        e
        for e in events
        if isinstance(e, FaultOpened) and e.metric == "flow_temp" and e.detector == "regression"
    ]


def test_a_colder_spell_than_any_learned_opens_no_fault(catalog: Catalog) -> None:
    for seed in range(3):
        assert flow_faults(feed(catalog, seed, fault=False)) == [], seed


def test_a_fault_in_the_same_colder_spell_still_opens_one(catalog: Catalog) -> None:
    for seed in range(3):
        opened = flow_faults(feed(catalog, seed, fault=True))
        assert opened, seed
        first = opened[0].opened_at
        assert FAULT_AT <= first <= FAULT_AT + 3 * 3600, (seed, (first - FAULT_AT) / 3600)


def test_beyond_the_inputs_learned_the_score_is_less_sure() -> None:
    rng = random.Random(3)
    detector = RegressionDetector(adapt=0.005)
    for _ in range(600):  # inputs within 4-10 °C
        out = rng.uniform(4.0, 10.0)
        detector.learn_one(
            {"value": 40.0 + 0.6 * (4.0 - out) + rng.gauss(0, 0.1), "t": 0.0, "outdoor_temp": out}
        )
    inside = {"outdoor_temp": 7.0}
    far = {"outdoor_temp": -5.0}
    off = 2.0  # the same residual, inside the inputs learned and far beyond them
    assert detector.score_one({"value": detector.predict(inside) + off, **inside}) > 5
    assert detector.score_one({"value": detector.predict(far) + off, **far}) < 5


# A heat pump of the simulator (seed 3, HP-000003): a mild first day, then weather colder
# than it has seen, with defrost cycles. Before the regression learned beyond the inputs it
# knew, its flow regression opened faults on this healthy device (careline evaluate --seed 3).
SIM_SEED = 3
SIM_SERIAL = "HP-000003"
SIM_START = 1_764_460_800.0  # careline evaluate's start
SIM_FAULT_AT = SIM_START + 2.5 * DAY_S


def feed_simulated(catalog: Catalog, *, fault: bool, days: float = 4.0) -> list[FaultEvent]:
    """The device's readings a minute apart; with ``fault`` its flow falls 4 °C over three
    hours from :data:`SIM_FAULT_AT`."""
    device = next(d for d in make_fleet(SIM_SEED, 40, 20, 20) if d.serial == SIM_SERIAL)
    kind = catalog.device_type(device.device_type)
    rng = device_rng(SIM_SEED, device.serial)
    fleet = FleetDetectors(catalog)
    events: list[FaultEvent] = []
    for minute in range(int(days * 1440)):
        t = SIM_START + 60 * minute
        for key, value in readings(device, kind, t, rng).items():
            number = float(value)
            if fault and key == "flow_temp":
                number -= 4.0 * min(max((t - SIM_FAULT_AT) / (3 * 3600), 0.0), 1.0)
            events += fleet.observe(1, "heat_pump", key, t, number)
    return events


def test_a_simulated_heat_pump_meeting_colder_weather_opens_no_flow_fault(
    catalog: Catalog,
) -> None:
    assert flow_faults(feed_simulated(catalog, fault=False)) == []


def test_the_same_heat_pump_losing_flow_still_opens_one(catalog: Catalog) -> None:
    opened = flow_faults(feed_simulated(catalog, fault=True))
    assert opened
    assert SIM_FAULT_AT <= opened[0].opened_at <= SIM_FAULT_AT + 3 * 3600
