"""The load ``careline bench`` offers: SenML packs from publisher processes, paced or flat out.

Publishers run in their own processes so that they do not share the ingest worker's
interpreter lock; each caps its QoS 1 messages in flight (simulators.publisher).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as MpEvent
from typing import Protocol


class LoadOptions(Protocol):
    """What the load needs of the bench's options (0 messages/s: as fast as it goes)."""

    @property
    def messages_per_second(self) -> int: ...

    @property
    def readings_per_message(self) -> int: ...

    @property
    def seconds(self) -> float: ...

    @property
    def publishers(self) -> int: ...


BENCH_METRICS = ("cabinet_temp", "compressor_power", "freezer_temp")
BENCH_BASE = {"cabinet_temp": 4.0, "compressor_power": 95.0, "freezer_temp": -18.0}


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


def start_publishers(
    host: str, port: int, serials: list[str], options: LoadOptions, start_at: float
) -> tuple[list[BaseProcess], list[MpEvent], mp.Queue[tuple[int, int, int]]]:
    ctx = mp.get_context("spawn")
    results: mp.Queue[tuple[int, int, int]] = ctx.Queue()
    processes: list[BaseProcess] = []
    dones: list[MpEvent] = []
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
    return processes, dones, results
