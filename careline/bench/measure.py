"""``careline bench``: readings/s and publish->commit latency through the real path.

Publishers (separate processes, so they do not share the worker's interpreter lock) send
SenML packs at QoS 1 to a Mosquitto broker; one ingest worker in this process decodes,
validates, runs the detectors, COPYs into PostgreSQL, commits and only then acknowledges.
Every reading's device time is the instant it was published, so commit time minus device
time is the publish->commit latency of that reading.

It runs in a scratch database created on the configured server (or the embedded one) and
dropped afterwards, with its own registered devices.
"""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import typer

from careline.bench.load import start_publishers
from careline.bench.scratch import register_devices, scratch_database
from careline.bootstrap import Endpoints, build_ingest, open_database, start_ingest
from careline.embedded.mosquitto import MosquittoProcess
from careline.settings import Settings
from devices.catalog import load_catalog
from ingest.batch import Batch
from ingest.outcome import WriteResult


@dataclass(frozen=True, slots=True)
class BenchOptions:
    messages_per_second: int
    readings_per_message: int
    seconds: float
    devices: int
    publishers: int
    mosquitto: str | None
    profile: Path | None
    keep_database: bool = False


WARMUP_S = 10.0
"""Latency samples start this long after publishing does: the first seconds import river and
create a monitor for every device and metric, which is start-up, not the steady state."""


class Recorder:
    """Commit observer: counts and latency samples, from the writer thread."""

    def __init__(self) -> None:
        self.sample_after = float("inf")
        self.messages = 0
        self.readings = 0
        self.latencies: list[float] = []
        self.first_commit: float | None = None
        self.last_commit = 0.0
        self._lock = threading.Lock()

    def __call__(self, batch: Batch, result: WriteResult, committed_at: float) -> None:
        rows = batch.rows
        with self._lock:
            if self.first_commit is None:
                self.first_commit = committed_at
            self.last_commit = committed_at
            self.messages += len(batch.messages)
            self.readings += len(rows)
            if committed_at >= self.sample_after:
                self.latencies.extend(committed_at - row[2] for row in rows[::10])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True, slots=True)
class BenchResult:
    published: int
    messages: int
    readings: int
    elapsed_s: float
    p50_ms: float
    p99_ms: float
    rss_mb: float
    state_kb_mean: float
    state_kb_max: float
    dead_letters: int

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _broker(settings: Settings, options: BenchOptions, stack: ExitStack) -> tuple[str, int]:
    if settings.mqtt.host is not None and not options.mosquitto:
        return settings.mqtt.host, settings.mqtt.port
    broker = MosquittoProcess(options.mosquitto).start()
    stack.callback(broker.close)
    return "127.0.0.1", broker.port


def measure(settings: Settings, options: BenchOptions) -> BenchResult:
    """One run: private broker, scratch database, one ingest worker, N publishers."""
    catalog = load_catalog()
    with ExitStack() as stack:
        host, port = _broker(settings, options, stack)
        url = scratch_database(settings, stack)
        mqtt = settings.mqtt.model_copy(
            update={"client_id": f"careline-bench-{uuid.uuid4().hex[:8]}"}
        )
        run_settings = settings.model_copy(update={"mqtt": mqtt})
        database = open_database(run_settings, url, catalog, stack, migrate_first=True)
        serials = [f"BENCH-{i:06d}" for i in range(options.devices)]
        register_devices(url, serials)
        ingest = build_ingest(
            run_settings, Endpoints(url, host, port, False, False), database, catalog
        )
        recorder = Recorder()
        ingest.worker.add_observer(recorder)
        start_ingest(ingest, stack)
        offered = (
            f"{options.messages_per_second:,} messages/s offered"
            if options.messages_per_second
            else "as fast as the publishers go"
        )
        typer.echo(
            f"{database.capabilities.describe()}\n"
            f"ingest: MQTT {ingest.source.protocol}, QoS 1, ack after commit, detection "
            f"{'on' if settings.ingest.detection else 'off'}; {options.devices:,} devices; "
            f"{options.publishers} publisher process(es); "
            f"{options.readings_per_message} readings/message; {offered}"
        )
        start_at = time.time() + 2.0
        recorder.sample_after = start_at + WARMUP_S
        processes, dones, results = start_publishers(host, port, serials, options, start_at)
        profiler = _PySpy(options.profile, options.seconds) if options.profile else None
        while time.time() < start_at:
            time.sleep(0.05)
        last_time, last_readings = time.time(), 0
        while not all(done.is_set() for done in dones):
            time.sleep(5)
            now, readings = time.time(), recorder.readings
            typer.echo(
                f"  t={now - start_at:4.0f} s  committed {recorder.messages:>10,} messages "
                f"{readings:>11,} readings ({(readings - last_readings) / (now - last_time):>9,.0f}"
                f" readings/s)  backlog {ingest.worker.backlog:,}  rss {_rss_mb():,.0f} MB"
            )
            last_time, last_readings = now, readings
        published = sum(results.get(timeout=60)[1] for _ in processes)
        for process in processes:
            process.join(10)
        deadline = time.time() + 120
        next_report = time.time() + 5
        while recorder.messages < published and time.time() < deadline:
            time.sleep(0.1)
            if time.time() >= next_report:
                next_report += 5
                typer.echo(
                    f"  draining: {published - recorder.messages:,} messages to go, "
                    f"backlog {ingest.worker.backlog:,}, rss {_rss_mb():,.0f} MB"
                )
        if profiler is not None:
            profiler.wait(60)
        sizes = [0]
        if ingest.detectors is not None:
            sizes = [
                len(ingest.detectors.state_bytes(i + 1)) for i in range(min(200, len(serials)))
            ]
        return BenchResult(
            published=published,
            messages=recorder.messages,
            readings=recorder.readings,
            elapsed_s=recorder.last_commit - start_at,
            p50_ms=_percentile(recorder.latencies, 0.5) * 1000,
            p99_ms=_percentile(recorder.latencies, 0.99) * 1000,
            rss_mb=_rss_mb(),
            state_kb_mean=statistics.mean(sizes) / 1024,
            state_kb_max=max(sizes) / 1024,
            dead_letters=ingest.worker.stats.dead_letters,
        )


class _PySpy:
    """py-spy sampling this process (all threads) into a flame graph."""

    def __init__(self, path: Path, seconds: float) -> None:
        import shutil
        import subprocess

        binary = shutil.which("py-spy")
        if binary is None:
            raise typer.BadParameter("--profile needs py-spy (pip install py-spy)")
        self._process = subprocess.Popen(  # noqa: S603 - py-spy on our own pid
            [
                binary,
                "record",
                "--pid",
                str(os.getpid()),
                "--duration",
                str(int(seconds)),
                "--output",
                str(path),
                "--threads",
                "--nonblocking",
                "--format",
                {".txt": "raw", ".json": "speedscope"}.get(path.suffix, "flamegraph"),
            ],
        )

    def wait(self, timeout: float) -> None:
        self._process.wait(timeout)
