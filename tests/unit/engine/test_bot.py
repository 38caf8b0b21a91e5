"""BotCore: order flow through the risk gate, events, error containment, routing, persistence."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from binbot.domain.candle import Candle
from binbot.domain.fills import Fill
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce
from binbot.engine import BotCore, BotStatus, RiskLimits, TradingState
from binbot.engine.events import (
    BotEvent,
    FillRecorded,
    IntentCreated,
    OrderUpdated,
    StatusChanged,
    StrategyErrored,
)
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import Strategy

D = Decimal


def make_instrument(market: Market = Market.USDM) -> Instrument:
    d = Decimal
    return Instrument(market, "ETHUSDT", "ETH", "USDT", "TRADING", d("0.01"), d("0.01"),
                      d(1_000_000), d("0.001"), d("0.001"), d(10_000), d("0.001"), d("0.001"),
                      d(10_000), d(5))


def make_candle(open_time: int, close: float, market: Market = Market.USDM) -> Candle:
    return Candle(market, "ETHUSDT", "1m", open_time, open_time + 59_999, close, close, close,
                  close, 1.0, close, 1, 0.5, close / 2, True)


class Scripted(Strategy):
    """Runs the callables queued in ``script`` on each price; records every hook call."""

    name = "scripted"

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.calls: list[tuple[str, Any]] = []
        self.script: list[Callable[[Scripted], Any]] = []

    def on_start(self) -> None:
        self.calls.append(("start", None))

    def on_candle(self, candle: Candle) -> None:
        self.calls.append(("candle", candle.close))

    def on_price(self, price: float) -> None:
        self.calls.append(("price", price))
        if self.script:
            self.script.pop(0)(self)
        self.calls.append(("price_done", price))

    def on_order(self, order: Order) -> None:
        self.calls.append(("order", order.status.value))

    def on_fill(self, fill: Fill) -> None:
        self.calls.append(("fill", str(fill.quantity)))

    def on_stop(self) -> None:
        self.calls.append(("stop", None))


def wire(strategy: Strategy, market: Market = Market.USDM, capital: str = "10000",
         **kwargs: Any) -> tuple[BotCore, SimulatedExchange, list[BotEvent]]:
    inst = make_instrument(market)
    sim = SimulatedExchange(inst, SimConfig.standard(market, D(capital)))
    events: list[BotEvent] = []
    bot = BotCore("b1", inst, "1m", strategy, sim, capital=D(capital), events=events.append,
                  **kwargs)
    return bot, sim, events


def tick(bot: BotCore, sim: SimulatedExchange, time_ms: int, price: float) -> None:
    sim.on_price(time_ms, price)
    bot.on_price(time_ms, price)


def test_fills_reach_the_strategy_after_its_hook_returns() -> None:
    s = Scripted()
    bot, sim, events = wire(s)
    bot.start()
    s.script.append(lambda st: st.buy(quote_amount=1000))
    tick(bot, sim, 1, 2000.0)
    assert s.calls == [("start", None), ("price", 2000.0), ("price_done", 2000.0),
                       ("order", "SUBMITTED"), ("order", "NEW"), ("fill", "0.500"),
                       ("order", "FILLED")]
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("IntentCreated") < kinds.index("OrderUpdated")
    assert any(isinstance(e, FillRecorded) for e in events)
    assert bot.position.quantity == D("0.5")
    assert bot.position.side == "long"
    assert bot.balance == D(10000) - D("0.5")  # the taker fee
    tick(bot, sim, 2, 2100.0)
    assert bot.equity == D(10000) - D("0.5") + D(50)
    [trade] = bot.portfolio.trades
    assert (trade.kind.value, trade.price, trade.quantity) == ("open_long", D(2000), D("0.5"))


def test_sizing_rounds_and_refuses_what_cannot_be_formed(caplog: pytest.LogCaptureFixture) -> None:
    s = Scripted()
    bot, sim, _ = wire(s)
    bot.start()
    assert s.buy(quote_amount=100) is None  # no price yet
    tick(bot, sim, 1, 3000.0)
    assert s.buy(0.0001) is None  # rounds to zero
    order = s.sell(quote_amount=100)
    assert order is not None
    assert order.intent.quantity == D("0.033")
    limit = s.buy(0.01, price=2999.999)
    assert limit is not None
    assert limit.intent.price == D("2999.99")  # a buy rounds down
    assert limit.intent.time_in_force is TimeInForce.GTC
    assert limit.status is OrderStatus.NEW
    assert [o.client_order_id for o in bot.open_orders()] == [limit.client_order_id]
    s.cancel(limit.client_order_id)
    assert limit.status is OrderStatus.CANCELED
    assert bot.open_orders() == []
    assert "order not formed" in caplog.text


def test_risk_gate_states_and_limits() -> None:
    s = Scripted()
    bot, sim, _ = wire(s, risk_limits=RiskLimits(max_position_share=D("0.5")))
    bot.start()
    tick(bot, sim, 1, 1000.0)
    too_big = s.buy(6)  # 6000 > 0.5 * 10000
    assert too_big is not None
    assert too_big.status is OrderStatus.REJECTED
    assert "position notional above" in too_big.reason
    filters = s.buy(0.004)  # notional 4 < min 5
    assert filters is not None
    assert "notional below minimum" in filters.reason
    assert s.buy(2) is not None
    bot.risk.set_state(TradingState.REDUCING, "daily loss")
    blocked = s.buy(1)
    assert blocked is not None
    assert blocked.reason == "only reducing orders allowed: daily loss"
    closing = s.close()
    assert closing is not None
    assert closing.status is OrderStatus.FILLED
    assert closing.intent.reduce_only
    bot.risk.set_state(TradingState.HALTED, "kill switch")
    halted = s.sell(1)
    assert halted is not None
    assert halted.reason == "trading halted: kill switch"
    bot.risk.set_state(TradingState.ACTIVE)
    bot.pause("operator")
    paused = s.buy(1)
    assert paused is not None
    assert paused.reason == "bot is not running"


def test_strategy_errors_are_contained_then_pause_the_bot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Flaky(Strategy):
        name = "flaky"
        fail = True

        def on_price(self, price: float) -> None:
            if self.fail:
                raise RuntimeError(f"boom at {price}")

    s = Flaky()
    bot, sim, events = wire(s, max_consecutive_errors=3)
    bot.start()
    caplog.set_level(logging.ERROR)
    tick(bot, sim, 1, 100.0)
    tick(bot, sim, 2, 101.0)
    s.fail = False
    tick(bot, sim, 3, 102.0)  # success resets the count
    s.fail = True
    for t in range(4, 7):
        tick(bot, sim, t, 100.0 + t)
    assert bot.status is BotStatus.PAUSED
    assert "3 consecutive strategy errors" in bot.status_reason
    errors = [e for e in events if isinstance(e, StrategyErrored)]
    assert len(errors) == 5
    assert "RuntimeError: boom at 100.0" in errors[0].failure.traceback
    assert "Traceback" in caplog.text
    tick(bot, sim, 7, 200.0)  # paused: the hook is not called any more
    assert len([e for e in events if isinstance(e, StrategyErrored)]) == 5
    bot.resume()
    assert bot.status is BotStatus.RUNNING
    assert [e.status for e in events if isinstance(e, StatusChanged)] == [
        "running", "paused", "running"]


def test_price_source_routes_the_real_time_feed() -> None:
    s = Scripted()
    s.price_source = "mark"
    bot, sim, _ = wire(s)
    bot.start()
    tick(bot, sim, 1, 100.0)
    bot.on_mark_price(2, 101.0)
    s.price_source = "book_mid"
    bot.pause("x")
    bot.resume()
    bot.on_book_ticker(3, 99.0, 101.0)
    bot.on_mark_price(4, 105.0)
    prices = [arg for name, arg in s.calls if name == "price"]
    assert prices == [101.0, 100.0]


def test_candles_forming_and_duplicates() -> None:
    s = Scripted()
    bot, _sim, _ = wire(s)
    bot.load_history([make_candle(0, 10.0), make_candle(60_000, 11.0)])
    bot.start()
    bot.on_forming_candle(_unclosed(120_000, 11.5))
    assert bot.forming is not None
    bot.on_candle_closed(make_candle(120_000, 12.0))
    bot.on_candle_closed(make_candle(60_000, 99.0))  # older: ignored
    assert bot.forming is None
    assert list(bot.candles.close) == [10.0, 11.0, 12.0]
    assert [c for c in s.calls if c[0] == "candle"] == [("candle", 12.0)]
    frame = bot.candles.to_frame()
    assert list(frame["close"]) == [10.0, 11.0, 12.0]
    with pytest.raises(ValueError, match="not closed"):
        bot.on_candle_closed(_unclosed(180_000, 1.0))


def _unclosed(open_time: int, close: float) -> Any:
    from dataclasses import replace

    return replace(make_candle(open_time, close), closed=False)


def test_liquidation_fill_of_an_unknown_order_updates_the_portfolio() -> None:
    s = Scripted()
    inst = make_instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, D(1000), leverage=10))
    bot = BotCore("b1", inst, "1m", s, sim, capital=D(1000), leverage=10)
    bot.start()
    tick(bot, sim, 1, 2000.0)
    s.buy(4)  # 8000 notional at 10x
    assert bot.position.liquidation_price is not None
    sim.on_mark_price(2, 1700.0)
    bot.on_mark_price(2, 1700.0)
    assert bot.position.quantity == 0
    assert bot.portfolio.trades[-1].kind.value == "close_long"
    assert bot.portfolio.trades[-1].client_order_id.startswith("autoclose-")
    assert bot.portfolio.balance == sim.account.balance


def test_snapshot_restore_resumes_exactly() -> None:
    from binbot.strategy.builtin.boll import Boll

    rng = random.Random(7)
    prices = [100.0]
    for _ in range(399):
        prices.append(round(prices[-1] + rng.gauss(0, 1), 2))

    def build() -> tuple[BotCore, SimulatedExchange, list[BotEvent]]:
        return wire(Boll({"period": 10, "quantity": "1"}), capital="100000")

    def feed(bot: BotCore, sim: SimulatedExchange, start: int, stop: int) -> None:
        for i in range(start, stop):
            for j in range(3):
                tick(bot, sim, i * 60_000 + j, prices[i] + j * 0.7 - 0.7)
            bot.on_candle_closed(make_candle(i * 60_000, prices[i]))

    a, sim_a, _ = build()
    a.start()
    feed(a, sim_a, 0, 200)
    saved = json.loads(json.dumps({"bot": a.snapshot(), "sim": sim_a.snapshot()}))
    b, sim_b, _ = build()
    sim_b.restore(saved["sim"])
    b.restore(saved["bot"])
    b.start()
    assert b.snapshot() == a.snapshot()
    feed(a, sim_a, 200, 400)
    feed(b, sim_b, 200, 400)
    assert len(a.portfolio.trades) > 20
    assert list(a.portfolio.trades) == list(b.portfolio.trades)
    assert a.snapshot() == b.snapshot()
    assert sim_a.snapshot() == sim_b.snapshot()


def test_restore_refuses_a_foreign_snapshot() -> None:
    a, _, _ = wire(Scripted())
    snap = a.snapshot()
    b, _, _ = wire(Scripted())
    snap["bot_id"] = "other"
    with pytest.raises(ValueError, match="restored into"):
        b.restore(snap)


def test_stop_calls_on_stop_once() -> None:
    s = Scripted()
    bot, _, events = wire(s)
    bot.start()
    bot.stop()
    bot.stop()
    assert [c for c in s.calls if c[0] == "stop"] == [("stop", None)]
    assert isinstance(events[-1], StatusChanged)
    assert bot.status is BotStatus.STOPPED


def test_intent_ids_are_sequential_and_deterministic() -> None:
    s = Scripted()
    bot, sim, events = wire(s)
    bot.start()
    tick(bot, sim, 1, 1000.0)
    s.buy(1)
    s.sell(1)
    intents = [e.intent for e in events if isinstance(e, IntentCreated)]
    assert [i.intent_seq for i in intents] == [0, 1]
    assert intents[0].side is OrderSide.BUY
    assert intents[1].type is OrderType.MARKET
    updates = [e for e in events if isinstance(e, OrderUpdated)]
    assert updates[0].order.status is OrderStatus.SUBMITTED

