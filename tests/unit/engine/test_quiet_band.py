"""``BotCore.quiet_band`` / ``SimulatedExchange.quiet_band``: the prices at which ``on_price``
only records the time and price, which a replay may skip."""

from __future__ import annotations

import math
from decimal import Decimal

from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import OrderSide, OrderType
from binbot.engine import BotCore, RiskLimits
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import Strategy
from binbot.strategy.builtin.boll import Boll

D = Decimal
INF = math.inf
EMPTY = (INF, -INF)
LINE = (-INF, INF)


def make_instrument() -> Instrument:
    return Instrument(Market.USDM, "ETHUSDT", "ETH", "USDT", "TRADING", D("0.01"), D("0.01"),
                      D(1_000_000), D("0.001"), D("0.001"), D(10_000), D("0.001"), D("0.001"),
                      D(10_000), D(5))


def make_bot(strategy: Strategy, limits: RiskLimits | None = None
             ) -> tuple[BotCore, SimulatedExchange]:
    inst = make_instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, D(10_000)))
    return BotCore("b", inst, "1m", strategy, sim, capital=D(10_000), risk_limits=limits), sim


class Banded(Strategy):
    """Declares a quiet band for its own on_price."""

    name = "banded"

    def __init__(self) -> None:
        super().__init__()
        self.quiet_low, self.quiet_high = 90.0, 110.0
        self.prices: list[float] = []

    def on_price(self, price: float) -> None:
        if self.quiet_low < price < self.quiet_high:
            return
        self.prices.append(price)
        if price == 0.5:
            raise RuntimeError("boom")

    quiet_band_of = on_price


class Overriding(Banded):
    """Overrides on_price without renewing the promise: nothing may be skipped."""

    name = "overriding"

    def on_price(self, price: float) -> None:
        self.prices.append(price)


class Silent(Strategy):
    name = "silent"


def test_band_is_the_strategys_while_it_runs() -> None:
    bot, _sim = make_bot(Banded())
    assert bot.quiet_band() == LINE  # not running: no hook is called at all
    bot.start()
    assert bot.quiet_band() == (90.0, 110.0)
    bot.pause("x")
    assert bot.quiet_band() == LINE


def test_no_band_without_the_promise_or_with_a_risk_monitor() -> None:
    bot, _sim = make_bot(Overriding())
    bot.start()
    assert bot.quiet_band() == EMPTY
    bot, _sim = make_bot(Banded(), RiskLimits(stop_loss_pct=5))
    bot.start()
    assert bot.quiet_band() == EMPTY  # its exits compare with the previous price


def test_a_strategy_that_keeps_the_no_op_on_price_is_quiet_everywhere() -> None:
    bot, _sim = make_bot(Silent())
    bot.start()
    assert bot.quiet_band() == LINE


def test_no_band_while_errors_are_counted() -> None:
    strategy = Banded()
    bot, _sim = make_bot(strategy)
    bot.start()
    bot.on_price(1, 0.5)  # raises: the next successful call resets the count
    assert bot.quiet_band() == EMPTY
    bot.on_price(2, 100.0)
    assert bot.quiet_band() == (90.0, 110.0)


class Hooked(Banded):
    """``Banded`` counting its on_price calls (the promise renewed for this on_price)."""

    name = "hooked"
    calls = 0

    def on_price(self, price: float) -> None:
        self.calls += 1
        super().on_price(price)

    quiet_band_of = on_price


def test_record_price_leaves_the_bot_as_on_price_does_inside_the_band() -> None:
    recorded, fed = Hooked(), Hooked()
    bot, _sim = make_bot(recorded)
    twin, _twin_sim = make_bot(fed)
    for b in (bot, twin):
        b.start()
    bot.record_price(7, 101.5)
    twin.on_price(7, 101.5)
    assert (bot.time, bot.price) == (twin.time, twin.price) == (7, 101.5)
    assert recorded.price == fed.price == 101.5  # the strategy's view follows
    assert bot.quiet_band() == twin.quiet_band() == (90.0, 110.0)
    assert (recorded.calls, fed.calls) == (0, 1)  # without running the strategy's code


def test_simulator_band_is_its_resting_orders_and_liquidation() -> None:
    bot, sim = make_bot(Silent())
    bot.start()
    assert sim.quiet_band() == LINE
    sim.on_price(1, 100.0)
    bot.on_price(1, 100.0)
    bot.submit_order(OrderSide.BUY, OrderType.LIMIT, quantity=D(1), price=D(95))
    bot.submit_order(OrderSide.SELL, OrderType.LIMIT, quantity=D(1), price=D(105))
    assert sim.quiet_band() == (95.0, 105.0)
    sim.on_price(2, 95.0)  # the buy fills: a long position, liquidated at 0 with 1x
    low, high = sim.quiet_band()
    assert (low, high) == (0.0, 105.0)


def test_boll_promises_its_band() -> None:
    strategy = Boll({"quantity": "1"})
    bot, _sim = make_bot(strategy)
    bot.start()
    strategy.quiet_low, strategy.quiet_high = 1.0, 2.0
    assert bot.quiet_band() == (1.0, 2.0)
