"""In-process parse + dispatch throughput of binbot's Binance stream hot path.

Builds realistic combined-stream messages (kline, aggTrade, bookTicker mix, USD-M) from the
recorded payloads in ../shared/fixtures/binance, then feeds them through ``MessageRouter.feed``
(envelope decode, typed payload decode chosen by stream suffix, conversion to domain events,
overlap dedupe, hand-over to the bounded consumer queue) and prints messages per second.

Run: .venv/bin/python benchmarks/bench_stream_parse.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from binbot.adapters.binance.event_queue import DropOldestQueue
from binbot.adapters.binance.stream_router import MessageRouter
from binbot.domain.market import Market

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "binance"
SYMBOLS = ["btcusdt", "ethusdt", "solusdt", "bnbusdt", "xrpusdt", "adausdt", "dogeusdt", "filusdt"]
MESSAGES = 200_000
RUNS = 5


def load(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / path).read_text())
    return data


def build_messages(count: int) -> list[bytes]:
    kline = load("futures/market_data_json/kline_stream_open.json")
    trade = load("futures/market_data_json/agg_trade_stream.json")
    book = load("futures/market_data_json/book_ticker_stream.json")
    messages: list[bytes] = []
    for i in range(count):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        kind = i % 10
        if kind < 5:  # half the traffic is trades
            data = dict(trade, a=i, E=1_700_000_000_000 + i, T=1_700_000_000_000 + i,
                        p=f"{60000 + i % 500}.{i % 10}", s=symbol.upper())
            stream = f"{symbol}@aggTrade"
        elif kind < 8:
            data = dict(book, u=i, E=1_700_000_000_000 + i, s=symbol.upper(),
                        b=f"{60000 + i % 500}.1", a=f"{60000 + i % 500}.2")
            stream = f"{symbol}@bookTicker"
        else:
            k = dict(kline["k"], c=f"{60000 + i % 500}.5", s=symbol.upper())
            data = dict(kline, E=1_700_000_000_000 + i, s=symbol.upper(), k=k)
            stream = f"{symbol}@kline_1m"
        messages.append(json.dumps({"stream": stream, "data": data},
                                   separators=(",", ":")).encode())
    return messages


def run_once(messages: list[bytes]) -> tuple[float, float]:
    """Returns (wall seconds, CPU seconds of this process) for one pass."""
    queue: DropOldestQueue[object] = DropOldestQueue(len(messages) + 1)
    router = MessageRouter(Market.USDM, queue.put_nowait)
    feed = router.feed
    wall, cpu = time.perf_counter(), time.process_time()
    for message in messages:
        feed(message)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if router.delivered != len(messages) or len(queue) != len(messages):
        raise SystemExit(f"expected {len(messages)} events, got {router.delivered}")
    return wall, cpu


def main() -> None:
    messages = build_messages(MESSAGES)
    size = sum(map(len, messages)) / len(messages)
    runs = [run_once(messages) for _ in range(RUNS)]
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    rate = MESSAGES / cpu
    print(f"messages: {MESSAGES} (50% aggTrade, 30% bookTicker, 20% kline), avg {size:.0f} bytes")
    # CPU time is what one core spends; wall time also counts waiting for a shared CPU.
    print(f"parse+dispatch: {rate:,.0f} msg/s per CPU-second on one core "
          f"({cpu / MESSAGES * 1e6:.2f} us/msg; best of {RUNS})")
    print(f"wall clock: {MESSAGES / wall:,.0f} msg/s (lower when other processes share the CPU)")
    print(f"target >= 200,000 msg/s: {'met' if rate >= 200_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
