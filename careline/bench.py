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

import multiprocessing as mp
import os
import resource
import statistics
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path

import psycopg
import typer

from careline.bootstrap import Endpoints, build_ingest, open_database, start_ingest
from careline.embedded import EmbeddedPostgres
from careline.mosquitto import MosquittoProcess
from careline.settings import Settings
from devices.catalog import load_catalog
from ingest.batch import Batch
from ingest.store import WriteResult

BENCH_METRICS = ("cabinet_temp", "compressor_power", "freezer_temp")
BENCH_BASE = {"cabinet_temp": 4.0, "compressor_power": 95.0, "freezer_temp": -18.0}


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


def bench_payload(serial: str, now: float, readings: int, counter: int) -> bytes:
    """A SenML pack of ``readings`` records whose times end at ``now``."""
    records = []
    for i in range(readings):
        metric = BENCH_METRICS[i % 3]
        value = BENCH_BASE[metric] + ((counter + i) % 17) * 0.05
        if i == 0:
            records.append(
                f'{{"bn":"urn:dev:serial:{serial}:","bt":{now:.6f},"n":"{metric}","v":{value:.3f}}}'
            )
        else:
            records.append(f'{{"n":"{metric}","t":{-i * 1e-4:.4f},"v":{value:.3f}}}')
    return ("[" + ",".join(records) + "]").encode()


def _publisher_main(
    index: int,
    host: str,
    port: int,
    serials: list[str],
    rate: float,
    seconds: float,
    readings: int,
    start_at: float,
    done: MpEvent,
    results: mp.Queue[tuple[int, int, int]],
) -> None:
    """One publisher process: paced (or as fast as it can) QoS 1 publishing."""
    from simulators.publisher import Publisher

    publisher = Publisher(host, port, client_id=f"careline-bench-pub-{index}-{os.getpid()}")
    try:
        while time.time() < start_at:
            time.sleep(0.001)
        begin = time.time()
        end = begin + seconds
        sent = 0
        count = len(serials)
        while True:
            now = time.time()
            if now >= end:
                break
            if rate > 0:
                due = int((now - begin) * rate)
                if sent >= due:
                    time.sleep(min(0.002, (sent + 1) / rate - (now - begin)))
                    continue
                burst = min(due - sent, 500)
            else:
                burst = 200
            for _ in range(burst):
                serial = serials[sent % count]
                publisher.publish(
                    f"dt/{serial}/senml", bench_payload(serial, time.time(), readings, sent)
                )
                sent += 1
        publisher.flush(120)
        results.put((index, sent, publisher.acked))
    finally:
        publisher.close()
        done.set()


class Recorder:
    """Commit observer: counts and latency samples, from the writer thread."""

    def __init__(self) -> None:
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
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY devices (serial, device_type, model) FROM STDIN") as copy:
            for serial in serials:
                copy.write_row((serial, "refrigerator", "CoolFrost CF-300"))


def run_bench(settings: Settings, options: BenchOptions) -> int:
    cores = os.cpu_count() or 0
    catalog = load_catalog()
    with ExitStack() as stack:
        if settings.mqtt.host is None or options.mosquitto:
            broker = MosquittoProcess(options.mosquitto).start()
            stack.callback(broker.close)
            host, port = "127.0.0.1", broker.port
            typer.echo(f"private mosquitto on 127.0.0.1:{port}")
        else:
            host, port = settings.mqtt.host, settings.mqtt.port
        url = _scratch_database(settings, stack)
        typer.echo("scratch database: migrating and registering devices ...")
        run_settings = settings.model_copy(
            update={
                "mqtt": settings.mqtt.model_copy(
                    update={"client_id": f"careline-bench-{uuid.uuid4().hex[:8]}"}
                )
            }
        )
        database = open_database(run_settings, url, catalog, stack, migrate_first=True)
        serials = [f"BENCH-{i:06d}" for i in range(options.devices)]
        _register(url, serials)
        endpoints = Endpoints(url, host, port, False, False)
        ingest = build_ingest(run_settings, endpoints, database, catalog)
        recorder = Recorder()
        ingest.worker.add_observer(recorder)
        start_ingest(ingest, stack)
        typer.echo(
            f"{database.capabilities.describe()}\n"
            f"ingest: MQTT {ingest.source.protocol}, QoS 1, ack after commit, detection "
            f"{'on' if settings.ingest.detection else 'off'}; {options.devices:,} devices; "
            f"{options.publishers} publisher process(es); "
            f"{options.readings_per_message} readings/message; "
            + (
                f"{options.messages_per_second:,} messages/s offered"
                if options.messages_per_second
                else "as fast as the publishers go"
            )
        )

        ctx = mp.get_context("spawn")
        results: mp.Queue[tuple[int, int, int]] = ctx.Queue()
        dones = []
        processes = []
        start_at = time.time() + 2.0
        rate = options.messages_per_second / options.publishers
        for index in range(options.publishers):
            done = ctx.Event()
            process = ctx.Process(
                target=_publisher_main,
                args=(
                    index,
                    host,
                    port,
                    serials[index :: options.publishers],
                    rate,
                    options.seconds,
                    options.readings_per_message,
                    start_at,
                    done,
                    results,
                ),
                daemon=True,
            )
            process.start()
            processes.append(process)
            dones.append(done)

        profiler = None
        if options.profile is not None:
            profiler = _start_py_spy(options.profile, options.seconds)

        while time.time() < start_at:
            time.sleep(0.05)
        last_time, last_readings = time.time(), 0
        while not all(done.is_set() for done in dones):
            time.sleep(5)
            now = time.time()
            readings = recorder.readings
            typer.echo(
                f"  t={now - start_at:5.0f} s  committed {recorder.messages:>10,} messages "
                f"{readings:>11,} readings  ({(readings - last_readings) / (now - last_time):,.0f}"
                f" readings/s)  backlog {ingest.worker.backlog:,}"
            )
            last_time, last_readings = now, readings
        published = sum(results.get(timeout=30)[1] for _ in processes)
        for process in processes:
            process.join(10)
        deadline = time.time() + 120
        while recorder.messages < published and time.time() < deadline:
            time.sleep(0.1)
        if profiler is not None:
            profiler.wait(30)

        elapsed = recorder.last_commit - start_at
        steady = [lat for lat in recorder.latencies]
        state_sizes = (
            [len(ingest.detectors.state_bytes(i)) for i in range(1, min(options.devices, 200) + 1)]
            if ingest.detectors is not None
            else []
        )
        typer.echo("")
        typer.echo(f"machine: {cores} cores; Python ingest worker pid {os.getpid()}")
        typer.echo(f"published messages       {published:,}")
        typer.echo(f"committed messages       {recorder.messages:,}")
        typer.echo(f"committed readings       {recorder.readings:,}")
        typer.echo(f"dead letters             {ingest.worker.stats.dead_letters:,}")
        typer.echo(f"first publish->last commit {elapsed:.1f} s")
        typer.echo(f"readings/s (publish->commit) {recorder.readings / elapsed:,.0f}")
        typer.echo(f"messages/s (publish->commit) {recorder.messages / elapsed:,.0f}")
        typer.echo(
            f"latency publish->commit  p50 {_percentile(steady, 0.5) * 1000:,.1f} ms  "
            f"p99 {_percentile(steady, 0.99) * 1000:,.1f} ms"
        )
        if state_sizes:
            typer.echo(
                f"detector state per device  mean {statistics.mean(state_sizes) / 1024:.1f} KB"
                f"  max {max(state_sizes) / 1024:.1f} KB"
            )
        typer.echo(f"ingest process resident memory {_rss_mb():,.0f} MB")
        lost = published - recorder.messages
        if lost:
            typer.echo(f"WARNING: {lost:,} published messages were not committed", err=True)
            return 1
    return 0


def _start_py_spy(path: Path, seconds: float) -> _PySpy:
    return _PySpy(path, seconds)


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
            ],
        )

    def wait(self, timeout: float) -> None:
        self._process.wait(timeout)
