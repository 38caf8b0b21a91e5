"""The price-driven limits, enforced by BotCore on constructed price paths: stop loss, take
profit, trailing stop (percent and ATR), the daily target and loss limits, protective exits
while paused, and a refused exit that is not retried on every price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.domain.orders import OrderStatus
from binbot.engine import BotCore, BotStatus, RiskLimits, TradingState
from binbot.engine.events import BotEvent, OrderUpdated, RiskRejected, RiskTriggered
from binbot.sim import SimConfig, SimulatedExchange
from tests.unit.engine.test_bot import Scripted, make_instrument

D = Decimal
DAY = 86_400_000


class Bot:
    """A scripted bot on a simulated account, driven price by price."""

    def __init__(self, market: Market = Market.USDM, capital: str = "10000",
                 **limits: Any) -> None:
        self.strategy = Scripted()
        inst = make_instrument(market)
        self.sim = SimulatedExchange(inst, SimConfig.standard(market, D(capital)))
        self.events: list[BotEvent] = []
        self.core = BotCore("r1", inst, "1m", self.strategy, self.sim, capital=D(capital),
                            risk_limits=RiskLimits(**limits), events=self.events.append)
        self.time = 0
        self.minutes = 0
        self.core.start()

    def prices(self, *prices: float, step: int = 1) -> None:
        for price in prices:
            self.time += step
            self.sim.on_price(self.time, price)
            self.core.on_price(self.time, price)

    def candle(self, high: float, low: float, close: float) -> None:
        self.minutes += 1
        open_time = self.minutes * 60_000
        self.core.on_candle_closed(Candle(
            Market.USDM, "ETHUSDT", "1m", open_time, open_time + 59_999, close, high, low,
            close, 1.0, close, 1, 0.5, close / 2, True))

    def trades(self) -> list[tuple[str, float, float]]:
        return [(t.kind.value, float(t.quantity), float(t.price))
                for t in self.core.portfolio.trades]

    def triggered(self) -> list[tuple[str, str]]:
        return [(e.rule, e.action) for e in self.events if isinstance(e, RiskTriggered)]

    def exits(self) -> list[tuple[str, bool, str]]:
        """(tag, reduce_only, final status) of the engine's own orders."""
        out = {}
        for e in self.events:
            if isinstance(e, OrderUpdated) and e.order.intent.tag.startswith("risk:"):
                out[e.order.client_order_id] = (e.order.intent.tag, e.order.intent.reduce_only,
                                                e.order.status.value)
        return list(out.values())


def test_stop_loss_percent_long_and_short() -> None:
    b = Bot(stop_loss_pct=2)
    b.prices(100.0)
    b.strategy.buy(10)
    b.prices(99.0, 98.01, 101.0, 98.01)  # 98.01 > 98: still in
    assert b.trades() == [("open_long", 10, 100.0)]
    b.prices(97.5, 96.0)  # through the stop: exit at 97.5, once
    assert b.trades()[1:] == [("close_long", 10, 97.5)]
    assert b.triggered() == [("stop_loss", "exit")]
    assert b.exits() == [("risk:stop_loss", True, "FILLED")]
    b.strategy.sell(5)
    b.prices(97.0, 98.44, 98.45)  # short from 96: stop 97.92, first reached at 98.44
    assert b.trades()[2:] == [("open_short", 5, 96.0), ("close_short", 5, 98.44)]
    assert b.core.risk.state is TradingState.ACTIVE  # an exit blocks nothing


def test_take_profit_percent() -> None:
    b = Bot(take_profit_pct=3)
    b.prices(200.0)
    b.strategy.buy(1)
    b.prices(205.0, 205.99, 206.0, 207.0)
    assert b.trades() == [("open_long", 1, 200.0), ("close_long", 1, 206.0)]
    assert b.triggered() == [("take_profit", "exit")]


def test_trailing_stop_percent_follows_the_best_price() -> None:
    b = Bot(trailing_stop_pct=5)
    b.prices(100.0)
    b.strategy.buy(2)
    b.prices(96.0, 104.0, 110.0, 105.0, 104.51)  # best 110: stop 104.5
    assert len(b.trades()) == 1
    b.prices(104.5)
    assert b.trades()[1:] == [("close_long", 2, 104.5)]
    b.strategy.sell(2)  # a short at 104.5 trails the lowest price
    b.prices(100.0, 90.0, 94.4, 94.5)  # best 90: stop 94.5
    assert b.trades()[2:] == [("open_short", 2, 104.5), ("close_short", 2, 94.5)]
    assert b.triggered() == [("trailing_stop", "exit")] * 2


def test_atr_levels_use_the_atr_when_the_position_changed() -> None:
    b = Bot(stop_loss_atr=1.5, take_profit_atr=2, atr_period=3)
    b.prices(100.0)
    for _ in range(4):
        b.candle(101.0, 99.0, 100.0)  # true range 2 every candle: ATR(3) = 2
    b.strategy.buy(1)
    b.candle(110.0, 90.0, 100.0)  # the ATR grows; the levels stay 97 / 104
    b.prices(97.01, 103.99)
    assert len(b.trades()) == 1
    b.prices(104.0)
    assert b.trades()[1:] == [("close_long", 1, 104.0)]
    b.strategy.sell(1)  # ATR now (2 * 2 + 20) / 3 = 8: stop 104 + 12 = 116
    b.prices(115.99)
    assert len(b.trades()) == 3
    b.prices(116.0)
    assert b.trades()[3:] == [("close_short", 1, 116.0)]
    assert b.triggered() == [("take_profit", "exit"), ("stop_loss", "exit")]


def test_atr_levels_wait_for_the_atr() -> None:
    b = Bot(trailing_stop_atr=1, atr_period=2)
    b.prices(100.0)
    b.strategy.buy(1)
    b.prices(90.0)  # no ATR yet: no level
    assert len(b.trades()) == 1
    for _ in range(3):
        b.candle(91.0, 89.0, 90.0)
    b.prices(92.0, 91.0)  # ATR 2 armed at the candle; best 100: stop 98, already through
    assert b.trades()[1:] == [("close_long", 1, 92.0)]


def test_daily_loss_blocks_entries_for_the_rest_of_the_day() -> None:
    b = Bot(daily_loss_pct=2)
    b.prices(1000.0)  # the day starts at equity 10000: the limit is 9800
    b.strategy.buy(5)  # fee 2.5: equity 9997.5 + 5 (p - 1000)
    b.prices(990.0, 960.51)  # 9800.05: not yet
    assert b.core.risk.state is TradingState.ACTIVE
    b.prices(960.5)  # 9800: reached
    assert b.triggered() == [("daily_loss", "block")]
    assert b.core.risk.state is TradingState.REDUCING
    assert len(b.trades()) == 1  # no flatten unless asked
    refused = b.strategy.buy(1)
    assert refused is not None
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason.startswith("only reducing orders allowed: daily loss limit 2% reached")
    b.prices(900.0, 1200.0)  # once a day
    assert b.triggered() == [("daily_loss", "block")]
    reduce = b.strategy.sell(3)
    assert reduce is not None
    assert reduce.status is OrderStatus.FILLED
    b.time = DAY - 1
    b.prices(1200.0, step=0)
    assert b.core.risk.state is TradingState.REDUCING
    b.prices(1200.0)  # a new UTC day
    assert b.core.risk.state is TradingState.ACTIVE
    again = b.strategy.buy(1)
    assert again is not None
    assert again.status is OrderStatus.FILLED
    rejected = [e for e in b.events if isinstance(e, RiskRejected)]
    assert [e.rule for e in rejected] == ["reducing"]


def test_daily_loss_can_flatten() -> None:
    b = Bot(daily_loss_pct=2, daily_loss_flatten=True)
    b.prices(1000.0)
    b.strategy.buy(5)
    b.prices(985.0, 960.0, 950.0)  # 9922.5, then 9797.5 <= 9800
    assert b.trades() == [("open_long", 5, 1000.0), ("close_long", 5, 960.0)]
    assert b.exits() == [("risk:daily_loss", True, "FILLED")]
    assert b.core.risk.state is TradingState.REDUCING


def test_the_day_starts_at_the_last_price_before_midnight() -> None:
    b = Bot(daily_loss_pct=1)
    b.time = DAY - 10
    b.prices(1000.0)
    b.strategy.buy(5)  # equity 9997.5 + 5 (p - 1000)
    b.prices(950.0)  # 9747.5: 2.5% down on day 0, blocked
    assert b.triggered() == [("daily_loss", "block")]
    b.time = DAY  # day 1 starts from 9747.5, the equity at the last price of day 0
    b.prices(945.0, step=0)  # 9722.5, above 9747.5 x 0.99 = 9650.025
    assert b.core.risk.state is TradingState.ACTIVE
    b.prices(931.0)  # 9652.5
    assert b.core.risk.state is TradingState.ACTIVE
    b.prices(930.5)  # 9650
    assert b.triggered() == [("daily_loss", "block")] * 2
    assert b.core.risk.state is TradingState.REDUCING


def test_daily_target_blocks_and_can_flatten() -> None:
    b = Bot(daily_target_pct=1, daily_target_flatten=True)
    b.prices(100.0)
    b.strategy.sell(50)  # fee 2.5: equity 9997.5 - 50 (p - 100), the target 10100
    b.prices(99.0, 97.96, 97.95)  # 10047.5, 10099.5, 10100
    assert b.trades() == [("open_short", 50, 100.0), ("close_short", 50, 97.95)]
    assert b.triggered() == [("daily_target", "block")]
    refused = b.strategy.buy(1)
    assert refused is not None
    assert refused.reason.startswith("only reducing orders allowed: daily target 1% reached")


def test_exits_pass_while_the_bot_is_paused() -> None:
    b = Bot(stop_loss_pct=1)
    b.prices(100.0)
    b.strategy.buy(1)
    b.core.pause("operator")
    b.prices(98.0)
    assert b.trades()[1:] == [("close_long", 1, 98.0)]
    assert b.core.status is BotStatus.PAUSED


def test_a_refused_exit_is_retried_once_per_candle() -> None:
    b = Bot(stop_loss_pct=1)
    b.prices(100.0)
    b.strategy.buy(1)
    b.core.risk.set_state(TradingState.HALTED, "operator")  # HALTED refuses even exits
    b.prices(98.0, 97.0, 96.0)
    b.candle(98.0, 95.0, 96.0)
    b.prices(95.0, 94.0)
    rejected = [e for e in b.events if isinstance(e, RiskRejected)]
    assert [(e.rule, e.intent.tag) for e in rejected] == [("halted", "risk:stop_loss")] * 2
    b.core.risk.set_state(TradingState.ACTIVE)
    b.candle(96.0, 93.0, 94.0)
    b.prices(93.5)
    assert b.trades()[1:] == [("close_long", 1, 93.5)]


def test_spot_exits_are_plain_sells() -> None:
    b = Bot(market=Market.SPOT, stop_loss_pct=5)
    b.prices(100.0)
    b.strategy.buy(3)
    b.prices(95.0)
    assert b.trades() == [("open_long", 3, 100.0), ("close_long", 3, 95.0)]
    assert b.exits() == [("risk:stop_loss", False, "FILLED")]
