"""Telemetry payloads as a device would send them: SenML packs and careline's JSON shape.

Pure; each function returns the message body as bytes (orjson). Units come from the caller,
normally the metric catalog (:func:`units_of`). Booleans go out as SenML ``vb`` without a
unit, numbers as ``v`` with their unit.

``senml_pack`` (one instant, every metric)::

    [{"bn":"urn:dev:serial:FR-000001:","bt":1763971200.0,"n":"cabinet_temp","u":"Cel","v":4.1},
     {"n":"compressor_power","u":"W","v":93.0},
     {"n":"door_open","vb":false}]

``senml_series`` (several instants, one base time, relative ``t`` offsets)::

    [{"bn":"urn:dev:serial:FR-000001:","bt":1763971200.0,"n":"cabinet_temp","u":"Cel","v":4.1},
     {"n":"cabinet_temp","u":"Cel","v":4.2,"t":60.0}]

``json_single`` and ``json_batch``::

    {"device":"FR-000001","time":1763971200.0,"values":{"cabinet_temp":4.1,"door_open":false}}
    {"device":"FR-000001","samples":[{"time":1763971200.0,"values":{...}}, ...]}

>>> senml_pack("FR-000001", 1763971200.0, {"door_open": False}, {"door_open": "/"})
b'[{"bn":"urn:dev:serial:FR-000001:","bt":1763971200.0,"n":"door_open","vb":false}]'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import orjson

from devices.catalog import DeviceType
from simulators.signals import Value

Values: TypeAlias = Mapping[str, Value]


def base_name(serial: str) -> str:
    """The SenML base name of a device: ``urn:dev:serial:FR-000001:``."""
    return f"urn:dev:serial:{serial}:"


def units_of(device_type: DeviceType) -> dict[str, str]:
    """metric key -> SenML unit, from the catalog."""
    return {key: spec.unit for key, spec in device_type.metrics.items()}


def _record(name: str, value: Value, units: Mapping[str, str]) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"n": name, "vb": value}
    return {"n": name, "u": units[name], "v": value}


def senml_pack(serial: str, t: float, values: Values, units: Mapping[str, str]) -> bytes:
    """One SenML pack: every value of ``values``, all taken at ``t`` (UTC epoch s)."""
    return senml_series(serial, [(t, values)], units)


def senml_series(
    serial: str, readings: Sequence[tuple[float, Values]], units: Mapping[str, str]
) -> bytes:
    """One SenML pack of several instants: ``bt`` is the first time, later records carry
    ``t`` offsets from it (absolute times, since ``bt`` is above 2**28).
    """
    if not readings or not any(values for _, values in readings):
        raise ValueError("a SenML pack needs at least one value")
    base_time = readings[0][0]
    records: list[dict[str, Any]] = []
    for t, values in readings:
        offset = t - base_time
        for name, value in values.items():
            record = _record(name, value, units)
            if not records:
                record = {"bn": base_name(serial), "bt": base_time, **record}
            if offset:
                record["t"] = offset
            records.append(record)
    return orjson.dumps(records)


def json_single(serial: str, t: float, values: Values) -> bytes:
    """careline's JSON shape for one instant."""
    if not values:
        raise ValueError("a JSON sample set needs at least one value")
    return orjson.dumps({"device": serial, "time": t, "values": dict(values)})


def json_batch(serial: str, readings: Sequence[tuple[float, Values]]) -> bytes:
    """careline's JSON batch shape: several instants of one device."""
    if not readings:
        raise ValueError("a JSON batch needs at least one sample set")
    return orjson.dumps(
        {
            "device": serial,
            "samples": [{"time": t, "values": dict(values)} for t, values in readings],
        }
    )
