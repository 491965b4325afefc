"""The simulated fleet's production batches, and the bad lot the demo injects."""

from __future__ import annotations

from collections import Counter

from simulators.fault_plans import plan_batch_fault
from simulators.fault_profiles import FaultKind
from simulators.fleet import MODELS, make_fleet


def test_every_device_has_a_batch_of_its_model_and_the_same_one_every_time() -> None:
    fleet = make_fleet(7, 18, 12)
    assert make_fleet(7, 18, 12) == fleet
    for device in fleet:
        [spec] = [m for m in MODELS[device.device_type] if m.name == device.model]
        assert device.production_batch in spec.batches
    # a bigger fleet appends devices and changes none of those already there
    assert make_fleet(7, 30, 20)[:18] == fleet[:18]


def test_the_bad_lot_is_one_batch_of_three_or_more_fridges_not_already_faulty() -> None:
    fleet = make_fleet(7, 18, 12)
    taken = ["FR-000005"]
    lot = plan_batch_fault(fleet, taken, 1_000_000.0, devices=4, stagger_s=600.0)
    by_serial = {d.serial: d for d in fleet}
    assert 3 <= len(lot) <= 4
    assert len({by_serial[f.serial].production_batch for f in lot}) == 1
    assert all(f.kind is FaultKind.COMPRESSOR_DEGRADATION for f in lot)
    assert "FR-000005" not in {f.serial for f in lot}
    assert [f.onset for f in lot] == [1_000_000.0 + 600.0 * i for i in range(len(lot))]
    batch = by_serial[lot[0].serial].production_batch
    sizes = Counter(
        d.production_batch
        for d in fleet
        if d.device_type == "refrigerator" and d.serial not in taken
    )
    assert sizes[batch] == max(sizes.values())


def test_no_bad_lot_when_no_batch_has_three_free_devices() -> None:
    fleet = make_fleet(7, 4, 0)
    assert plan_batch_fault(fleet, [d.serial for d in fleet[:3]], 0.0) == []
