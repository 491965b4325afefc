"""A simulated fleet run for ``demo`` and ``simulate``: plan, register, publish in a thread.

Faults are planned on devices that have an owner (so they become tickets) and after the
detectors' warm-up (so they can be detected): the warm-up is read from the catalog. Besides
the ``faults`` asked for, one production batch gets the same fault on several devices (a
bad lot of parts), which the fleet view groups into a product issue.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from careline.demo.seed import is_owned, seed_crm, seed_service
from crm_core.kernel.broker_login import BrokerLogin
from devices.catalog import Catalog, load_catalog
from simulators.clock import SimClock
from simulators.fault_plans import plan_batch_fault, plan_faults
from simulators.fault_profiles import PROFILES, FaultKind
from simulators.faults import InjectedFault
from simulators.fleet import HEAT_PUMP, SimDevice, make_fleet
from simulators.publisher import Publisher
from simulators.run import Progress, run_fleet

log = logging.getLogger(__name__)

HEAT_PUMPS = 2
"""Heat pumps beside the fridges and washers (appended: the others stay as they were). They
report normal telemetry (weather, defrost cycles) and get no injected fault, so the demo's
story is the same with them."""
STORY_KINDS = tuple(kind for kind in FaultKind if PROFILES[kind].device_type != HEAT_PUMP)
"""The fault kinds the story draws from: the same plan as before there were heat pumps."""

HOUR = 3600.0


def warmup_seconds(catalog: Catalog) -> float:
    """Device time the slowest detector needs before it may open a fault."""
    return max(
        (
            m.detector.warmup * m.detector.window_s
            for t in catalog.device_types.values()
            for m in t.metrics.values()
            if m.detector is not None
        ),
        default=0.0,
    )


@dataclass
class FleetRun:
    fleet: list[SimDevice]
    faults: list[InjectedFault]
    clock: SimClock
    seed: int
    catalog: Catalog
    resumed: bool = False  # going on from an earlier run's data and faults
    progress: Progress | None = None
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @classmethod
    def plan(
        cls,
        *,
        devices: int,
        faults: int,
        history_hours: float,
        speed: float,
        seed: int,
        saved: Path | None = None,
        resume_from: float | None = None,
    ) -> FleetRun:
        """A new run; or, with a plan ``saved`` by an earlier run and the time of the latest
        stored reading, the same fleet and faults going on from where the data stops (a
        restart neither stores history twice nor heals a failing compressor)."""
        catalog = load_catalog()
        refrigerators = max(1, round(devices * 0.6))
        fleet = make_fleet(seed, refrigerators, devices - refrigerators, HEAT_PUMPS)
        if saved is not None and saved.exists() and resume_from is not None:
            plan = json.loads(saved.read_text("utf-8"))
            if plan.get("seed") == seed and plan.get("devices") == devices:
                resumed = [InjectedFault(**fault) for fault in plan["faults"]]
                clock = SimClock(resume_from + 60, speed)
                return cls(fleet, resumed, clock, seed, catalog, resumed=True)
        clock = SimClock.replaying(history_hours * HOUR, speed)
        owned = [device for index, device in enumerate(fleet) if is_owned(index)]
        warm = clock.start + warmup_seconds(catalog) + HOUR
        latest = clock.real_now() - 6 * HOUR  # leave time for a slow fault to show
        planned: list[InjectedFault] = []
        if faults and latest > warm:
            window = (warm, min(latest, warm + 3 * HOUR))
            planned = plan_faults(owned, faults, seed, window, kinds=STORY_KINDS)
            # One bad lot besides: the same fault on several devices of one production
            # batch, for the fleet view to group into a product issue.
            planned = sorted(
                planned + plan_batch_fault(owned, [f.serial for f in planned], warm),
                key=lambda f: (f.onset, f.serial),
            )
        elif faults:
            log.warning(
                "%.0f h of history is too short for faults to be detected (warm-up %.0f h)",
                history_hours,
                warmup_seconds(catalog) / HOUR,
            )
        run = cls(fleet, planned, clock, seed, catalog)
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(
                json.dumps(
                    {
                        "seed": seed,
                        "devices": devices,
                        "faults": [dataclasses.asdict(fault) for fault in planned],
                    }
                ),
                "utf-8",
            )
        return run

    def register(self, conn: psycopg.Connection[TupleRow]) -> int:
        """The demo CRM and every device of the fleet (already registered ones stay), and
        the service team: technicians and a few service contracts."""
        today = datetime.now(UTC).date()
        added = seed_crm(conn, self.fleet, seed=self.seed, today=today)
        seed_service(conn, today=today)
        return added

    def start(
        self, host: str, port: int, stack: ExitStack, login: BrokerLogin | None = None
    ) -> None:
        self._thread = threading.Thread(
            target=self._run,
            args=(host, port, login or BrokerLogin()),
            name="simulator",
            daemon=True,
        )
        self._thread.start()
        stack.callback(self.stop)

    def _run(self, host: str, port: int, login: BrokerLogin) -> None:
        try:
            with Publisher(
                host,
                port,
                client_id=f"careline-simulator-{self.seed}",
                username=login.username,
                password=login.password,
                tls=login.tls,
            ) as publisher:
                run_fleet(
                    self.fleet,
                    self.faults,
                    publisher,
                    self.clock,
                    stop=self._stop,
                    on_progress=self._on_progress,
                    seed=self.seed,
                    catalog=self.catalog,
                )
        except Exception as exc:
            log.exception("the simulator stopped")
            self.error = exc

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def describe(self, progress: Progress) -> str:
        when = datetime.fromtimestamp(progress.sim_time, UTC).strftime("%Y-%m-%d %H:%M UTC")
        mode = "live" if progress.caught_up else f"replaying at {self.clock.speed:g}x"
        return f"simulated time {when} ({mode}); {progress.published:,} messages published"
