"""A live session end to end: journal before send, reconciliation at start, protective stop,
kill switch."""

from __future__ import annotations

from decimal import Decimal

from binbot.domain.orders import OrderSide, OrderStatus, OrderType
from binbot.engine.risk import TradingState
from binbot.services.live.protect import STOP_TAG
from tests.integration.live.conftest import Rig, db_orders, until


async def test_trade_is_journaled_protected_and_recorded_once(rig: Rig) -> None:
    live = await rig.start()
    assert live.report.ok, live.report.summary()
    core = live.core
    order = core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert order is not None
    await until(lambda: core.portfolio.position.quantity == Decimal(10))
    await live.settle()
    await until(lambda: any(o.intent.tag == STOP_TAG and o.status is OrderStatus.NEW
                            for o in core.open_orders()))
    await live.settle()
    rows = db_orders(live.engine)
    assert rows[order.client_order_id]["status"] == "FILLED"
    assert Decimal(rows[order.client_order_id]["filled_qty"]) == Decimal(10)
    stop = next(o for o in core.open_orders() if o.intent.tag == STOP_TAG)
    assert stop.intent.reduce_only
    assert stop.intent.quantity == Decimal(10)
    assert rig.exchange.usdm_book("live-key").open_algos
    assert rig.executed(order.client_order_id) == 1
    assert rig.exchange_position() == core.portfolio.position.quantity
    rig.assert_fills_once(live.engine)
    await live.close()


async def test_kill_switch_cancels_flattens_and_halts(rig: Rig) -> None:
    live = await rig.start()
    core = live.core
    core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    await until(lambda: any(o.intent.tag == STOP_TAG and o.status is OrderStatus.NEW
                            for o in core.open_orders()))
    await live.session.kill("operator test")
    await live.settle()
    await until(lambda: rig.exchange_position() == 0)
    await until(lambda: core.portfolio.position.quantity == 0)
    assert not rig.exchange.usdm_book("live-key").open_algos
    assert core.risk.state is TradingState.HALTED
    assert core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(1)).status \
        is OrderStatus.REJECTED  # type: ignore[union-attr]
    await live.save_snapshot()
    await live.close()
    again = await rig.start()
    assert again.core.risk.state is TradingState.HALTED  # persisted through the snapshot
    rig.assert_no_duplicates()
    rig.assert_fills_once(again.engine)
    await again.close()
