"""Tick-to-decision latency of ``binbot run`` fed over loopback by the local exchange.

The local exchange (its own process) replays real FILUSDT 1m candles; the service runs here with
one paper BOLL bot on 1m candles so it trades often. For every aggTrade: frame received by the
stream router -> the bot's decision done (its paper fill booked when it traded) -> the fill
committed to SQLite. Target (issue 3): p99 frame -> paper fill recorded <= 1 ms.

Usage: python benchmarks/bench_service_latency.py [--seconds 60] [--speed 600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics

from _service_probe import percentile, run_probe


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:34s} n=    0"
    return (f"{name:34s} n={len(values):6d}  p50={statistics.median(values):8.1f} us  "
            f"p99={percentile(values, 0.99):8.1f} us  max={max(values):9.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=600.0)
    args = parser.parse_args()
    probe = asyncio.run(run_probe(bots=1, speed=args.speed, seconds=args.seconds))
    print(f"binbot run, 1 paper BOLL bot (1m), local exchange at {args.speed:g}x, "
          f"{args.seconds:.0f} s measured, load average {os.getloadavg()[0]:.1f}")
    print(line("frame -> decision (every trade)", probe.decided))
    print(line("frame -> paper fill booked", probe.fills_decided))
    print(line("frame -> fill committed (SQLite)", probe.fills_recorded))
    print("target: p99 frame -> paper fill recorded <= 1000 us")


if __name__ == "__main__":
    main()
