"""Many bots in one process (issue 6): 1 bot, then 50 bots on 50 symbols, fed by the local
exchange. Prints memory per additional bot (target <= 4 MB) and tick latency p99 with 50 bots
(target <= 2 ms). Each configuration runs in a fresh process so RSS figures are comparable.

Usage: python benchmarks/bench_many_bots.py [--bots 50] [--seconds 40] [--speed 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _service_probe import percentile, run_probe


def one(bots: int, seconds: float, speed: float) -> dict[str, float]:
    probe = asyncio.run(run_probe(bots=bots, speed=speed, seconds=seconds, interval="15m"))
    return {"bots": bots, "rss_mb": max(probe.rss_mb), "rss_end_mb": probe.rss_mb[-1],
            "p50_us": statistics.median(probe.decided) if probe.decided else float("nan"),
            "p99_us": percentile(probe.decided, 0.99), "ticks": len(probe.decided)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.seconds, args.speed)))
        return
    results = []
    for bots in (1, args.bots):
        out = subprocess.run(
            [sys.executable, str(Path(__file__)), "--one", str(bots), "--seconds",
             str(args.seconds), "--speed", str(args.speed)],
            check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    single, many = results
    per_bot = (many["rss_mb"] - single["rss_mb"]) / (many["bots"] - 1)
    print(f"local exchange at {args.speed:g}x, {args.seconds:.0f} s each, "
          f"load average {os.getloadavg()[0]:.1f}")
    for r in results:
        print(f"{r['bots']:3d} bot(s): RSS max {r['rss_mb']:.1f} MB; tick -> decision "
              f"p50 {r['p50_us']:.1f} us, p99 {r['p99_us']:.1f} us over {r['ticks']:,} ticks")
    print(f"memory per additional bot: {per_bot:.2f} MB (target <= 4 MB)")
    print(f"tick latency p99 with {many['bots']} bots: {many['p99_us'] / 1000:.2f} ms "
          "(target <= 2 ms)")


if __name__ == "__main__":
    main()
