"""Risk limits change nothing when off; the monitor's quiet zone decides exactly like
evaluating every price; a bot with limits resumes exactly after a restart."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.engine import BotCore, RiskLimits, RiskMonitor
from binbot.engine.events import BotEvent, RiskTriggered
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy.builtin.boll import Boll
from tests.unit.strategy.conftest import aggregate, instrument, load_month
from tests.unit.strategy.test_boll_real_data import reference_actions

MONTH = "FILUSDT-1m-2024-02.csv.gz"
CAPITAL = Decimal(10_000)
LIMITS = RiskLimits(stop_loss_pct=1.5, take_profit_atr=4, trailing_stop_pct=2,
                    daily_loss_pct=2, daily_target_pct=2.5, max_drawdown_pct=25,
                    max_orders=50, orders_window_s=3600)

Bars = list[tuple[Candle, list[tuple[int, float]]]]


@pytest.fixture(scope="module")
def month_bars() -> Bars:
    return aggregate(load_month(MONTH), "15m")


class EveryPrice(RiskMonitor):
    """A monitor without a quiet zone: every price is evaluated."""

    def _update_zone(self) -> None:
        super()._update_zone()
        if self.active and not self.halted:
            self.lo, self.hi = math.inf, -math.inf


class Run:
    def __init__(self, limits: RiskLimits | None, *, every_price: bool = False,
                 params: dict[str, Any] | None = None, capital: Decimal = CAPITAL) -> None:
        inst = instrument(Market.USDM)
        self.sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, capital))
        self.events: list[BotEvent] = []
        self.bot = BotCore("eq", inst, "15m", Boll(params or {"capital_share": 0.8}), self.sim,
                           capital=capital, risk_limits=limits, events=self.events.append,
                           max_trades=None)
        if every_price:
            assert limits is not None
            self.bot.risk_monitor = EveryPrice(limits)
            self.bot.risk_monitor.on_position(0.0, 0.0, float(capital))
            self.bot._sync_risk()

    def feed(self, bars: Bars) -> Iterator[None]:
        for bar, ticks in bars:
            for t, p in ticks:
                self.sim.on_price(t, p)
                self.bot.on_price(t, p)
            self.bot.on_candle_closed(bar)
            yield None

    def run(self, bars: Bars) -> Run:
        self.bot.start()
        for _ in self.feed(bars):
            pass
        return self

    def actions(self) -> list[tuple[int, str, float]]:
        return [(t.time, t.kind.value, float(t.price)) for t in self.bot.portfolio.trades]

    def triggered(self) -> list[tuple[int, str, str, str]]:
        return [(e.time, e.rule, e.action, e.reason) for e in self.events
                if isinstance(e, RiskTriggered)]


@pytest.mark.parametrize("limits", [
    None,
    RiskLimits(),
    RiskLimits.from_dict({}),
    RiskLimits(max_orders=1000, orders_window_s=1, max_leverage=Decimal(100),
               max_order_notional=Decimal(10**9)),
], ids=["none", "default", "from_dict", "loose_pre_trade"])
def test_boll_trades_exactly_as_before_when_limits_are_off(month_bars: Bars,
                                                           limits: RiskLimits | None) -> None:
    run = Run(limits, params={"quantity": "1"}, capital=Decimal(1_000_000))
    assert "on_price" not in vars(run.bot)  # the plain on_price: no monitor on the hot path
    assert run.run(month_bars).actions() == reference_actions(month_bars)
    assert run.triggered() == []


def test_the_quiet_zone_decides_like_every_price(month_bars: Bars) -> None:
    fast = Run(LIMITS).run(month_bars)
    slow = Run(LIMITS, every_price=True).run(month_bars)
    assert "on_price" in vars(fast.bot)
    assert fast.actions() == slow.actions()
    assert fast.triggered() == slow.triggered()
    rules = Counter(rule for _, rule, _, _ in fast.triggered())
    assert {"stop_loss", "trailing_stop", "daily_loss", "max_drawdown"} <= set(rules)
    assert len(fast.actions()) > 100


def random_minutes(seed: int, days: int) -> Bars:
    """Minute prices on a multiplicative walk with volatility bursts, as 15m candles."""
    rng = random.Random(seed)
    price = 50.0
    bars: Bars = []
    for i in range(days * 96):
        vol = 0.004 if (i // 50) % 3 else 0.0015
        ticks = []
        for j in range(15):
            price = round(price * math.exp(rng.gauss(0, vol)), 3)
            ticks.append((i * 900_000 + j * 60_000 + 59_999, price))
        prices = [p for _, p in ticks]
        bars.append((Candle(Market.USDM, "TESTUSDT", "15m", i * 900_000, i * 900_000 + 899_999,
                            prices[0], max(prices), min(prices), prices[-1], 1.0, 1.0, 1, 0.5,
                            0.5, True), ticks))
    return bars


@pytest.mark.parametrize("seed", [1, 2])
def test_the_quiet_zone_decides_like_every_price_on_random_walks(seed: int) -> None:
    bars = random_minutes(seed, 12)
    limits = RiskLimits(stop_loss_atr=3, take_profit_pct=2, trailing_stop_atr=2,
                        daily_loss_pct=1.5, daily_loss_flatten=True, daily_target_pct=1,
                        max_drawdown_pct=4)
    fast = Run(limits).run(bars)
    slow = Run(limits, every_price=True).run(bars)
    assert fast.actions() == slow.actions()
    assert fast.triggered() == slow.triggered()
    assert len(fast.triggered()) >= 3


def test_a_bot_with_limits_resumes_exactly(month_bars: Bars) -> None:
    whole = Run(LIMITS)
    whole.bot.start()
    feed = whole.feed(month_bars)
    for _ in range(1500):
        next(feed)
    saved = json.loads(json.dumps({"bot": whole.bot.snapshot(), "sim": whole.sim.snapshot()}))
    second = Run(LIMITS)
    second.sim.restore(saved["sim"])
    second.bot.restore(saved["bot"])
    second.bot.start()
    assert second.bot.snapshot() == whole.bot.snapshot()
    assert not second.bot.kill_switch
    for _ in feed:
        pass
    for _ in second.feed(month_bars[1500:]):
        pass
    assert len(whole.triggered()) > 10
    assert list(second.bot.portfolio.trades) == list(whole.bot.portfolio.trades)
    assert second.bot.kill_switch  # the drawdown limit tripped after the restart
    assert second.bot.snapshot() == whole.bot.snapshot()
