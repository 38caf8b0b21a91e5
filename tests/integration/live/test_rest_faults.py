"""R1-R6 of reliability.md: exchange REST faults around a live bot's orders. "Nothing lost":
the exchange received each order the expected number of times, positions agree, each fill is
recorded once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from binbot.domain.account import AlarmKind
from binbot.domain.orders import Order, OrderSide, OrderStatus, OrderType
from binbot.engine.risk import TradingState
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.server import ExchangeOptions, LocalExchange
from tests.integration.live.conftest import DATA, KEY, SECRET, Live, Rig, db_orders, until

ORDER_PATH = "/fapi/v1/order"


def buy(live: Live, qty: str = "10") -> Order:
    order = live.core.submit_order(OrderSide.BUY, OrderType.MARKET, quantity=Decimal(qty))
    assert order is not None
    return order


async def assert_nothing_lost(rig: Rig, live: Live, cid: str, executed: int) -> None:
    await live.settle()
    assert rig.executed(cid) == executed
    await until(lambda: rig.exchange_position() == live.core.portfolio.position.quantity)
    await live.settle()
    rig.assert_fills_once(live.engine)
    rig.assert_no_duplicates()


@pytest.mark.parametrize("variant", ["unknown", "timeout", "internal"])
async def test_r2_executed_then_5xx_is_adopted_not_resent(rig: Rig, variant: str) -> None:
    live = await rig.start()
    rig.exchange.faults.execute_then_5xx(variant=variant, path=ORDER_PATH)
    order = buy(live)
    await until(lambda: order.status is OrderStatus.FILLED)
    await assert_nothing_lost(rig, live, order.client_order_id, 1)
    assert len(rig.exchange.ledger.received(order.client_order_id)) == 1  # never resent
    assert db_orders(live.engine)[order.client_order_id]["status"] == "FILLED"
    await live.close()


async def test_r1_response_held_past_the_timeout(rig: Rig) -> None:
    live = await rig.start(request_timeout_s=0.5)
    rig.exchange.faults.execute_then_delay(1.5, path=ORDER_PATH)
    order = buy(live)
    await until(lambda: order.status is OrderStatus.FILLED)
    await assert_nothing_lost(rig, live, order.client_order_id, 1)
    assert len(rig.exchange.ledger.received(order.client_order_id)) == 1
    await live.close()


async def test_r3_unavailable_and_not_executed_becomes_not_sent(rig: Rig) -> None:
    live = await rig.start()
    rig.exchange.faults.rest_5xx(variant="unavailable", path=ORDER_PATH)
    order = buy(live)
    await until(lambda: order.status is OrderStatus.NOT_SENT)
    await assert_nothing_lost(rig, live, order.client_order_id, 0)
    again = buy(live)  # the strategy may decide again, under a new id
    assert again.client_order_id != order.client_order_id
    await until(lambda: again.status is OrderStatus.FILLED)
    await assert_nothing_lost(rig, live, again.client_order_id, 1)
    await live.close()


async def test_r4_429_then_418_halts_and_nothing_executes_twice(rig: Rig) -> None:
    live = await rig.start()
    rig.exchange.faults.rest_429(retry_after=1, path=ORDER_PATH)
    first = buy(live)
    await until(lambda: first.status is OrderStatus.REJECTED)
    assert "rate" in first.reason.lower() or "429" in first.reason
    assert live.core.risk.state is TradingState.ACTIVE  # 429: wait, do not halt
    rig.exchange.faults.rest_418(retry_after=2, path=ORDER_PATH)
    second = buy(live)
    await until(lambda: second.status is OrderStatus.REJECTED)
    await until(lambda: live.core.risk.state is TradingState.HALTED)
    kinds = [a.kind for a in live.session.status.alarms]
    assert AlarmKind.RATE_LIMITED in kinds
    assert AlarmKind.IP_BANNED in kinds
    third = buy(live)
    assert third.status is OrderStatus.REJECTED  # HALTED: refused before anything is sent
    for order in (first, second, third):
        assert rig.executed(order.client_order_id) == 0
    assert rig.exchange.ledger.received(third.client_order_id) == []
    rows = db_orders(live.engine)
    assert rows[first.client_order_id]["status"] == "REJECTED"  # expired with its reason
    assert rows[first.client_order_id]["reason"]
    await live.close()


@pytest.fixture
async def virtual_signing_exchange() -> AsyncIterator[LocalExchange]:
    """An exchange whose /time is the clock it checks signatures with (speed 1): the real
    venue's arrangement, for the client's clock resync."""
    options = ExchangeOptions(data_files=[DATA], speed=1.0, signing_clock="virtual",
                              accounts=[AccountSpec(api_key=KEY, hmac_secret=SECRET)])
    async with LocalExchange(options) as ex:
        yield ex


async def test_r5_clock_skew_resyncs_and_sends_once(virtual_signing_exchange: LocalExchange,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    async with aiohttp.ClientSession() as http:
        rig = Rig(virtual_signing_exchange, http, tmp_path / "r5.sqlite")
        live = await rig.start(sync_clock=True)
        # Our wall clock steps 2 s ahead after the clock was synced at start.
        clock = live.session.transport.clock
        monkeypatch.setattr(clock, "_wall", lambda: time.time() + 2.0)
        order = buy(live)
        await until(lambda: order.status is OrderStatus.FILLED)
        await assert_nothing_lost(rig, live, order.client_order_id, 1)
        assert live.session.transport.clock_resyncs == 1
        assert len(rig.exchange.ledger.received(order.client_order_id)) == 2  # -1021, resend
        await live.close()


async def test_r6_filters_change_mid_run(rig: Rig) -> None:
    live = await rig.start(filter_refresh_s=0.0)
    step = live.core.instrument.step_size
    rig.exchange.set_rules("FILUSDT", step_size=str(step * 10))
    first = buy(live, str(step * 55))  # fine for the old step, not for the new one
    await until(lambda: first.status is OrderStatus.REJECTED)
    assert "-4023" in first.reason  # USD-M: quantity not a multiple of the step
    await until(lambda: live.session.client.instruments["FILUSDT"].step_size == step * 10)
    second = buy(live, str(step * 105))  # now quantised locally to the new step
    await until(lambda: second.status is OrderStatus.FILLED)
    assert second.filled_qty == step * 100
    assert len(rig.exchange.ledger.received(first.client_order_id)) == 1  # no retry loop
    assert rig.executed(first.client_order_id) == 0
    assert db_orders(live.engine)[first.client_order_id]["reason"]
    await assert_nothing_lost(rig, live, second.client_order_id, 1)
    await live.close()
