"""The maximum drawdown kill switch: it cancels, flattens, halts and pauses; it survives a
restart; only resume_trading lifts it. Also the operator's halt_trading."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from binbot.domain.market import Market
from binbot.domain.orders import OrderStatus
from binbot.engine import BotCore, BotStatus, RiskLimits, TradingState
from binbot.engine.events import BotEvent, RiskRejected, RiskTriggered, StatusChanged
from binbot.sim import SimConfig, SimulatedExchange
from tests.unit.engine.test_bot import Scripted, make_instrument

D = Decimal
LIMITS = RiskLimits(max_drawdown_pct=10)


def build(saved: dict[str, Any] | None = None) -> tuple[BotCore, SimulatedExchange, Scripted,
                                                         list[BotEvent]]:
    s = Scripted()
    inst = make_instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, D(10_000)))
    events: list[BotEvent] = []
    bot = BotCore("k1", inst, "1m", s, sim, capital=D(10_000), risk_limits=LIMITS,
                  events=events.append)
    if saved is not None:
        sim.restore(saved["sim"])
        bot.restore(saved["bot"])
    bot.start()
    return bot, sim, s, events


def tick(bot: BotCore, sim: SimulatedExchange, t: int, price: float) -> None:
    sim.on_price(t, price)
    bot.on_price(t, price)


def tripped() -> tuple[BotCore, SimulatedExchange, Scripted, list[BotEvent]]:
    bot, sim, s, events = build()
    tick(bot, sim, 1, 1000.0)
    s.buy(5)  # fee 2.5: equity 9997.5 + 5 (p - 1000)
    resting = s.buy(1, price=500.0)
    assert resting is not None
    assert resting.status is OrderStatus.NEW
    for t, p in enumerate([1100.0, 1200.0, 1000.0, 980.06], start=2):  # peak 10997.5 at 1200
        tick(bot, sim, t, p)
    assert bot.status is BotStatus.RUNNING
    tick(bot, sim, 6, 980.05)  # 9897.75 = 90% of the peak
    return bot, sim, s, events


def test_drawdown_cancels_flattens_halts_and_pauses() -> None:
    bot, sim, s, events = tripped()
    assert [(t.kind.value, float(t.price)) for t in bot.portfolio.trades] == [
        ("open_long", 1000.0), ("close_long", 980.05)]
    assert bot.open_orders() == []
    assert sim.open_orders() == []
    assert bot.risk.state is TradingState.HALTED
    assert bot.kill_switch.startswith("max drawdown 10% reached: equity 9897.75 from a peak of "
                                      "10997.5")
    assert bot.status is BotStatus.PAUSED
    assert bot.status_reason == f"kill switch: {bot.kill_switch}"
    [trigger] = [e for e in events if isinstance(e, RiskTriggered)]
    assert (trigger.rule, trigger.action, trigger.time) == ("max_drawdown", "halt", 6)
    calls = len(s.calls)
    tick(bot, sim, 7, 900.0)  # paused: the strategy hears nothing, the monitor does nothing
    assert len(s.calls) == calls
    refused = s.buy(1)
    assert refused is not None
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason.startswith("trading halted: max drawdown 10% reached")
    assert [e.rule for e in events if isinstance(e, RiskRejected)] == ["halted"]


def test_the_kill_switch_survives_a_restart_and_needs_a_manual_resume() -> None:
    bot, sim, _, _ = tripped()
    saved = json.loads(json.dumps({"bot": bot.snapshot(), "sim": sim.snapshot()}))
    again, sim2, s2, events = build(saved)
    assert again.kill_switch == bot.kill_switch
    assert again.risk.state is TradingState.HALTED
    assert again.status is BotStatus.PAUSED
    assert again.snapshot() == bot.snapshot()
    again.resume()  # a plain resume does not lift it
    assert again.status is BotStatus.PAUSED
    tick(again, sim2, 8, 990.0)
    again.stop()
    again.start()  # nor does a stop and start
    assert again.status is BotStatus.PAUSED
    assert s2.calls == []
    again.resume_trading()
    assert again.kill_switch == ""
    assert again.risk.state is TradingState.ACTIVE
    assert again.status is BotStatus.RUNNING
    assert [e.status for e in events if isinstance(e, StatusChanged)][-1] == "running"
    order = s2.buy(5)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    # Drawdown is measured afresh from the equity at the resume, not from the old peak.
    tick(again, sim2, 9, 985.0)
    assert again.risk.state is TradingState.ACTIVE


def test_the_operator_halts_and_resumes() -> None:
    bot, sim, s, events = build()
    tick(bot, sim, 1, 1000.0)
    s.buy(2)
    bot.halt_trading("operator says so", flatten=False)
    assert bot.position.quantity == D(2)
    assert bot.risk.state is TradingState.HALTED
    assert bot.status is BotStatus.PAUSED
    assert [(e.rule, e.action, e.reason) for e in events if isinstance(e, RiskTriggered)] == [
        ("kill_switch", "halt", "operator says so")]
    bot.resume_trading()
    assert bot.status is BotStatus.RUNNING
    bot.halt_trading("again")  # flattening this time
    assert bot.position.quantity == 0
    assert bot.portfolio.trades[-1].client_order_id == bot.recent_orders[-1].client_order_id
    assert bot.recent_orders[-1].intent.tag == "risk:kill_switch"
    bot.reset_kill_switch()  # lifts it but leaves the bot paused
    assert bot.risk.state is TradingState.ACTIVE
    assert bot.status is BotStatus.PAUSED
    bot.resume()
    assert bot.status is BotStatus.RUNNING


def test_an_older_snapshot_without_risk_details_restores() -> None:
    bot, sim, s, _ = build()
    tick(bot, sim, 1, 1000.0)
    s.buy(1)
    saved = json.loads(json.dumps({"bot": bot.snapshot(), "sim": sim.snapshot()}))
    saved["bot"]["risk"] = {"state": "reducing", "reason": "by hand"}
    again, _, _, _ = build(saved)
    assert again.risk.state is TradingState.REDUCING
    assert again.risk.state_reason == "by hand"
    assert again.kill_switch == ""
    assert again.position.quantity == D(1)
