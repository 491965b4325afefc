"""Detector checkpoints are explicit, versioned documents: reading one never runs code,
pickles of the previous format load once through a fence, and a rolling upgrade loads."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from devices.catalog import Catalog
from devices.detection import FleetDetectors
from devices.detection.checkpoint import VERSION, is_document
from devices.errors import DetectorStateError
from tests.unit.test_relation import DAY_MINUTES, feed

# Written by commit 8b4f420 (format 1, a pickle with river's Rust statistics inside):
# device 1, a refrigerator fed DAY_MINUTES + 7 minutes of duty cycle and power (seed 5).
V1_PICKLE = Path(__file__).parent / "data" / "detector_state_v1_pickle.pickle"


def trained(catalog: Catalog) -> FleetDetectors:
    fleet = FleetDetectors(catalog)
    feed(fleet, range(DAY_MINUTES + 7), 211.0, 1.0, 5)
    return fleet


def test_a_format_1_pickle_loads_once_and_goes_on_exactly_as_before(catalog: Catalog) -> None:
    original = trained(catalog)
    upgraded = FleetDetectors(catalog)
    assert upgraded.restore(1, V1_PICKLE.read_bytes()) is True  # legacy: save it again
    again = upgraded.state_bytes(1)
    assert is_document(again)
    assert again == original.state_bytes(1)  # the same numbers, now as a document
    later = range(DAY_MINUTES + 7, DAY_MINUTES + 300)
    events = feed(original, later, 274.0, 1.0, 6)
    assert {(e.metric, e.detector) for e in events} == {
        ("compressor_power", "regression"),
        ("compressor_power", "standard_score"),
    }
    assert feed(upgraded, later, 274.0, 1.0, 6) == events
    assert FleetDetectors(catalog).restore(1, again) is False  # a document: nothing to redo


class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


class _Climb:
    def __reduce__(self) -> tuple[object, tuple[object, str]]:
        return (getattr, (FleetDetectors.restore, "__globals__"))


def test_reading_a_planted_pickle_runs_nothing(catalog: Catalog, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    planted = pickle.dumps((1, 5, {"cabinet_temp": _Boom(marker)}), pickle.HIGHEST_PROTOCOL)
    with pytest.raises(DetectorStateError, match="not allowed"):
        FleetDetectors(catalog).restore(5, planted)
    assert not marker.exists()
    for gadget in (eval, _Climb()):  # a global, and getattr towards a module's globals
        planted = pickle.dumps((1, 5, {"x": gadget}), pickle.HIGHEST_PROTOCOL)
        with pytest.raises(DetectorStateError, match="not allowed"):
            FleetDetectors(catalog).restore(5, planted)


def test_a_document_round_trips_to_the_same_bytes(catalog: Catalog) -> None:
    fleet = trained(catalog)
    data = fleet.state_bytes(1)
    other = FleetDetectors(catalog)
    other.restore(1, data)
    assert other.state_bytes(1) == data
    assert data.startswith(b'{"format":"careline.detector-state"')


def _document(catalog: Catalog) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(trained(catalog).state_bytes(1))
    return loaded


def test_a_newer_release_adding_fields_still_loads(catalog: Catalog) -> None:
    """Rolling upgrade: fields this code does not know are ignored."""
    document = _document(catalog)
    document["sharding"] = {"partition": 3}
    monitors = document["monitors"]
    assert isinstance(monitors, list)
    for entry in monitors:
        entry["confidence"] = 0.9
        entry["detector"]["calibration"] = [1, 2, 3]
    fleet = FleetDetectors(catalog)
    fleet.restore(1, json.dumps(document).encode())
    assert fleet.state_bytes(1) == trained(catalog).state_bytes(1)


def test_an_older_document_missing_counters_still_loads(catalog: Catalog) -> None:
    document = _document(catalog)
    monitors = document["monitors"]
    assert isinstance(monitors, list)
    for entry in monitors:
        del entry["late"], entry["open_windows"]
    fleet = FleetDetectors(catalog)
    fleet.restore(1, json.dumps(document).encode())
    monitor = fleet.monitor(1, "compressor_power")
    assert monitor is not None
    assert monitor.late == 0


def test_a_version_this_code_cannot_read_is_refused_not_misread(catalog: Catalog) -> None:
    document = _document(catalog)
    document["version"] = VERSION + 1
    with pytest.raises(DetectorStateError, match="version"):
        FleetDetectors(catalog).restore(1, json.dumps(document).encode())
    document["version"], document["device"] = VERSION, 2
    with pytest.raises(DetectorStateError, match="belongs to device 2"):
        FleetDetectors(catalog).restore(1, json.dumps(document).encode())
    with pytest.raises(DetectorStateError, match="malformed"):
        FleetDetectors(catalog).restore(
            1, json.dumps({**document, "device": 1, "monitors": [{"key": "x"}]}).encode()
        )
