"""The simulators without a broker: fleet, signals, faults, clock, payloads and the run loop."""

from __future__ import annotations

import dataclasses
import random
import statistics
import threading
from collections.abc import Callable

import orjson
import pytest

from devices.catalog import Catalog, DeviceType
from simulators.clock import SimClock
from simulators.fault_plans import plan_faults
from simulators.fault_profiles import PROFILES, FaultKind
from simulators.faults import InjectedFault, apply, apply_all
from simulators.fleet import MODELS, SimDevice, make_device, make_fleet
from simulators.payloads import json_batch, json_single, senml_pack, senml_series, units_of
from simulators.run import Progress, default_format, run_fleet
from simulators.signals import Value, device_rng, readings, sample

T0 = 1_795_485_600.0  # 2026-11-24T02:00Z, a whole day boundary + 2 h
DAY = 86_400.0
HOUR = 3_600.0


def _stream(
    device: SimDevice, device_type: DeviceType, seed: int, times: list[float]
) -> list[dict[str, Value]]:
    rng = device_rng(seed, device.serial)
    return [readings(device, device_type, t, rng) for t in times]


def _series(
    device: SimDevice,
    device_type: DeviceType,
    metric: str,
    times: list[float],
    fault: InjectedFault | None = None,
    seed: int = 3,
) -> list[float]:
    """The metric's values at ``times`` (numbers only), with ``fault`` applied if given."""
    rng = device_rng(seed, device.serial)
    spec = device_type.metrics[metric]
    values = []
    for t in times:
        value = sample(device, spec, t, rng)
        if fault is not None:
            value = apply(fault, metric, t, value)
        assert not isinstance(value, bool)
        values.append(value)
    return values


def _minutes(start: float, end: float) -> list[float]:
    return [start + 60.0 * i for i in range(int((end - start) // 60))]


# -- fleet ------------------------------------------------------------------------------------


def test_same_seed_same_fleet_and_other_seed_other_fleet() -> None:
    fleet = make_fleet(11, refrigerators=6, washing_machines=4)
    assert fleet == make_fleet(11, refrigerators=6, washing_machines=4)
    assert [d.serial for d in fleet] == [
        *(f"FR-{n:06d}" for n in range(1, 7)),
        *(f"WM-{n:06d}" for n in range(1, 5)),
    ]
    other = make_fleet(12, refrigerators=6, washing_machines=4)
    assert [d.serial for d in other] == [d.serial for d in fleet]
    assert [d.phase for d in other] != [d.phase for d in fleet]


def test_growing_the_fleet_keeps_the_existing_devices() -> None:
    small = make_fleet(5, refrigerators=3, washing_machines=2)
    large = make_fleet(5, refrigerators=30, washing_machines=20)
    assert large[:3] == small[:3]
    assert large[30:32] == small[3:5]
    assert make_device(5, "washing_machine", 2) == small[4]


def test_devices_have_models_and_firmware_of_their_type() -> None:
    fleet = make_fleet(1, refrigerators=50, washing_machines=50)
    for device in fleet:
        models = {m.name: m for m in MODELS[device.device_type]}
        assert device.model in models
        assert device.firmware in models[device.model].firmware
        assert abs(device.phase) <= 2 * HOUR
    assert {d.model for d in fleet if d.device_type == "refrigerator"} == {
        m.name for m in MODELS["refrigerator"]
    }
    with pytest.raises(ValueError, match="negative"):
        make_fleet(1, -1, 0)


# -- signals ----------------------------------------------------------------------------------


def test_same_seed_same_stream_other_seed_other_stream(catalog: Catalog) -> None:
    fridge = make_device(2, "refrigerator", 1)
    spec = catalog.device_type("refrigerator")
    times = _minutes(T0, T0 + HOUR)
    assert _stream(fridge, spec, 9, times) == _stream(fridge, spec, 9, times)
    assert _stream(fridge, spec, 9, times) != _stream(fridge, spec, 10, times)


def test_values_stay_inside_the_catalog_ranges(catalog: Catalog) -> None:
    for device_type in ("refrigerator", "washing_machine"):
        spec = catalog.device_type(device_type)
        # Absurdly noisy, so that the clipping has work to do.
        wild = dataclasses.replace(make_device(4, device_type, 1), noise_scale=2_000.0)
        rng = device_rng(4, wild.serial)
        seen: dict[str, set[float]] = {key: set() for key in spec.metrics}
        for t in _minutes(T0, T0 + 6 * HOUR):
            for key, value in readings(wild, spec, t, rng).items():
                metric = spec.metrics[key]
                if metric.kind == "boolean":
                    assert isinstance(value, bool)
                    continue
                assert not isinstance(value, bool)
                assert metric.low <= value <= metric.high
                seen[key].add(value)
        for key, metric in spec.metrics.items():
            if metric.kind == "number":
                assert {metric.low, metric.high} <= seen[key], key


def test_fridges_are_warmer_in_the_afternoon_than_at_night(catalog: Catalog) -> None:
    spec = catalog.device_type("refrigerator")
    fridge = dataclasses.replace(make_device(6, "refrigerator", 1), phase=0.0, cycle_scale=1.0)
    day0 = T0 - 2 * HOUR  # midnight UTC
    afternoon = [
        t
        for d in range(7)
        for t in _minutes(day0 + d * DAY + 13 * HOUR, day0 + d * DAY + 17 * HOUR)
    ]
    night = [
        t for d in range(7) for t in _minutes(day0 + d * DAY + 1 * HOUR, day0 + d * DAY + 5 * HOUR)
    ]
    warm = statistics.fmean(_series(fridge, spec, "cabinet_temp", afternoon))
    cold = statistics.fmean(_series(fridge, spec, "cabinet_temp", night))
    amplitude = spec.metrics["cabinet_temp"].typical.daily_amplitude
    # cos peaks at 15:00 and bottoms at 03:00: the 4-hour means are ~0.83 of the amplitude
    assert warm - cold == pytest.approx(2 * 0.83 * amplitude, abs=0.1)


def test_washers_peak_in_the_morning_and_the_evening(catalog: Catalog) -> None:
    spec = catalog.device_type("washing_machine")
    washer = dataclasses.replace(make_device(6, "washing_machine", 1), phase=0.0)
    day0 = T0 - 2 * HOUR

    def mean_power(hour: float) -> float:
        times = [
            t
            for d in range(5)
            for t in _minutes(day0 + d * DAY + hour * HOUR, day0 + d * DAY + (hour + 1) * HOUR)
        ]
        return statistics.fmean(_series(washer, spec, "motor_power", times))

    assert mean_power(7.5) > mean_power(13.5) + 50
    assert mean_power(19.5) > mean_power(1.5) + 50


def test_door_openings_are_rare_events(catalog: Catalog) -> None:
    spec = catalog.device_type("refrigerator")
    fridge = make_device(8, "refrigerator", 2)
    stream = _stream(fridge, spec, 8, _minutes(T0, T0 + 7 * DAY))
    share = sum(bool(values["door_open"]) for values in stream) / len(stream)
    assert share == pytest.approx(spec.metrics["door_open"].typical.mean, abs=0.01)


# -- faults -----------------------------------------------------------------------------------


def test_fault_label_names_device_kind_and_onset() -> None:
    fault = InjectedFault("FR-000003", FaultKind.COMPRESSOR_DEGRADATION, T0, 3_600)
    assert fault.label == "FR-000003 compressor_degradation from 2026-11-24T02:00Z"
    with pytest.raises(ValueError, match="ramp_s"):
        InjectedFault("FR-000003", FaultKind.BEARING_WEAR, T0, 0)
    assert InjectedFault("WM-000001", "bearing_wear", T0, 60).kind is FaultKind.BEARING_WEAR  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="melting"):
        InjectedFault("WM-000001", "melting", T0, 60)  # type: ignore[arg-type]


def test_compressor_degradation_adds_four_degrees_after_the_ramp(catalog: Catalog) -> None:
    spec = catalog.device_type("refrigerator")
    fridge = make_device(3, "refrigerator", 3)
    ramp = 6 * HOUR
    fault = InjectedFault(fridge.serial, FaultKind.COMPRESSOR_DEGRADATION, T0 + DAY, ramp)
    before = _minutes(T0, T0 + DAY)
    after = _minutes(T0 + DAY + ramp, T0 + 2 * DAY + ramp)
    healthy_before = _series(fridge, spec, "cabinet_temp", before)
    assert _series(fridge, spec, "cabinet_temp", before, fault) == healthy_before
    shift = statistics.fmean(
        _series(fridge, spec, "cabinet_temp", after, fault)
    ) - statistics.fmean(_series(fridge, spec, "cabinet_temp", after))
    assert shift == pytest.approx(4.0, abs=1e-6)
    assert statistics.fmean(_series(fridge, spec, "cabinet_temp", after, fault)) == pytest.approx(
        statistics.fmean(healthy_before) + 4.0, abs=0.15
    )
    # halfway up the ramp: +2 °C and +22.5 % power
    assert apply(fault, "cabinet_temp", T0 + DAY + ramp / 2, 4.0) == pytest.approx(6.0)
    assert apply(fault, "compressor_power", T0 + DAY + ramp / 2, 100.0) == pytest.approx(122.5)
    assert apply(fault, "compressor_power", T0 + 3 * DAY, 100.0) == pytest.approx(145.0)
    assert apply(fault, "freezer_temp", T0 + 3 * DAY, -18.0) == -18.0


def test_bearing_wear_multiplies_vibration_exponentially(catalog: Catalog) -> None:
    spec = catalog.device_type("washing_machine")
    washer = make_device(3, "washing_machine", 1)
    ramp = 12 * HOUR
    fault = InjectedFault(washer.serial, FaultKind.BEARING_WEAR, T0, ramp)
    assert apply(fault, "vibration_rms", T0 - 1, 1.2) == 1.2
    assert apply(fault, "vibration_rms", T0 + ramp / 2, 1.0) == pytest.approx(2.0)
    assert apply(fault, "vibration_rms", T0 + ramp, 1.0) == pytest.approx(4.0)
    assert apply(fault, "motor_power", T0 + 2 * ramp, 400.0) == pytest.approx(440.0)
    after = _minutes(T0 + ramp, T0 + ramp + DAY)
    worn = statistics.fmean(_series(washer, spec, "vibration_rms", after, fault))
    healthy = statistics.fmean(_series(washer, spec, "vibration_rms", after))
    assert worn / healthy == pytest.approx(4.0, rel=1e-3)


def test_door_left_open_warms_the_cabinet_then_recovers() -> None:
    fault = InjectedFault("FR-000001", FaultKind.DOOR_LEFT_OPEN, T0, ramp_s=4_800, duration_s=5_400)
    assert apply(fault, "door_open", T0 - 60, False) is False
    assert apply(fault, "door_open", T0, False) is True
    assert apply(fault, "door_open", T0 + 5_400, False) is False
    assert apply(fault, "cabinet_temp", T0 + 600, 4.0) == pytest.approx(5.0)  # 1 °C / 10 min
    assert apply(fault, "cabinet_temp", T0 + 5_000, 4.0) == pytest.approx(12.0)  # capped at +8
    assert apply(fault, "compressor_power", T0 + 60, 100.0) == pytest.approx(130.0)
    assert apply(fault, "cabinet_temp", T0 + 5_400 + 900, 4.0) == pytest.approx(8.0)  # cooling
    assert apply(fault, "cabinet_temp", T0 + 5_400 + 1_800, 4.0) == 4.0


def test_apply_all_combines_the_faults_of_one_device() -> None:
    faults = [
        InjectedFault("FR-000001", FaultKind.COMPRESSOR_DEGRADATION, T0, 3_600),
        InjectedFault("FR-000001", FaultKind.DOOR_LEFT_OPEN, T0, 4_800, 5_400),
    ]
    assert apply_all(faults, "cabinet_temp", T0 + 3_600, 4.0) == pytest.approx(4.0 + 4.0 + 6.0)


def test_plan_faults_picks_distinct_devices_of_the_right_type_inside_the_window() -> None:
    fleet = make_fleet(21, refrigerators=8, washing_machines=4, heat_pumps=3)
    types = {d.serial: d.device_type for d in fleet}
    window = (T0 + 17.5, T0 + 2 * DAY)
    faults = plan_faults(fleet, 10, seed=21, window=window)
    assert faults == plan_faults(fleet, 10, seed=21, window=window)
    assert len({f.serial for f in faults}) == 10
    assert {f.kind for f in faults} == set(FaultKind)
    for fault in faults:
        assert types[fault.serial] == PROFILES[fault.kind].device_type
        assert window[0] <= fault.onset < window[1]
        assert fault.onset % 60 == 0
    assert [f.onset for f in faults] == sorted(f.onset for f in faults)
    assert plan_faults(fleet, 10, seed=22, window=window) != faults
    only = plan_faults(
        fleet, 4, 1, window, kinds=[FaultKind.BEARING_WEAR], ramp_s={FaultKind.BEARING_WEAR: 60}
    )
    assert {(types[f.serial], f.ramp_s) for f in only} == {("washing_machine", 60)}
    with pytest.raises(ValueError, match="cannot plan 5 faults"):
        plan_faults(fleet, 5, 1, window, kinds=[FaultKind.BEARING_WEAR])
    with pytest.raises(ValueError, match="cannot plan 16 faults"):
        plan_faults(fleet, 16, 1, window)


# -- clock ------------------------------------------------------------------------------------


class FakeWall:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_clock_replays_at_speed_until_caught_up_then_runs_live() -> None:
    wall = FakeWall(T0)
    clock = SimClock.replaying(history_s=DAY, speed=100.0, wall=wall)
    assert clock.start == T0 - DAY
    assert clock.now() == T0 - DAY
    assert not clock.caught_up
    wall.now += 10
    assert clock.now() == pytest.approx(T0 - DAY + 1_000)
    # catches up after DAY / (speed - 1) real seconds
    catch_up = T0 + DAY / 99
    wall.now = catch_up - 1
    assert not clock.caught_up
    assert clock.now() < wall.now
    wall.now = catch_up + 1e-6
    assert clock.caught_up
    assert clock.now() == wall.now
    wall.now += 3_600
    assert clock.now() == wall.now  # speed 1 from now on


def test_clock_never_runs_ahead_of_the_wall_clock() -> None:
    wall = FakeWall(T0)
    clock = SimClock(start=T0 - HOUR, speed=1_000.0, wall=wall)
    rng = random.Random(1)
    for _ in range(1_000):
        wall.now += rng.uniform(0, 5)
        assert clock.now() <= wall.now
    future = SimClock(start=T0 + DAY, speed=10.0, wall=FakeWall(T0))
    assert future.now() == T0


def test_clock_says_how_long_to_sleep_before_a_step() -> None:
    wall = FakeWall(T0)
    clock = SimClock(start=T0 - HOUR, speed=60.0, wall=wall)
    assert clock.delay_until(T0 - HOUR) == 0.0
    assert clock.delay_before_step(T0 - HOUR, 60.0) == pytest.approx(1.0)  # a minute at 60x
    wall.now += 0.25
    assert clock.delay_before_step(T0 - HOUR, 60.0) == pytest.approx(0.75)
    # past the catch-up point the step waits for the real clock
    assert clock.delay_until(T0 + 600) == pytest.approx(600 - 0.25)
    with pytest.raises(ValueError, match="speed"):
        SimClock(start=T0, speed=0.5, wall=wall)


# -- payloads ---------------------------------------------------------------------------------


def test_senml_pack_decodes_with_the_ingest_decoder(catalog: Catalog) -> None:
    from ingest.senml import decode_senml

    spec = catalog.device_type("refrigerator")
    values: dict[str, Value] = {
        "cabinet_temp": 4.1,
        "freezer_temp": -18.2,
        "compressor_power": 93.0,
        "door_open": False,
    }
    payload = senml_pack("FR-000001", T0, values, units_of(spec))
    records = orjson.loads(payload)
    assert records[0] == {
        "bn": "urn:dev:serial:FR-000001:",
        "bt": T0,
        "n": "cabinet_temp",
        "u": "Cel",
        "v": 4.1,
    }
    assert records[-1] == {"n": "door_open", "vb": False}
    samples = decode_senml(payload, received_at=T0 + 1)
    assert [(s.device, s.metric, s.time, s.value, s.unit) for s in samples] == [
        ("FR-000001", "cabinet_temp", T0, 4.1, "Cel"),
        ("FR-000001", "freezer_temp", T0, -18.2, "Cel"),
        ("FR-000001", "compressor_power", T0, 93.0, "W"),
        ("FR-000001", "door_open", T0, False, None),
    ]


def test_senml_series_carries_relative_offsets_to_one_base_time() -> None:
    from ingest.senml import decode_senml

    readings_ = [(T0 + 60.0 * i, {"cabinet_temp": 4.0 + i / 10}) for i in range(3)]
    payload = senml_series("FR-000002", readings_, {"cabinet_temp": "Cel"})
    records = orjson.loads(payload)
    assert [r.get("t") for r in records] == [None, 60.0, 120.0]
    assert [r.get("bt") for r in records] == [T0, None, None]
    samples = decode_senml(payload, received_at=T0)
    assert [(s.time, s.value) for s in samples] == [(T0, 4.0), (T0 + 60, 4.1), (T0 + 120, 4.2)]
    with pytest.raises(ValueError, match="at least one value"):
        senml_series("FR-000002", [], {})


def test_json_shapes_decode_with_the_ingest_decoder() -> None:
    from ingest.json_payload import decode_json

    single = json_single("WM-000001", T0, {"vibration_rms": 1.3, "door_open": True})
    assert orjson.loads(single) == {
        "device": "WM-000001",
        "time": T0,
        "values": {"vibration_rms": 1.3, "door_open": True},
    }
    assert [(s.metric, s.time, s.value) for s in decode_json(single, T0 + 5)] == [
        ("vibration_rms", T0, 1.3),
        ("door_open", T0, True),
    ]
    batch = json_batch(
        "WM-000001", [(T0, {"motor_power": 400.0}), (T0 + 60, {"motor_power": 410.0})]
    )
    assert orjson.loads(batch) == {
        "device": "WM-000001",
        "samples": [
            {"time": T0, "values": {"motor_power": 400.0}},
            {"time": T0 + 60, "values": {"motor_power": 410.0}},
        ],
    }
    assert [(s.device, s.time, s.value) for s in decode_json(batch, T0)] == [
        ("WM-000001", T0, 400.0),
        ("WM-000001", T0 + 60, 410.0),
    ]


# -- the run loop -----------------------------------------------------------------------------


class FakePublisher:
    """Records messages; acknowledges at once; ``poll`` moves the fake wall clock on."""

    def __init__(self, wall: FakeWall) -> None:
        self.wall = wall
        self.messages: list[tuple[str, bytes]] = []
        self.polled = 0.0
        self.flushed = False

    @property
    def published(self) -> int:
        return len(self.messages)

    @property
    def acked(self) -> int:
        return len(self.messages)

    def publish(self, topic: str, payload: bytes) -> None:
        assert self.wall.now >= self._time_of(payload), "a reading from the future"
        self.messages.append((topic, payload))

    def poll(self, timeout: float) -> None:
        self.polled += timeout
        self.wall.now += timeout

    def flush(self, timeout: float) -> bool:
        self.flushed = True
        return True

    @staticmethod
    def _time_of(payload: bytes) -> float:
        doc = orjson.loads(payload)
        return float(doc[0]["bt"] if isinstance(doc, list) else doc["time"])

    def of(self, serial: str) -> list[bytes]:
        return [payload for topic, payload in self.messages if topic.split("/")[1] == serial]


def _run(
    fleet: list[SimDevice],
    faults: list[InjectedFault],
    *,
    hours: float,
    speed: float = 600.0,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[FakePublisher, Progress, SimClock]:
    wall = FakeWall(T0)
    publisher = FakePublisher(wall)
    clock = SimClock.replaying(history_s=DAY, speed=speed, wall=wall)
    final = run_fleet(
        fleet,
        faults,
        publisher,
        clock,
        step_s=60,
        until=clock.start + hours * HOUR,
        seed=5,
        on_progress=on_progress,
    )
    return publisher, final, clock


def test_run_sends_one_message_per_device_per_step() -> None:
    fleet = make_fleet(5, refrigerators=6, washing_machines=2)
    reports: list[Progress] = []
    publisher, final, _ = _run(fleet, [], hours=2, on_progress=reports.append)
    assert len(publisher.messages) == 8 * 120
    assert final == Progress(T0 - DAY + 2 * HOUR - 60, 960, 960, caught_up=False)
    assert reports[-1] == final
    assert publisher.flushed
    topics = {topic for topic, _ in publisher.messages}
    assert topics == {f"dt/{d.serial}/{default_format(d)}" for d in fleet}
    fridge = orjson.loads(publisher.of("FR-000001")[0])
    names = {r["n"] for r in fridge} if isinstance(fridge, list) else set(fridge["values"])
    assert names == {
        "cabinet_temp",
        "freezer_temp",
        "compressor_power",
        "door_open",
        "duty_cycle",
        "condenser_temp",
        "defrost",
    }


def test_about_one_device_in_four_speaks_json() -> None:
    fleet = make_fleet(1, refrigerators=300, washing_machines=100)
    formats = [default_format(d) for d in fleet]
    assert set(formats) == {"senml", "json"}
    assert formats.count("json") / len(formats) == pytest.approx(0.25, abs=0.07)
    assert formats == [default_format(d) for d in make_fleet(2, 300, 100)]  # by serial only


def test_run_replays_at_speed_and_then_goes_live() -> None:
    fleet = make_fleet(5, refrigerators=2, washing_machines=0)
    wall = FakeWall(T0)
    publisher = FakePublisher(wall)
    clock = SimClock.replaying(history_s=HOUR, speed=60.0, wall=wall)
    reports: list[tuple[float, Progress]] = []
    final = run_fleet(
        fleet,
        [],
        publisher,
        clock,
        until=T0 + 600,
        on_progress=lambda p: reports.append((wall.now, p)),
    )
    # An hour of history replays at 60x: the run meets the real clock after 3600/59 s.
    went_live, first_live = next((w, p) for w, p in reports if p.caught_up)
    assert went_live == pytest.approx(T0 + HOUR / 59, abs=0.5)
    assert first_live.sim_time == T0 + 60
    assert all(p.sim_time <= w for w, p in reports)
    # then real time: the last step (T0 + 540) was sent when the wall clock got there
    assert publisher.polled == pytest.approx(540, abs=0.3)
    assert final.caught_up
    assert final.sim_time == T0 + 540
    assert len(publisher.messages) == 2 * 70


def test_a_device_stream_does_not_depend_on_the_fleet_size() -> None:
    small, _, _ = _run(make_fleet(5, 2, 1), [], hours=1)
    large, _, _ = _run(make_fleet(5, 9, 7), [], hours=1)
    for serial in ("FR-000001", "FR-000002", "WM-000001"):
        assert small.of(serial) == large.of(serial)
        assert len(small.of(serial)) == 60
    again, _, _ = _run(make_fleet(5, 2, 1), [], hours=1)
    assert again.messages == small.messages


def test_run_applies_the_faults_to_their_device_only() -> None:
    fleet = make_fleet(5, refrigerators=3, washing_machines=0)
    start = T0 - DAY
    fault = InjectedFault("FR-000002", FaultKind.DOOR_LEFT_OPEN, start + HOUR, 4_800, 5_400)
    healthy, _, _ = _run(fleet, [], hours=3)
    faulty, _, _ = _run(fleet, [fault], hours=3)
    assert faulty.of("FR-000001") == healthy.of("FR-000001")
    assert faulty.of("FR-000003") == healthy.of("FR-000003")

    def door(payload: bytes) -> tuple[float, bool]:
        doc = orjson.loads(payload)
        if isinstance(doc, dict):
            return doc["time"], doc["values"]["door_open"]
        return doc[0]["bt"], next(r["vb"] for r in doc if r["n"] == "door_open")

    opened = [door(p) for p in faulty.of("FR-000002")]
    assert all(is_open for t, is_open in opened if start + HOUR <= t < start + HOUR + 5_400)
    assert len([1 for t, _ in opened if start + HOUR <= t < start + HOUR + 5_400]) == 90


def test_run_refuses_faults_for_unknown_or_wrong_devices() -> None:
    fleet = make_fleet(5, refrigerators=1, washing_machines=1)
    wall = FakeWall(T0)
    clock = SimClock(T0 - HOUR, wall=wall)
    for fault in (
        InjectedFault("FR-000009", FaultKind.COMPRESSOR_DEGRADATION, T0, 60),
        InjectedFault("WM-000001", FaultKind.COMPRESSOR_DEGRADATION, T0, 60),
    ):
        with pytest.raises(ValueError, match=fault.serial):
            run_fleet(fleet, [fault], FakePublisher(wall), clock, until=T0)


def test_run_stops_when_told() -> None:
    fleet = make_fleet(5, refrigerators=2, washing_machines=0)
    wall = FakeWall(T0)
    stop = threading.Event()
    publisher = FakePublisher(wall)

    def stop_after_ten_steps(progress: Progress) -> None:
        if publisher.published >= 20:
            stop.set()

    final = run_fleet(
        fleet,
        [],
        publisher,
        SimClock.replaying(DAY, speed=1_000, wall=wall),
        stop=stop,
        on_progress=stop_after_ten_steps,
        progress_every_s=0,
    )
    assert final.published == 20
