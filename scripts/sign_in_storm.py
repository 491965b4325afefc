"""Measure what parallel wrong-password sign-ins do to API reads and the server's memory.

    python scripts/sign_in_storm.py --url http://127.0.0.1:8000 --key cl_... \\
        --email admin@example.com [--pid <server pid>] [--parallel 32]

Reads ``/api/v1/tickets`` with the key 20 times (before), then sends ``--parallel``
wrong-password sign-ins at once while reading in a loop (during), and prints median and
max read latency for both, the sign-ins' status codes, and the server's peak RSS (from
/proc, when ``--pid`` is given). Talks only to the given local server.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import httpx


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--parallel", type=int, default=32)
    args = parser.parse_args()
    reader = httpx.Client(base_url=args.url, headers={"X-API-Key": args.key}, timeout=120)

    def timed() -> float:
        started = time.perf_counter()
        reader.get("/api/v1/tickets").raise_for_status()
        return (time.perf_counter() - started) * 1000

    before = [timed() for _ in range(20)]
    rss_before = rss_mb(args.pid) if args.pid else 0.0
    statuses: Counter[int] = Counter()
    done = threading.Event()
    during: list[float] = []
    peak = [rss_before]

    # one client for all guesses (64 connections): making a client per request costs the
    # load generator more CPU (TLS contexts) than the server spends, and skews the figures
    guesser = httpx.Client(
        base_url=args.url, timeout=120, limits=httpx.Limits(max_connections=args.parallel)
    )

    def guess(i: int) -> None:
        answer = guesser.post(
            "/console/sign-in", data={"email": args.email, "password": f"wrong guess {i}"}
        )
        statuses[answer.status_code] += 1

    def read() -> None:
        while not done.is_set():
            during.append(timed())

    def watch() -> None:
        while not done.is_set() and args.pid:
            peak[0] = max(peak[0], rss_mb(args.pid))
            time.sleep(0.05)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(args.parallel)]
    helpers = [threading.Thread(target=read), threading.Thread(target=watch)]
    started = time.perf_counter()
    for thread in helpers + threads:
        thread.start()
    for thread in threads:
        thread.join()
    storm_s = time.perf_counter() - started
    done.set()
    for thread in helpers:
        thread.join()
    print(f"reads before: median {statistics.median(before):.1f} ms, max {max(before):.1f} ms")
    print(
        f"reads during {args.parallel} parallel wrong sign-ins: median "
        f"{statistics.median(during):.1f} ms, max {max(during):.1f} ms ({len(during)} reads)"
    )
    print(f"sign-ins: {dict(statuses)} in {storm_s:.2f} s")
    if args.pid:
        print(f"server RSS: {rss_before:.0f} MB before, {peak[0]:.0f} MB peak during")


if __name__ == "__main__":
    main()
