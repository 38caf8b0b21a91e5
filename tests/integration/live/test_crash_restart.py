"""C1-C4 and D1-D3 of reliability.md: a live bot killed at each step (its tasks stop where they
are, nothing more is written or sent), restarted from the same database and exchange."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.signed_rest import ApiKey, SignedTransport
from binbot.adapters.binance.signing import HmacSigner
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.weights import WeightGate
from binbot.domain.market import Market
from binbot.domain.orders import (
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    make_client_order_id,
)
from binbot.engine.risk import TradingState
from binbot.services.live.records import insert_intent
from binbot.services.trading_records import order_row
from binbot.storage import trading_tables as t
from tests.integration.live.conftest import BOT, KEY, SECRET, SYMBOL, Rig, db_orders, until


async def manual_api(rig: Rig) -> BinanceTradingApi:
    """The account owner's own tools, outside binbot."""
    endpoints = local("127.0.0.1", rig.exchange.port)
    return BinanceTradingApi(SignedTransport(
        endpoints.rest_usdm, Market.USDM, ApiKey(KEY, HmacSigner(SECRET)), session=rig.http,
        gate=WeightGate(2400), clock=ClockOffset(), sync_clock_from_server=False))


async def test_c1_intent_committed_never_sent(rig: Rig) -> None:
    live = await rig.start()
    cid = make_client_order_id(BOT, 0)
    intent = OrderIntent(BOT, 0, cid, Market.USDM, SYMBOL, OrderSide.BUY, OrderType.MARKET,
                         Decimal(10), 0)
    row = order_row(Order(intent), "testnet", 0)
    await live.writer.run(lambda c: insert_intent(c, row), synchronous="FULL")
    await live.crash()  # killed between the intent commit and the send
    again = await rig.start()
    assert again.report.ok, again.report.summary()
    assert again.report.not_sent == [cid]
    await again.settle()
    assert db_orders(again.engine)[cid]["status"] == "NOT_SENT"
    order = again.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert order is not None
    assert order.client_order_id != cid  # re-decided under a new id
    await until(lambda: order.status is OrderStatus.FILLED)
    await again.settle()
    assert rig.exchange.ledger.received(cid) == []
    assert rig.executed(order.client_order_id) == 1
    rig.assert_fills_once(again.engine)
    await again.close()


async def test_c2_sent_but_ack_never_stored(rig: Rig) -> None:
    live = await rig.start(execution=rig.config(await rig.instrument()).execution.__class__(
        resolve_delays_s=(30.0,)))
    rig.exchange.faults.execute_then_drop(path="/fapi/v1/order")
    rig.exchange.faults.user_silence()  # the stream's report is lost with the process
    order = live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert order is not None
    await until(lambda: rig.executed(order.client_order_id) == 1)
    await until(lambda: order.status is OrderStatus.UNKNOWN)
    await live.save_snapshot()
    await live.crash()
    rig.exchange.faults.clear()
    rig.exchange.faults.user_unsilence()
    again = await rig.start()
    assert again.report.ok, again.report.summary()
    assert order.client_order_id in again.report.checked
    await again.settle()
    assert db_orders(again.engine)[order.client_order_id]["status"] == "FILLED"
    assert again.core.portfolio.position.quantity == Decimal(10) == rig.exchange_position()
    assert len(rig.exchange.ledger.received(order.client_order_id)) == 1
    rig.assert_fills_once(again.engine)
    await again.close()


async def test_c3_resting_order_fills_while_down(rig: Rig) -> None:
    live = await rig.start()
    last = rig.exchange.price_of(SYMBOL)
    tick = live.core.instrument.tick_size
    order = live.core.submit_order(OrderSide.BUY, OrderType.LIMIT, quantity=Decimal(10),
                                   price=last - tick, time_in_force=TimeInForce.GTC)
    assert order is not None
    await until(lambda: order.status is OrderStatus.NEW)
    await live.settle()
    await live.save_snapshot()
    await live.crash()
    book = rig.exchange.usdm_book(KEY)
    await until(lambda: book.position(SYMBOL).amt == Decimal(10), limit_s=30)
    again = await rig.start()
    assert again.report.ok, again.report.summary()
    await again.settle()
    assert db_orders(again.engine)[order.client_order_id]["status"] == "FILLED"
    assert again.core.portfolio.position.quantity == rig.exchange_position() == Decimal(10)
    rig.assert_fills_once(again.engine)
    # stops re-evaluated: the new position is protected on the exchange
    await until(lambda: bool(book.open_algos))
    await again.close()


async def test_c4_foreign_order_reported_unknown_position_fails_closed(rig: Rig) -> None:
    live = await rig.start()
    await live.close()
    api = await manual_api(rig)
    from binbot.adapters.binance.order_params import OrderRequest
    last = rig.exchange.price_of(SYMBOL)
    await api.place(OrderRequest("/fapi/v1/order", (
        ("symbol", SYMBOL), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "10"),
        ("price", str((last * Decimal("0.97")).quantize(Decimal("0.001")))),
        ("timeInForce", "GTC"), ("newClientOrderId", "manual-1")), False, Decimal(10),
        None, None))
    await api.place(OrderRequest("/fapi/v1/order", (
        ("symbol", SYMBOL), ("side", "BUY"), ("type", "MARKET"), ("quantity", "5"),
        ("newClientOrderId", "manual-2")), False, Decimal(5), None, None))
    again = await rig.start()
    assert not again.report.ok
    assert any("manual-1" in e for e in again.report.external_orders)
    assert any("position" in p for p in again.report.problems)
    assert again.core.risk.state is TradingState.HALTED  # fail closed
    refused = again.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(1))
    assert refused is not None
    assert refused.status is OrderStatus.REJECTED
    assert len(rig.exchange.usdm_book(KEY).open_orders) == 1  # not cancelled by guesswork
    await again.close()
    adopted = await rig.start(adopt=True)
    assert adopted.report.ok, adopted.report.summary()
    assert adopted.core.portfolio.position.quantity == rig.exchange_position() == Decimal(5)
    assert adopted.core.risk.state is TradingState.ACTIVE
    await adopted.close()


async def test_c4_open_orders_5xx_keeps_trading_disabled(rig: Rig) -> None:
    live = await rig.start()
    live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    await until(lambda: live.core.portfolio.position.quantity == Decimal(10))
    await live.settle()
    await live.save_snapshot()
    await live.close()
    rig.exchange.faults.rest_5xx(count=10, variant="internal", path="/fapi/v1/openOrders")
    again = await rig.start()
    assert not again.report.ok
    assert any("open orders" in p for p in again.report.problems)
    assert again.core.risk.state is TradingState.HALTED
    rig.exchange.faults.clear()
    report = await again.session.reconcile()
    assert report.ok, report.summary()
    assert again.core.risk.state is TradingState.ACTIVE
    await again.close()


async def test_d1_dashboard_reads_while_trading(rig: Rig) -> None:
    live = await rig.start()
    errors: list[BaseException] = []
    reads = 0

    def read() -> None:
        with live.engine.connect() as c:
            c.execute(select(t.orders)).all()
            c.execute(select(t.fills)).all()

    async def dashboard() -> None:
        nonlocal reads
        while True:
            try:
                await asyncio.to_thread(read)
                reads += 1
            except Exception as e:
                errors.append(e)
            await asyncio.sleep(0.02)  # ~50 requests a second

    task = asyncio.create_task(dashboard())
    orders = []
    for i in range(6):
        side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
        order = live.core.submit_order(side, OrderType.MARKET, quantity=Decimal(10))
        assert order is not None
        orders.append(order)
        await until(lambda o=order: o.status is OrderStatus.FILLED)  # type: ignore[misc]
        await asyncio.sleep(0.15)  # trading spread over ~1 s of dashboard load
    await live.settle()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert errors == []
    assert reads >= 20
    rows = db_orders(live.engine)
    assert all(rows[o.client_order_id]["status"] == "FILLED" for o in orders)
    rig.assert_fills_once(live.engine)
    await live.close()


async def test_d2_journal_unavailable_nothing_sent_and_halted(rig: Rig) -> None:
    live = await rig.start()
    await live.writer.close()  # the database is gone mid-session
    order = live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert order is not None
    await until(lambda: order.status is OrderStatus.REJECTED)
    assert "could not be persisted" in order.reason
    assert live.core.risk.state is TradingState.HALTED
    assert rig.exchange.ledger.received(order.client_order_id) == []
    assert len(rig.exchange.ledger) == 0
    await live.session.abort()
    live.engine.dispose()


async def test_d3_last_transaction_lost_is_rederived(rig: Rig) -> None:
    live = await rig.start()
    order = live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    assert order is not None
    await until(lambda: order.status is OrderStatus.FILLED)
    await live.settle()
    await live.crash()
    # Power loss: the fills and the order's last update never reached the disk.
    from binbot.storage.database import make_engine, sqlite_url
    engine = make_engine(sqlite_url(rig.db_path))
    with engine.begin() as c:
        c.execute(delete(t.fills))
        c.execute(update(t.orders).values(status="SUBMITTED", filled_qty="0"))
    engine.dispose()
    again = await rig.start()
    assert again.report.ok, again.report.summary()
    await again.settle()
    assert db_orders(again.engine)[order.client_order_id]["status"] == "FILLED"
    assert again.core.portfolio.position.quantity == rig.exchange_position() == Decimal(10)
    rig.assert_fills_once(again.engine)
    assert rig.executed(order.client_order_id) == 1
    await again.close()


@pytest.mark.parametrize("restarts", [2])
async def test_restarts_are_idempotent(rig: Rig, restarts: int) -> None:
    live = await rig.start()
    live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(10))
    await until(lambda: live.core.portfolio.position.quantity == Decimal(10))
    await live.settle()
    await live.save_snapshot()
    await live.crash()
    for _ in range(restarts):
        again = await rig.start()
        assert again.report.ok, again.report.summary()
        assert again.core.portfolio.position.quantity == Decimal(10)
        await again.settle()
        await again.save_snapshot()
        await again.close()
    rig.assert_no_duplicates()
    assert time.time() > 0
