"""BotCore without an event sink (a backtest) and with a strategy that keeps the base class's
order hooks: the same trading, nothing built that nobody reads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import Order, OrderStatus
from binbot.engine import BotCore, RiskLimits
from binbot.engine.events import BotEvent, OrderUpdated
from binbot.sim import SimConfig, SimulatedExchange
from binbot.strategy import Strategy
from tests.unit.engine.test_bot import make_instrument

D = Decimal


class Buyer(Strategy):
    """Buys ``quote`` USDT on every price; keeps the base class's on_order and on_fill."""

    name = "buyer"
    quote = 1000

    def on_price(self, price: float) -> None:
        self.buy(quote_amount=self.quote)


class Watcher(Buyer):
    """The same, and records the order updates and fills it is told about."""

    name = "watcher"

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.seen: list[tuple[str, str]] = []

    def on_order(self, order: Order) -> None:
        self.seen.append(("order", order.status.value))

    def on_fill(self, fill: Fill) -> None:
        self.seen.append(("fill", str(fill.quantity)))


def run(strategy: Strategy, *, sink: bool, cap: str | None = None, recent: int = 200
        ) -> tuple[BotCore, list[BotEvent]]:
    inst = make_instrument()
    sim = SimulatedExchange(inst, SimConfig.standard(Market.USDM, D(10_000)))
    events: list[BotEvent] = []
    limits = RiskLimits(max_order_notional=D(cap)) if cap else None
    bot = BotCore("b1", inst, "1m", strategy, sim, capital=D(10_000), risk_limits=limits,
                  events=events.append if sink else None, recent_orders=recent)
    bot.start()
    for t, price in enumerate((2000.0, 2010.0, 1990.0), start=1):
        sim.on_price(t, price)
        bot.on_price(t, price)
    return bot, events


@pytest.mark.parametrize("cap", [None, "500"])
def test_trading_is_the_same_with_and_without_a_sink(cap: str | None) -> None:
    with_sink, events = run(Buyer(), sink=True, cap=cap)
    without, _ = run(Buyer(), sink=False, cap=cap)
    assert events  # the sink did hear of the orders
    assert list(without.portfolio.trades) == list(with_sink.portfolio.trades)
    assert without.portfolio.changes == with_sink.portfolio.changes
    assert without.equity == with_sink.equity
    assert [o.status for o in without.recent_orders] == [o.status for o in with_sink.recent_orders]
    if cap is None:
        assert len(without.portfolio.trades) == 3
        assert without.portfolio.changes == 3  # one per fill
        assert without.rejected_orders == with_sink.rejected_orders == 0
    else:  # every 1000 USDT order is above the 500 USDT cap
        assert not without.portfolio.trades
        assert without.rejected_orders == with_sink.rejected_orders == 3


def test_hooks_the_strategy_keeps_as_no_ops_are_not_queued() -> None:
    bot, _ = run(Buyer(), sink=False)
    assert bot._order_hook is None and bot._fill_hook is None
    assert not bot._pending
    watcher = Watcher()
    bot, _ = run(watcher, sink=False)
    assert watcher.seen[:4] == [("order", "SUBMITTED"), ("order", "NEW"), ("fill", "0.500"),
                                ("order", "FILLED")]
    assert len(watcher.seen) == 12  # three orders, four calls each


def test_the_sink_still_hears_each_order_change_as_it_was() -> None:
    _, events = run(Buyer(), sink=True)
    updates = [e.order.status for e in events if isinstance(e, OrderUpdated)]
    assert updates == [OrderStatus.SUBMITTED, OrderStatus.NEW, OrderStatus.FILLED] * 3


class TerminalWatcher(Watcher):
    """A watcher that asks for the states of orders that ended without executing only."""

    name = "terminal_watcher"
    order_updates = frozenset({OrderStatus.REJECTED, OrderStatus.EXPIRED})


@pytest.mark.parametrize("sink", [False, True])
def test_on_order_hears_only_the_states_the_strategy_names(sink: bool) -> None:
    watcher = TerminalWatcher()
    _, events = run(watcher, sink=sink)
    # Three filled orders: their fills, none of their SUBMITTED/NEW/FILLED updates.
    assert watcher.seen == [("fill", "0.500"), ("fill", "0.497"), ("fill", "0.502")]
    if sink:  # the sink still hears every change
        updates = [e.order.status for e in events if isinstance(e, OrderUpdated)]
        assert updates == [OrderStatus.SUBMITTED, OrderStatus.NEW, OrderStatus.FILLED] * 3
    refused = TerminalWatcher()
    run(refused, sink=sink, cap="500")  # every order is above the cap: REJECTED
    assert refused.seen == [("order", "REJECTED")] * 3


def test_recent_orders_are_kept_only_as_asked() -> None:
    kept, _ = run(Buyer(), sink=False)
    assert [o.status for o in kept.recent_orders] == [OrderStatus.FILLED] * 3
    two, _ = run(Buyer(), sink=False, recent=2)
    assert two.recent_orders == kept.recent_orders[1:]  # the last two, oldest first
    none, _ = run(Buyer(), sink=False, recent=0)  # a backtest's bot: nobody reads them
    assert none.recent_orders == []
    assert list(none.portfolio.trades) == list(kept.portfolio.trades)
    with pytest.raises(ValueError, match="recent_orders must be >= 0, was -1"):
        run(Buyer(), sink=False, recent=-1)
