"""How many ``BotCore.on_price`` calls per second BOLL sustains (target: >= 1,000,000/s).

Three figures, all through ``BotCore`` + ``Boll`` with the simulated exchange wired as in a
backtest:
1. quiet: prices inside the bands, no order (the common case the target is about);
2. real data: a month of real 1m closes as real-time prices on 15m candles, with
   ``SimulatedExchange.on_price`` called before the bot as the backtester does (orders included).

Usage: python benchmarks/bench_bot_core.py [SYMBOL-1m-YYYY-MM.csv.gz]
"""

from __future__ import annotations

import gzip
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market, interval_ms, interval_start
from binbot.engine import BotCore
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy.builtin.boll import Boll

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "klines" / "binance-um-1m"


def instrument() -> Instrument:
    d = Decimal
    return Instrument(Market.USDM, "FILUSDT", "FIL", "USDT", "TRADING", d("0.001"), d("0.001"),
                      d(100000), d("0.1"), d("0.1"), d(1000000), d("0.1"), d("0.1"), d(1000000),
                      d(5))


def candle(open_time: int, o: float, h: float, lo: float, c: float) -> Candle:
    return Candle(Market.USDM, "FILUSDT", "15m", open_time, open_time + 899_999, o, h, lo, c,
                  1.0, 1.0, 1, 0.5, 0.5, True)


def make_bot() -> tuple[BotCore, SimulatedExchange]:
    inst = instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, Decimal(1_000_000)))
    bot = BotCore("bench", inst, "15m", Boll({"quantity": "10"}), sim,
                  capital=Decimal(1_000_000), max_trades=None)
    return bot, sim


def quiet(n: int = 2_000_000) -> float:
    bot, _sim = make_bot()
    for i in range(19):
        c = 100.0 + (1.0 if i % 2 else -1.0)
        bot.on_candle_closed(candle(i * 900_000, c, c, c, c))
    bot.start()
    on_price = bot.on_price
    t0 = 19 * 900_000
    prices = [100.0 + 0.01 * (i % 50) for i in range(1000)]
    start = time.perf_counter()
    for j in range(n // 1000):
        base = t0 + j
        for p in prices:
            on_price(base, p)
    elapsed = time.perf_counter() - start
    assert not bot.portfolio.trades
    return n / elapsed


def load(name: str) -> tuple[list[tuple[int, float]], list[tuple[int, Candle]]]:
    with gzip.open(DATA / name, "rt") as f:
        f.readline()
        raw = np.loadtxt(f, delimiter=",", dtype=np.float64)
    ticks = [(int(t) + 59_999, float(c)) for t, c in zip(raw[:, 0], raw[:, 4], strict=True)]
    closes: list[tuple[int, Candle]] = []  # (index of the last tick, candle)
    starts = [interval_start(int(t), "15m") for t in raw[:, 0]]
    first = 0
    for i in range(1, len(starts) + 1):
        if i == len(starts) or starts[i] != starts[first]:
            seg = raw[first:i]
            closes.append((i - 1, candle(starts[first], seg[0, 1], seg[:, 2].max(),
                                         seg[:, 3].min(), seg[-1, 4])))
            first = i
    assert interval_ms("15m") == 900_000
    return ticks, closes


def real(name: str, with_sim: bool = True) -> tuple[float, int, int]:
    ticks, closes = load(name)
    bot, sim = make_bot()
    bot.start()
    on_price = bot.on_price
    sim_price = sim.on_price
    on_candle = bot.on_candle_closed
    start = time.perf_counter()
    tick = 0
    for last, bar in closes:
        if with_sim:
            while tick <= last:
                t, p = ticks[tick]
                sim_price(t, p)
                on_price(t, p)
                tick += 1
        else:
            while tick <= last:
                t, p = ticks[tick]
                on_price(t, p)
                tick += 1
        on_candle(bar)
    elapsed = time.perf_counter() - start
    return len(ticks) / elapsed, len(ticks), len(bot.portfolio.trades)


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "FILUSDT-1m-2024-02.csv.gz"
    print(f"quiet (inside the bands, no order): {quiet():,.0f} on_price calls/s")
    rate, n, trades = real(name, with_sim=True)
    print(f"real {name}, sim + bot: {rate:,.0f} price updates/s ({n} prices, {trades} trades,"
          " candle closes and every order included)")


if __name__ == "__main__":
    main()
