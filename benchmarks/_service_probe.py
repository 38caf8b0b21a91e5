"""Run ``binbot run``'s service in this process against a local exchange in another one, and
time every trade from the WebSocket frame reaching the stream router to each bot's decision
(its ``on_price`` done, the paper fill booked if it traded) and to its fills being committed.

Shared by the latency, API-load and many-bots benchmarks.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from _exchange_proc import free_port, start_exchange

from binbot.adapters.binance import stream_router
from binbot.bootstrap import ServiceHandle, run_service
from binbot.config import load_settings
from binbot.engine.events import FillRecorded

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/klines/binance-um-1m"
SOURCES = ["FILUSDT-1m-2025-04.csv.gz", "AVAXUSDT-1m-2026-04.csv.gz", "DOTUSDT-1m-2025-11.csv.gz",
           "LINKUSDT-1m-2026-02.csv.gz", "LTCUSDT-1m-2026-02.csv.gz", "ALGOUSDT-1m-2025-02.csv.gz"]


@dataclass
class Probe:
    received: dict[tuple[bytes, int], int] = field(default_factory=dict)
    decided: list[float] = field(default_factory=list)  # us, every trade x every bot
    decided_at: list[int] = field(default_factory=list)  # perf_counter_ns of each decision
    fills_decided: list[float] = field(default_factory=list)
    fills_recorded: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    cpu_s: float = 0.0  # this process's CPU time (every thread) over the measured seconds
    trades_seen: int = 0

    def reset(self) -> None:
        self.decided.clear()
        self.decided_at.clear()
        self.fills_decided.clear()
        self.fills_recorded.clear()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _symbol_and_time(raw: bytes) -> tuple[bytes, int] | None:
    if b"aggTrade" not in raw:
        return None
    at = raw.find(b'"T":')
    s_at = raw.find(b'"s":"')
    if at < 0 or s_at < 0:
        return None
    end = at + 4
    while raw[end:end + 1].isdigit():
        end += 1
    s_end = raw.find(b'"', s_at + 5)
    return raw[s_at + 5:s_end], int(raw[at + 4:end])


def _exchange_files(tmp: Path, bots: int) -> tuple[list[str], list[str]]:
    """``bots`` symbols: the real files, then aliases of them under new names."""
    symbols, specs = [], []
    for i in range(bots):
        source = DATA / SOURCES[i % len(SOURCES)]
        base = SOURCES[i % len(SOURCES)].split("-")[0]
        symbol = base if i < len(SOURCES) else f"{base[:-4]}{i:02d}USDT"
        link = tmp / f"{symbol}-1m-data.csv.gz"
        os.symlink(source, link)
        symbols.append(symbol)
        specs.append(f"{symbol}={link}")
    return symbols, specs


async def run_probe(*, bots: int, speed: float, seconds: float, interval: str = "1m",
                    api: bool = False,
                    during: Callable[[str, str, Probe], Awaitable[None]] | None = None) -> Probe:
    """Run the service for ``seconds`` (after a warm-up of 5 s that is not measured)."""
    probe = Probe()
    original_feed = stream_router.MessageRouter.feed

    def stamped_feed(self: stream_router.MessageRouter, message: bytes | str) -> Any:
        now = time.perf_counter_ns()
        raw = message.encode() if isinstance(message, str) else message
        key = _symbol_and_time(raw)
        if key is not None:
            probe.received.setdefault(key, now)
        return original_feed(self, message)

    stream_router.MessageRouter.feed = stamped_feed  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        symbols, specs = _exchange_files(tmp, bots)
        exchange, port = start_exchange([], speed, extra=specs)
        api_port = free_port()
        try:
            settings = load_settings(
                None, env_file=None, data_dir=tmp / "data",
                exchange={"venue": "local", "local_port": port},
                api={"enabled": api, "port": api_port, "token": "bench-token-5f2c9d81e7a4"},
                # At 60x and more the exchange sends 60+ mark prices per second per symbol.
                paper={"use_mark_price": False},
                bots=[{"id": f"bot{i:02d}", "symbol": symbol, "interval": interval,
                       "strategy": "boll",
                       "params": {"period": 20, "k": 2.0, "quote_amount": "100"}}
                      for i, symbol in enumerate(symbols)],
            )
            stop = asyncio.Event()
            ready: asyncio.Future[ServiceHandle] = asyncio.get_running_loop().create_future()
            service = asyncio.create_task(run_service(settings, stop, ready))
            handle = await ready
            _instrument(handle, probe)
            await asyncio.sleep(5.0)
            probe.reset()
            process = psutil.Process()
            cpu_start = sum(process.cpu_times()[:2])
            if during is not None:
                load = asyncio.create_task(during(f"http://127.0.0.1:{api_port}",
                                                  "bench-token-5f2c9d81e7a4", probe))
            for _ in range(int(seconds)):
                await asyncio.sleep(1.0)
                probe.rss_mb.append(process.memory_info().rss / 2**20)
            probe.cpu_s = sum(process.cpu_times()[:2]) - cpu_start
            if during is not None:
                await load
            stop.set()
            await service
        finally:
            exchange.terminate()
            exchange.wait()
            stream_router.MessageRouter.feed = original_feed  # type: ignore[method-assign]
    return probe


def _instrument(handle: ServiceHandle, probe: Probe) -> None:
    for runner in handle.runtime.runners:
        symbol = runner.settings.symbol.encode()
        core = runner.core
        on_price = core.on_price
        on_event = runner._on_bot_event
        fills: dict[int, int] = {}

        def timed_price(time_ms: int, price: float, *, _on=on_price, _s=symbol) -> None:
            _on(time_ms, price)
            start = probe.received.get((_s, time_ms))
            if start is not None:
                now = time.perf_counter_ns()
                probe.decided.append((now - start) / 1000)
                probe.decided_at.append(now)

        def on_bot_event(event: Any, *, _on=on_event, _s=symbol, _f=fills) -> None:
            if isinstance(event, FillRecorded):
                start = probe.received.get((_s, event.fill.time))
                if start is not None:
                    _f[event.fill.time] = start
                    probe.fills_decided.append((time.perf_counter_ns() - start) / 1000)
            _on(event)

        def on_committed(rows: list[dict[str, Any]], *, _f=fills) -> None:
            now = time.perf_counter_ns()
            for row in rows:
                start = _f.pop(row["time_ms"], None)
                if start is not None:
                    probe.fills_recorded.append((now - start) / 1000)

        core.on_price = timed_price  # type: ignore[method-assign]
        core._events = on_bot_event
        runner.committed_hook = on_committed

