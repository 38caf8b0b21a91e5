"""Helpers for strategy tests: an instrument, candles and a bot wired to the simulator."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market, interval_ms, interval_start
from binbot.engine import BotCore
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import Strategy

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "klines" / "binance-um-1m"


def instrument(market: Market = Market.USDM, symbol: str = "TESTUSDT") -> Instrument:
    return Instrument(
        market=market, symbol=symbol, base_asset=symbol[:-4], quote_asset="USDT",
        status="TRADING", tick_size=Decimal("0.0001"), min_price=Decimal("0.0001"),
        max_price=Decimal(1_000_000), step_size=Decimal("0.001"), min_qty=Decimal("0.001"),
        max_qty=Decimal(1_000_000), market_step_size=Decimal("0.001"),
        market_min_qty=Decimal("0.001"), market_max_qty=Decimal(1_000_000),
        min_notional=Decimal(0),
    )


def candle(open_time: int, close: float, *, interval: str = "15m", high: float | None = None,
           low: float | None = None, open_: float | None = None,
           market: Market = Market.USDM, symbol: str = "TESTUSDT") -> Candle:
    o = close if open_ is None else open_
    return Candle(
        market=market, symbol=symbol, interval=interval, open_time=open_time,
        close_time=open_time + interval_ms(interval) - 1, open=o,
        high=max(o, close) if high is None else high, low=min(o, close) if low is None else low,
        close=close, volume=1.0, quote_volume=close, trades=1, taker_buy_volume=0.5,
        taker_buy_quote_volume=close / 2, closed=True,
    )


class Harness:
    """A bot (strategy + BotCore) on a simulated account, fed by hand."""

    def __init__(self, strategy: Strategy, market: Market = Market.USDM,
                 capital: Decimal = Decimal(1_000_000), interval: str = "15m") -> None:
        self.instrument = instrument(market)
        self.sim = SimulatedExchange(self.instrument, SimConfig.standard(market, capital))
        self.strategy = strategy
        self.interval = interval
        self.bot = BotCore("test-bot", self.instrument, interval, strategy, self.sim,
                           capital=capital)
        self.time = 0
        self.bot.start()

    def close_candles(self, *closes: float) -> None:
        step = interval_ms(self.interval)
        for close in closes:
            self.bot.on_candle_closed(candle(self.time, close, interval=self.interval,
                                             market=self.instrument.market))
            self.time += step

    def price(self, price: float) -> None:
        self.sim.on_price(self.time, price)
        self.bot.on_price(self.time, price)

    def trades(self) -> list[tuple[str, float]]:
        return [(t.kind.value, float(t.price)) for t in self.bot.portfolio.trades]


def load_month(name: str) -> dict[str, np.ndarray]:
    """One month of 1m klines from the shared archive as numpy columns."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"shared data missing: {path}")
    with gzip.open(path, "rt") as f:
        header = f.readline().strip().split(",")
        raw = np.loadtxt(f, delimiter=",", dtype=np.float64)
    columns = {name: raw[:, i] for i, name in enumerate(header)}
    return columns


Bars = list[tuple[Candle, list[tuple[int, float]]]]


def aggregate(minutes: dict[str, np.ndarray], interval: str) -> Bars:
    """Group 1m bars into ``interval`` candles; return each candle with its 1m (time, close)s."""
    out: list[tuple[Candle, list[tuple[int, float]]]] = []
    opens = minutes["open_time"].astype(np.int64)
    group: list[int] = []

    def flush() -> None:
        start = interval_start(int(opens[group[0]]), interval)
        closes = minutes["close"][group]
        bar = Candle(
            market=Market.USDM, symbol="TESTUSDT", interval=interval, open_time=start,
            close_time=start + interval_ms(interval) - 1,
            open=float(minutes["open"][group[0]]), high=float(minutes["high"][group].max()),
            low=float(minutes["low"][group].min()), close=float(closes[-1]),
            volume=float(minutes["volume"][group].sum()), quote_volume=0.0, trades=0,
            taker_buy_volume=0.0, taker_buy_quote_volume=0.0, closed=True,
        )
        ticks = [(int(opens[i]) + 59_999, float(minutes["close"][i])) for i in group]
        out.append((bar, ticks))

    for i in range(len(opens)):
        if group and interval_start(int(opens[i]), interval) != interval_start(
            int(opens[group[0]]), interval
        ):
            flush()
            group = []
        group.append(i)
    if group:
        flush()
    return out


@pytest.fixture
def harness() -> Callable[..., Harness]:
    return Harness


@pytest.fixture(scope="session")
def month() -> Callable[[str], dict[str, np.ndarray]]:
    return load_month


@pytest.fixture(scope="session")
def bars() -> Callable[..., Any]:
    return aggregate


@pytest.fixture(scope="session")
def make_instrument() -> Callable[..., Instrument]:
    return instrument


def replay(bot: BotCore, sim: SimulatedExchange,
           data: list[tuple[Candle, list[tuple[int, float]]]]) -> Iterator[None]:
    """Feed 1m closes as real-time prices and each closed candle after its last minute."""
    for bar, ticks in data:
        for time_ms, price in ticks:
            sim.on_price(time_ms, price)
            bot.on_price(time_ms, price)
        bot.on_candle_closed(bar)
        yield None


@pytest.fixture(scope="session")
def replayer() -> Callable[..., Iterator[None]]:
    return replay
