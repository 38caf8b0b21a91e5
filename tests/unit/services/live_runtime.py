"""A real ServiceRuntime (hub, runners, paper accounts, SQLite) over in-memory market data.

``ScriptedMarket`` implements the two market-data ports: REST history up to the current minute,
and a stream that delivers what the test pushes, recording every subscribe and unsubscribe. The
market moves only when a test calls ``advance``: a few trades in the next minute, then its
closed candle, on every symbol the stream has subscribers for.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from binbot.config.settings import BotSettings, PaperSettings
from binbot.core.event_bus import EventBus
from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.market_events import KlineEvent, MarketEvent, TradeEvent
from binbot.domain.streams import StreamKey
from binbot.marketdata.hub import HubHistory, MarketDataHub
from binbot.services.bot_runner import RunnerDeps
from binbot.services.instrument_book import InstrumentBook
from binbot.services.service_runtime import ServiceRuntime
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.migrate import upgrade
from binbot.storage.writer import Writer
from binbot.strategy.base import Strategy

M = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % M
SYMBOLS = ("BTCUSDT", "ETHUSDT", "FILUSDT")


def instrument(symbol: str, status: str = "TRADING") -> Instrument:
    return Instrument(Market.USDM, symbol, symbol.removesuffix("USDT"), "USDT", status,
                      Decimal("0.01"), Decimal("0.01"), Decimal("1000000"), Decimal("0.001"),
                      Decimal("0.001"), Decimal("100000"), Decimal("0.001"), Decimal("0.001"),
                      Decimal("100000"), Decimal("5"))


def price(symbol: str, minute: int) -> float:
    base = {"BTCUSDT": 100.0, "ETHUSDT": 50.0}.get(symbol, 20.0)
    return round(base * (1 + 0.02 * math.sin(minute / 3)), 2)


def candle(symbol: str, minute: int) -> Candle:
    p = price(symbol, minute)
    return Candle(Market.USDM, symbol, "1m", T0 + minute * M, T0 + minute * M + M - 1, p,
                  p * 1.001, p * 0.999, p, 10.0, 10.0 * p, 5, 5.0, 5.0 * p, True)


class ScriptedMarket:
    """MarketStream and MarketDataRest at once (see the module docstring)."""

    def __init__(self, minute: int = 60, listed: Iterable[Instrument] | None = None) -> None:
        self.minute = minute  # candles 0..minute-1 are closed
        self.listed = list(listed) if listed is not None else [instrument(s) for s in SYMBOLS]
        self.queue: asyncio.Queue[MarketEvent] = asyncio.Queue()
        self.subscribes: Counter[StreamKey] = Counter()
        self.unsubscribes: Counter[StreamKey] = Counter()
        self.active: set[StreamKey] = set()
        self.instrument_requests = 0

    # MarketStream
    async def subscribe(self, keys: Iterable[StreamKey]) -> None:
        for key in keys:
            self.subscribes[key] += 1
            self.active.add(key)

    async def unsubscribe(self, keys: Iterable[StreamKey]) -> None:
        for key in keys:
            self.unsubscribes[key] += 1
            self.active.discard(key)

    async def events(self) -> AsyncIterator[MarketEvent]:
        while True:
            yield await self.queue.get()

    async def close(self) -> None:
        pass

    # MarketDataRest
    async def server_time(self, market: Market) -> int:
        return T0 + self.minute * M + 1_000

    async def instruments(self, market: Market) -> list[Instrument]:
        self.instrument_requests += 1
        return [i for i in self.listed if i.market is market]

    async def kline_history(self, market: Market, symbol: str, interval: str, start_ms: int,
                            end_ms: int | None = None) -> AsyncIterator[list[Candle]]:
        first = max(0, (start_ms - T0) // M)
        last = self.minute - 1
        if end_ms is not None:
            last = min(last, (end_ms - T0) // M)
        rows = [candle(symbol, i) for i in range(first, last + 1)]
        for offset in range(0, len(rows), 500):
            yield rows[offset:offset + 500]

    # the test's side
    def symbols(self) -> set[str]:
        return {key.symbol for key in self.active}

    def advance(self, minutes: int = 1) -> int:
        """Trade ``minutes`` more minutes on every subscribed symbol; the last trade's time."""
        last = 0
        for _ in range(minutes):
            minute = self.minute
            for symbol in sorted(self.symbols()):
                p = price(symbol, minute)
                for step, offset in enumerate((5_000, 30_000, 55_000)):
                    last = T0 + minute * M + offset
                    self.queue.put_nowait(TradeEvent(
                        Market.USDM, symbol, last, last, minute * 10 + step,
                        p * (1 + 0.0005 * step), 1.0, False))
                self.queue.put_nowait(KlineEvent(event_time=T0 + minute * M + M - 1,
                                                 candle=candle(symbol, minute)))
            self.minute += 1
        return last


class Flip(Strategy):
    """Buys 100 USDT at market on one closed candle and closes on the next: a trade a minute."""

    name = "flip"

    def on_candle(self, candle: Candle) -> None:
        if self.position.quantity == 0:
            self.buy(quote_amount=100)
        else:
            self.close()


class Crashing(Strategy):
    name = "crashing"

    def on_candle(self, candle: Candle) -> None:
        raise RuntimeError("strategy bug")

    def on_price(self, price: float) -> None:
        raise RuntimeError("strategy bug")


class Slow(Strategy):
    """Blocks in every hook (a strategy doing heavy work synchronously)."""

    name = "slow"

    def on_candle(self, candle: Candle) -> None:
        import time

        time.sleep(0.02)

    def on_price(self, price: float) -> None:
        import time

        time.sleep(0.005)


FLIP = "tests.unit.services.live_runtime:Flip"
CRASHING = "tests.unit.services.live_runtime:Crashing"
SLOW = "tests.unit.services.live_runtime:Slow"


@dataclass
class Live:
    runtime: ServiceRuntime
    market: ScriptedMarket
    hub: MarketDataHub
    writer: Writer
    bus: EventBus
    engine: Any

    async def settle(self, until_ms: int, bot_ids: Iterable[str] | None = None) -> None:
        """Wait until the given (default: every active) bot processed prices up to
        ``until_ms`` (a bounded wait, not a timing assertion)."""
        wanted = set(bot_ids) if bot_ids is not None else None
        for _ in range(2000):
            runners = [r for r in self.runtime.runners
                       if wanted is None or r.bot_id in wanted]
            if all(r.core.time >= until_ms for r in runners):
                break
            await asyncio.sleep(0.005)
        for runner in self.runtime.runners:
            await runner.flush()

    async def close(self) -> None:
        await self.runtime.shutdown()
        await self.hub.stop()
        await self.writer.close()
        self.engine.dispose()


def bot(bot_id: str, symbol: str = "BTCUSDT", strategy: str = FLIP, **fields: Any) -> BotSettings:
    return BotSettings(id=bot_id, symbol=symbol, interval="1m", strategy=strategy,
                       capital=Decimal(1000), **fields)


async def start_live(db: Path, config_bots: Iterable[BotSettings] = (),
                     market: ScriptedMarket | None = None) -> Live:
    engine = make_engine(sqlite_url(db))
    await asyncio.to_thread(upgrade, engine)
    writer = Writer(engine, max_delay_s=0.01)
    writer.start()
    market = market or ScriptedMarket()
    store = SqlCandleStore(engine, writer)
    hub = MarketDataHub(market, market, store, HubHistory(candles=30))
    await hub.start()
    bus = EventBus()
    deps = RunnerDeps(writer, engine, store, hub, market, bus,
                      PaperSettings(use_mark_price=False), "local",
                      lambda: T0 + market.minute * M)
    runtime = ServiceRuntime(hub, "local", deps, InstrumentBook(market.instruments))
    await runtime.boot(config_bots)
    return Live(runtime, market, hub, writer, bus, engine)
