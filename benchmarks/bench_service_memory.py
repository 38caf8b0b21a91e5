"""Resident memory of ``binbot run`` with one bot (paper BOLL, dashboard and API on).

The local exchange replays real FILUSDT 1m candles in its own process; ``binbot run`` runs as a
real subprocess with a fresh data directory. RSS is sampled every second. Target: <= 120 MB.

Usage: python benchmarks/bench_service_memory.py [--seconds 60] [--speed 600]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _exchange_proc import free_port, start_exchange

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/klines/binance-um-1m"

CONFIG = """
data_dir = "{data}"
[exchange]
venue = "local"
local_port = {port}
[api]
port = {api_port}
[[bots]]
id = "boll-fil"
symbol = "FILUSDT"
interval = "15m"
strategy = "boll"
params = {{ period = 20, k = 2.0, quote_amount = "100" }}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--speed", type=float, default=600.0)
    args = parser.parse_args()
    exchange, port = start_exchange([DATA / "FILUSDT-1m-2025-04.csv.gz"], args.speed)
    samples: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "binbot.toml"
            config.write_text(CONFIG.format(data=Path(tmp) / "data", port=port,
                                            api_port=free_port()))
            service = subprocess.Popen(
                [sys.executable, "-m", "binbot", "run", "-c", str(config)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            process = psutil.Process(service.pid)
            for _ in range(args.seconds):
                time.sleep(1)
                if service.poll() is not None:
                    raise SystemExit("binbot run exited early")
                samples.append(process.memory_info().rss / 2**20)
            service.terminate()
            service.wait(30)
    finally:
        exchange.terminate()
        exchange.wait()
    warm = samples[len(samples) // 3:]
    slope = (warm[-1] - warm[0]) / max(1, len(warm) - 1) * 3600
    print(f"binbot run, one paper bot, dashboard on, exchange at {args.speed:g}x, "
          f"{args.seconds} s")
    print(f"RSS: start {samples[0]:.1f} MB, max {max(samples):.1f} MB, end {samples[-1]:.1f} MB; "
          f"slope after warm-up {slope:+.1f} MB/h (wall)")
    print("target: <= 120 MB")


if __name__ == "__main__":
    main()
