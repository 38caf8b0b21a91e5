"""Tick-to-decision latency of ``binbot run`` fed over loopback by the local exchange.

The local exchange runs in its own process and replays real FILUSDT 1m candles; the service runs
in this process with one paper BOLL bot on 1m candles (so it trades often). For every aggTrade we
take the time the WebSocket frame reached the stream router and, for each trade that made the
bot trade, the time the paper fill existed (decision) and the time it was committed to SQLite
(recorded). Target: p99 frame -> fill recorded <= 1 ms.

Usage: python benchmarks/bench_service_latency.py [--seconds 60] [--speed 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _exchange_proc import start_exchange

from binbot.adapters.binance import stream_router
from binbot.bootstrap import ServiceHandle, run_service
from binbot.config import load_settings
from binbot.engine.events import FillRecorded

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/klines/binance-um-1m"


def _trade_time(message: bytes | str) -> int | None:
    raw = message.encode() if isinstance(message, str) else message
    if b"aggTrade" not in raw:
        return None
    at = raw.find(b'"T":')
    if at < 0:
        return None
    end = at + 4
    while raw[end:end + 1].isdigit():
        end += 1
    return int(raw[at + 4:end])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(seconds: float, speed: float) -> dict[str, Any]:
    received: dict[int, int] = {}
    original_feed = stream_router.MessageRouter.feed

    def stamped_feed(self: stream_router.MessageRouter, message: bytes | str) -> Any:
        now = time.perf_counter_ns()
        trade_time = _trade_time(message)
        if trade_time is not None:
            received.setdefault(trade_time, now)
        return original_feed(self, message)

    stream_router.MessageRouter.feed = stamped_feed  # type: ignore[method-assign]
    exchange, port = start_exchange([DATA / "FILUSDT-1m-2025-04.csv.gz"], speed)
    decided: dict[int, int] = {}
    recorded: dict[int, int] = {}
    processed: list[int] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                None, env_file=None, data_dir=Path(tmp),
                exchange={"venue": "local", "local_port": port}, api={"enabled": False},
                bots=[{"id": "bench", "symbol": "FILUSDT", "interval": "1m", "strategy": "boll",
                       "params": {"period": 20, "k": 2.0, "quote_amount": "100"}}],
            )
            stop = asyncio.Event()
            ready: asyncio.Future[ServiceHandle] = asyncio.get_running_loop().create_future()
            service = asyncio.create_task(run_service(settings, stop, ready))
            handle = await ready
            runner = handle.runtime.runners[0]
            runner.latency_samples = processed
            on_event = runner._on_bot_event

            def on_bot_event(event: Any) -> None:
                if isinstance(event, FillRecorded):
                    decided.setdefault(event.fill.time, time.perf_counter_ns())
                on_event(event)

            def on_committed(fills: list[dict[str, Any]]) -> None:
                now = time.perf_counter_ns()
                for fill in fills:
                    recorded.setdefault(fill["time_ms"], now)

            runner.core._events = on_bot_event
            runner.committed_hook = on_committed
            await asyncio.sleep(seconds)
            stop.set()
            await service
    finally:
        exchange.terminate()
        exchange.wait()
        stream_router.MessageRouter.feed = original_feed  # type: ignore[method-assign]

    def spans(marks: dict[int, int]) -> list[float]:
        return [(t - received[k]) / 1000 for k, t in marks.items() if k in received]

    return {"decision": spans(decided), "recorded": spans(recorded), "trades": len(received)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=3000.0)
    args = parser.parse_args()
    result = asyncio.run(measure(args.seconds, args.speed))
    print(f"aggTrade frames received: {result['trades']:,} in {args.seconds:.0f} s "
          f"(speed {args.speed:g}x)")
    for name in ("decision", "recorded"):
        values = result[name]
        if not values:
            print(f"{name}: no fills")
            continue
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"frame -> fill {name:8s}: n={len(values):5d}  p50={p50:8.1f} us"
              f"  p99={p99:8.1f} us  max={max(values):8.1f} us")
    print("target: p99 frame -> fill recorded <= 1000 us")


if __name__ == "__main__":
    main()
