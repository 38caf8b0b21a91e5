"""RiskLimits settings and the pre-trade checks of the risk gate, through BotCore."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from binbot.domain.market import Market
from binbot.domain.orders import OrderStatus
from binbot.engine import BotCore, RiskLimits, RiskLimitsError, TradingState
from binbot.engine.events import BotEvent, IntentCreated, OrderUpdated, RiskRejected
from binbot.sim import SimConfig, SimulatedExchange
from tests.unit.engine.test_bot import Scripted, make_instrument, tick, wire

D = Decimal


def rejections(events: list[object]) -> list[tuple[str, str]]:
    return [(e.rule, e.reason) for e in events if isinstance(e, RiskRejected)]


def test_limits_from_a_plain_dict() -> None:
    assert RiskLimits.from_dict({}) == RiskLimits()
    assert RiskLimits.from_dict(None) == RiskLimits()
    limits = RiskLimits.from_dict({
        "max_position_share": "0.5", "max_leverage": 3, "stop_loss_atr": 2,
        "take_profit_pct": 5, "trailing_stop_pct": 1.5, "daily_loss_pct": 3,
        "daily_loss_flatten": True, "daily_target_pct": 4, "max_drawdown_pct": 20,
        "max_orders": 10, "orders_window_s": 30,
    })
    assert limits.max_position_share == D("0.5")
    assert limits.stop_loss_atr == 2.0
    assert limits.uses_atr
    assert limits.daily
    assert limits.watches_prices
    assert RiskLimits.from_dict(limits.to_dict()) == limits
    assert RiskLimits().to_dict() == {}
    assert not RiskLimits(max_orders=5, max_leverage=D(2)).watches_prices


@pytest.mark.parametrize(("raw", "message"), [
    ({"stop_loss_pct": -5}, "risk setting 'stop_loss_pct': Input should be greater than 0, "
                            "was -5"),
    ({"max_drawdown_pct": 150}, "risk setting 'max_drawdown_pct': Input should be less than 100"
                                ", was 150"),
    ({"max_leverage": 0}, "risk setting 'max_leverage'"),
    ({"max_orders": "many"}, "risk setting 'max_orders'"),
    ({"stop_los_pct": 2}, "unknown risk setting 'stop_los_pct'"),
    ({"stop_loss_pct": 2, "stop_loss_atr": 1}, "give stop_loss_pct or stop_loss_atr, not both"),
    ({"trailing_stop_pct": 1, "trailing_stop_atr": 1}, "trailing_stop_pct or trailing_stop_atr"),
])
def test_bad_settings_name_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(RiskLimitsError) as caught:
        RiskLimits.from_dict(raw)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(RiskLimitsError) as caught:
        RiskLimits.from_dict({"daily_loss_pct": 0, "atr_period": 0, "extra": 1})
    text = str(caught.value)
    assert "'daily_loss_pct'" in text
    assert "'atr_period'" in text
    assert "'extra'" in text


def test_a_rejection_is_an_event_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    s = Scripted()
    bot, sim, events = wire(s, risk_limits=RiskLimits(max_order_notional=D(1000)))
    bot.start()
    tick(bot, sim, 1, 100.0)
    caplog.set_level(logging.WARNING)
    order = s.buy(11, tag="big")
    assert order is not None
    assert order.status is OrderStatus.REJECTED
    kinds = [type(e).__name__ for e in events[-3:]]
    assert kinds == ["IntentCreated", "RiskRejected", "OrderUpdated"]
    rejected = events[-2]
    assert isinstance(rejected, RiskRejected)
    assert isinstance(events[-3], IntentCreated)
    assert rejected.intent.client_order_id == order.client_order_id
    assert (rejected.rule, rejected.reason) == ("max_order_notional",
                                                "order notional above 1000, was 1100.0000")
    assert rejected.time == 1
    last = events[-1]
    assert isinstance(last, OrderUpdated)
    assert last.order.reason == rejected.reason
    assert "rejected by the risk gate [max_order_notional]" in caplog.text
    assert "big" in caplog.text


def test_order_notional_cap_spares_reducing_orders() -> None:
    s = Scripted()
    bot, sim, events = wire(s, risk_limits=RiskLimits(max_order_notional=D(1000)))
    bot.start()
    tick(bot, sim, 1, 100.0)
    for _ in range(3):
        assert s.buy(9) is not None
    closing = s.close()
    assert closing is not None
    assert closing.status is OrderStatus.FILLED  # 2700 notional, but it reduces
    assert rejections(events) == []


def test_leverage_is_measured_against_equity() -> None:
    s = Scripted()
    inst = make_instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, D(1000), leverage=5))
    events: list[BotEvent] = []
    bot = BotCore("b1", inst, "1m", s, sim, capital=D(1000), leverage=5, events=events.append,
                  risk_limits=RiskLimits(max_leverage=D(2)))
    bot.start()
    tick(bot, sim, 1, 100.0)
    first = s.buy(19)  # 1900 <= 2 x 1000 (flat: equity = capital)
    assert first is not None
    assert first.status is OrderStatus.FILLED
    second = s.buy(1)  # 2000 > 2 x (1000 - 0.95 fee)
    assert second is not None
    assert second.status is OrderStatus.REJECTED
    tick(bot, sim, 2, 110.0)  # equity 1189.05: room for 2378 / 110 = 21.6
    third = s.buy(2)
    assert third is not None
    assert third.status is OrderStatus.FILLED
    assert [rule for rule, _ in rejections(events)] == ["max_leverage"]
    assert rejections(events)[0][1].startswith("position notional above 2 x equity = 1998.1")


def test_position_share_of_capital() -> None:
    s = Scripted()
    bot, sim, events = wire(s, risk_limits=RiskLimits(max_position_share=D("0.25")))
    bot.start()
    tick(bot, sim, 1, 100.0)
    assert s.buy(25) is not None
    blocked = s.buy(1)
    assert blocked is not None
    assert blocked.reason == "position notional above 2500.00, was 2600.0000"
    flip = s.sell(50)  # a flip is not a reduction: 25 short would be fine, the check is on it
    assert flip is not None
    assert flip.status is OrderStatus.FILLED
    assert bot.position.quantity == D(-25)
    assert [rule for rule, _ in rejections(events)] == ["max_position"]


def test_order_rate_limit_over_a_rolling_window() -> None:
    s = Scripted()
    bot, sim, events = wire(s, risk_limits=RiskLimits(max_orders=3, orders_window_s=10))
    bot.start()
    statuses = []
    for t, action in [(1_000, "buy"), (2_000, "buy"), (3_000, "buy"), (4_000, "buy"),
                      (5_000, "close"), (10_999, "buy"), (11_000, "buy"), (12_000, "buy"),
                      (13_000, "buy")]:
        tick(bot, sim, t, 100.0)
        order = s.buy(1) if action == "buy" else s.close()
        assert order is not None
        statuses.append(order.status.value)
    assert statuses == [
        "FILLED", "FILLED", "FILLED",
        "REJECTED",  # a 4th order within 10 s
        "FILLED",  # a closing order passes (and counts)
        "REJECTED",  # 1, 2, 3 and 5 s are all inside (10.999 - 10, 10.999]
        "REJECTED",  # 1 s has left the window at 11 s; 2, 3 and 5 s remain
        "FILLED",  # at 12 s only 3 and 5 s remain
        "FILLED",  # at 13 s only 5 and 12 s remain
    ]
    reasons = rejections(events)
    assert reasons == [("rate_limit", "order rate limit: 3 orders in 10s")] * 3


def test_states_keep_their_sources_apart() -> None:
    s = Scripted()
    bot, sim, _ = wire(s)
    bot.start()
    tick(bot, sim, 1, 100.0)
    gate = bot.risk
    gate.block_entries("daily loss limit", until_ms=86_400_000)
    assert (gate.state, gate.state_reason) == (TradingState.REDUCING, "daily loss limit")
    gate.trip_kill_switch("max drawdown")
    assert (gate.state, gate.state_reason) == (TradingState.HALTED, "max drawdown")
    gate.set_state(TradingState.ACTIVE)  # the operator's ACTIVE lifts neither
    assert gate.state is TradingState.HALTED
    gate.reset_kill_switch()
    assert gate.state is TradingState.REDUCING
    blocked = s.buy(1)
    assert blocked is not None
    assert blocked.reason == "only reducing orders allowed: daily loss limit"
    tick(bot, sim, 86_400_000, 100.0)  # the block's day is over
    assert s.buy(1) is not None
    assert gate.state is TradingState.ACTIVE


def test_position_cap_grows_with_the_equity_above_capital() -> None:
    """Sizing from equity (BOLL: 0.9 x equity x leverage) must stay possible after profits:
    the cap is share x the larger of capital and equity x leverage."""
    s = Scripted()
    inst = make_instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, D(1000)))
    events: list[BotEvent] = []
    bot = BotCore("b1", inst, "1m", s, sim, capital=D(1000), events=events.append)
    bot.start()
    tick(bot, sim, 1, 100.0)
    assert s.buy(9) is not None  # 900
    tick(bot, sim, 2, 150.0)
    closing = s.close()  # +450 gross: equity 1000 + 450 - fees (0.45 + 0.675) = 1448.875
    assert closing is not None
    assert closing.status is OrderStatus.FILLED
    assert bot.equity == D("1448.875")
    entry = s.buy(quote_amount=float(bot.equity) * 0.9)  # 8.693 x 150 = 1303.95 > 1000
    assert entry is not None
    assert entry.status is OrderStatus.FILLED, entry.reason
    too_big = s.buy(1.1)  # 9.793 x 150 = 1468.95 > equity 1448.875 - 0.651975 entry fee
    assert too_big is not None
    assert too_big.status is OrderStatus.REJECTED
    assert too_big.reason.startswith("position notional above 1448.223025")
    assert [rule for rule, _ in rejections(events)] == ["max_position"]


def test_stale_market_data_blocks_entries_but_not_exits() -> None:
    s = Scripted()
    bot, sim, events = wire(s)
    bot.start()
    s.script.append(lambda st: st.buy(quantity=1))
    tick(bot, sim, 1_000, 100.0)
    assert bot.position.quantity == D(1)
    bot.risk.mark_stale("market data stale for 12 s")
    assert bot.risk.state is TradingState.REDUCING
    s.script.append(lambda st: st.buy(quantity=1))  # a new entry: refused
    tick(bot, sim, 2_000, 101.0)
    assert bot.position.quantity == D(1)
    assert rejections(events)[-1][1].endswith("market data stale for 12 s")
    s.script.append(lambda st: st.close())  # an exit: allowed
    tick(bot, sim, 3_000, 102.0)
    assert bot.position.quantity == 0
    bot.risk.mark_fresh()
    assert bot.risk.state is TradingState.ACTIVE
    s.script.append(lambda st: st.buy(quantity=1))
    tick(bot, sim, 4_000, 103.0)
    assert bot.position.quantity == D(1)
