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

import math
import os
import resource
import statistics
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import typer

from careline.bench.load import start_publishers
from careline.bootstrap import Endpoints, build_ingest, open_database, start_ingest
from careline.embedded.mosquitto import MosquittoProcess
from careline.embedded.services import EmbeddedPostgres
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


def _scratch_database(settings: Settings, stack: ExitStack) -> str:
    """A new database on the configured (or embedded) server, dropped on the way out."""
    server = settings.database.url
    if server is None:
        embedded = EmbeddedPostgres(settings.data_dir / "bench")
        server = embedded.start()
        stack.callback(embedded.stop)
    name = f"careline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return url


def _register(url: str, serials: list[str]) -> None:
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy("COPY devices (serial, device_type, model) FROM STDIN") as copy,
    ):
        for serial in serials:
            copy.write_row((serial, "refrigerator", "CoolFrost CF-300"))


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
        url = _scratch_database(settings, stack)
        mqtt = settings.mqtt.model_copy(
            update={"client_id": f"careline-bench-{uuid.uuid4().hex[:8]}"}
        )
        run_settings = settings.model_copy(update={"mqtt": mqtt})
        database = open_database(run_settings, url, catalog, stack, migrate_first=True)
        serials = [f"BENCH-{i:06d}" for i in range(options.devices)]
        _register(url, serials)
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


def report(result: BenchResult) -> None:
    if math.isnan(result.p50_ms):
        latency = f"n/a (the run was shorter than the {WARMUP_S:.0f} s warm-up)"
    else:
        latency = (
            f"p50 {result.p50_ms:,.1f} ms   p99 {result.p99_ms:,.1f} ms   "
            f"(after the first {WARMUP_S:.0f} s)"
        )
    typer.echo(
        f"\nmachine: {os.cpu_count()} cores\n"
        f"published / committed messages   {result.published:,} / {result.messages:,}\n"
        f"committed readings               {result.readings:,}\n"
        f"dead letters                     {result.dead_letters:,}\n"
        f"first publish -> last commit     {result.elapsed_s:.1f} s\n"
        f"readings/s (publish -> commit)   {result.readings_per_s:,.0f}\n"
        f"messages/s (publish -> commit)   {result.messages_per_s:,.0f}\n"
        f"latency publish -> commit        {latency}\n"
        f"detector state per device        mean {result.state_kb_mean:.1f} KB   "
        f"max {result.state_kb_max:.1f} KB\n"
        f"ingest process resident memory   {result.rss_mb:,.0f} MB"
    )


def run_bench(settings: Settings, options: BenchOptions) -> int:
    result = measure(settings, options)
    report(result)
    lost = result.published - result.messages
    if lost > 0:
        typer.echo(f"ERROR: {lost:,} published messages were not committed", err=True)
        return 1
    return 0


def run_suite(settings: Settings, options: BenchOptions) -> int:
    """The issue's targets, one run each, then a table of figures against targets."""
    base = replace(options, messages_per_second=0)
    packs = measure(settings, replace(base, readings_per_message=10))
    report(packs)
    singles = measure(settings, replace(base, readings_per_message=1))
    report(singles)
    half = int(packs.messages_per_s / 2)
    paced = measure(settings, replace(base, readings_per_message=10, messages_per_second=half))
    report(paced)
    rows = [
        (
            "readings/s, 10 readings/message",
            f"{packs.readings_per_s:,.0f}",
            ">= 100,000",
            packs.readings_per_s >= 100_000,
        ),
        (
            "messages/s, 1 reading/message",
            f"{singles.messages_per_s:,.0f}",
            ">= 15,000",
            singles.messages_per_s >= 15_000,
        ),
        (
            f"latency p50 at {half:,} msg/s (half)",
            f"{paced.p50_ms:,.1f} ms",
            "<= 50 ms",
            paced.p50_ms <= 50,
        ),
        (
            f"latency p99 at {half:,} msg/s (half)",
            f"{paced.p99_ms:,.1f} ms",
            "<= 250 ms",
            paced.p99_ms <= 250,
        ),
        (
            "detector state per device (max)",
            f"{packs.state_kb_max:.1f} KB",
            "<= 20 KB",
            packs.state_kb_max <= 20,
        ),
        (
            f"ingest RSS, {options.devices:,} devices",
            f"{max(packs.rss_mb, singles.rss_mb):,.0f} MB",
            "<= 400 MB",
            max(packs.rss_mb, singles.rss_mb) <= 400,
        ),
    ]
    typer.echo(f"\n{'figure':<44}{'measured':>14}  {'target':<12} met   ({os.cpu_count()} cores)")
    for name, value, target, met in rows:
        typer.echo(f"{name:<44}{value:>14}  {target:<12} {'yes' if met else 'NO'}")
    # Redelivery after a reconnect can commit a message twice (idempotently): only fewer
    # committed than published is a loss.
    lost = sum(max(0, r.published - r.messages) for r in (packs, singles, paced))
    return 1 if lost else 0


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
