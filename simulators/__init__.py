"""Simulated appliances that publish realistic telemetry, with labelled faults, over MQTT.

The simulator feeds the whole telemetry path (broker -> ingest -> TimescaleDB -> detectors
-> tickets) for the demo, the end-to-end tests and benchmarks. Pure parts and I/O are apart:

- :mod:`simulators.fleet`: the devices (serials ``FR-000001``..., ``WM-000001``..., models,
  firmware, personal quirks), deterministic per seed; the CRM seed data registers the same.
- :mod:`simulators.signals`: healthy readings from the metric catalog's ``typical`` values,
  with a daily cycle and seeded noise per device.
- :mod:`simulators.fault_profiles`: the fault kinds (compressor degradation, bearing wear,
  door left open ...) and what each does to its appliance type's metrics, as data.
- :mod:`simulators.faults`: injectable faults with ground-truth labels, applied to readings.
- :mod:`simulators.fault_plans`: the seeded fault planner (spread over a fleet, or one
  production batch).
- :mod:`simulators.clock`: simulated time that replays history fast, then runs live, never
  ahead of the real clock.
- :mod:`simulators.payloads`: SenML packs and careline's JSON shape, as bytes.
- :mod:`simulators.publisher`: the I/O, a fast paho-mqtt QoS 1 publisher with a cap on
  messages in flight, over :mod:`simulators.broker_link`, the connection that reconnects
  when the broker restarts.
- :mod:`simulators.run`: :func:`~simulators.run.run_fleet`, the loop that ties them
  together; it prints nothing and reports :class:`~simulators.run.Progress` to a callback.

Typical use (the CLI wires the same)::

    fleet = make_fleet(seed, refrigerators=40, washing_machines=20)
    clock = SimClock.replaying(history_s=2 * 86_400, speed=600)
    faults = plan_faults(fleet, 3, seed, window=(clock.start + 86_400, clock.real_now()))
    with Publisher("127.0.0.1", 1883) as publisher:
        run_fleet(fleet, faults, publisher, clock, seed=seed, stop=stop_event)
"""
