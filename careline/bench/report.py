"""What ``careline bench`` prints: one run's figures, or the suite's figures against targets.

Each returns the process exit code: 1 when a published message was not committed.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

import typer

from careline.bench.measure import WARMUP_S, BenchOptions, BenchResult, measure
from careline.settings import Settings


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
