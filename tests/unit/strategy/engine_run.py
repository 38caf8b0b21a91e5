"""Run a strategy through BotCore + SimulatedExchange over aggregated candles (as a backtest
would) and collect what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from binbot.domain.market import Market
from binbot.domain.orders import OrderStatus
from binbot.engine import BotCore, RiskLimits
from binbot.engine.events import BotEvent, OrderUpdated
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import Strategy
from tests.unit.strategy.conftest import instrument


@dataclass
class Run:
    bot: BotCore
    sim: SimulatedExchange
    events: list[BotEvent] = field(default_factory=list)

    def trades(self) -> list[tuple[int, str, float]]:
        return [(t.time, t.kind.value, float(t.price)) for t in self.bot.portfolio.trades]

    def fills(self) -> list[tuple[int, str, str, float, float]]:
        """(time, tag, side, quantity, price) of every filled order, in order."""
        out = []
        for e in self.events:
            if isinstance(e, OrderUpdated) and e.order.status is OrderStatus.FILLED:
                intent = e.order.intent
                out.append((e.time, intent.tag, intent.side.value, float(e.order.filled_qty),
                            float(e.order.avg_price)))
        return out


def run(strategy: Strategy, bars: list[Any], *, market: Market = Market.USDM,
        interval: str = "15m", capital: Decimal = Decimal(1_000_000), leverage: int = 1,
        taker_fee: Decimal | None = None, risk_limits: RiskLimits | None = None) -> Run:
    inst = instrument(market)
    config = SimConfig.standard(market, capital, leverage)
    if taker_fee is not None:
        config = SimConfig(market, capital, taker_fee, taker_fee, leverage=leverage)
    sim = SimulatedExchange(inst, config)
    events: list[BotEvent] = []
    bot = BotCore("run", inst, interval, strategy, sim, capital=capital, leverage=leverage,
                  max_trades=None, risk_limits=risk_limits, events=events.append)
    result = Run(bot, sim, events)
    bot.start()
    for bar, ticks in bars:
        for time_ms, price in ticks:
            sim.on_price(time_ms, price)
            result.bot.on_price(time_ms, price)
        result.bot.on_candle_closed(bar)
    return result


def random_bars(seed: int, n: int, *, start: float = 100.0, interval: str = "15m",
                ticks_per_bar: int = 4, market: Market = Market.USDM) -> list[Any]:
    """A multiplicative random walk with changing drift (trends and reversals) on a 0.01 tick:
    ``n`` candles, each with the real-time prices inside it (the last one is its close)."""
    import math
    import random

    from binbot.domain.market import interval_ms
    from tests.unit.strategy.conftest import candle

    rng = random.Random(seed)
    step = interval_ms(interval)
    price = start
    drift = 0.0
    out = []
    for i in range(n):
        if i % 40 == 0:
            drift = rng.choice((-0.001, -0.0004, 0.0, 0.0004, 0.001))
        open_time = i * step
        ticks = []
        for j in range(ticks_per_bar):
            price = round(price * math.exp(drift + rng.gauss(0, 0.004)), 2)
            ticks.append((open_time + (j + 1) * step // ticks_per_bar - 1, price))
        prices = [p for _, p in ticks]
        bar = candle(open_time, prices[-1], interval=interval, high=max(prices),
                     low=min(prices), open_=prices[0], market=market)
        out.append((bar, ticks))
    return out
