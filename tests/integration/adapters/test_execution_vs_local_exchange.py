"""binbot's Binance execution client and user stream against the local exchange (two
independent implementations of Binance's signed API)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.execution import BinanceExecutionClient, ExecutionOptions
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.signed_rest import (
    ApiKey,
    SignedTransport,
    syncs_clock_from_server,
)
from binbot.adapters.binance.signing import HmacSigner
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.user_stream import UsdmUserStream, UserStreamOptions
from binbot.adapters.binance.weights import WeightGate
from binbot.domain.market import Market
from binbot.domain.orders import (
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    make_client_order_id,
)
from binbot.exchange.accounts import AccountSpec
from binbot.exchange.server import ExchangeOptions, LocalExchange

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = (REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
        / "FILUSDT-1m-2025-04.csv.gz")
KEY, SECRET = "exec-key", "exec-secret"


async def until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Poll state that two independent servers/clients update (no event to wait on)."""
    async with asyncio.timeout(limit_s):
        for _ in itertools.count():
            if predicate():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def exchange() -> AsyncIterator[LocalExchange]:
    options = ExchangeOptions(data_files=[DATA], speed=60.0,
                              accounts=[AccountSpec(api_key=KEY, hmac_secret=SECRET)])
    async with LocalExchange(options) as ex:
        yield ex


async def test_market_order_and_user_stream(exchange: LocalExchange) -> None:
    endpoints = local("127.0.0.1", exchange.port)
    async with aiohttp.ClientSession() as session:
        rest = BinanceRestClient(endpoints, session=session)
        instruments = await rest.instruments(Market.USDM)
        transport = SignedTransport(endpoints.rest_usdm, Market.USDM,
                                    ApiKey(KEY, HmacSigner(SECRET)), session=session,
                                    gate=WeightGate(2400), clock=ClockOffset())
        api = BinanceTradingApi(transport)
        client = BinanceExecutionClient(api, instruments, options=ExecutionOptions(
            resolve_delays_s=(0.05,) * 5, fill_fetch_delays_s=(0.0, 0.1, 0.3)))
        events: list[OrderEvent] = []
        stream_items: list[Any] = []
        client.bind(events.append)

        def sink(item: Any) -> None:
            stream_items.append(item)
            client.handle_user_event(item)

        stream = UsdmUserStream(api, session, endpoints.ws_usdm_root, sink,
                                UserStreamOptions(backoff_initial_s=0.05, backoff_max_s=0.2))
        stream.start()
        try:
            await until(stream.connected.is_set)
            await client.prepare_symbol("FILUSDT", leverage=2)
            cid = make_client_order_id("itest", 1)
            client.submit(OrderIntent(
                bot_id="itest", intent_seq=1, client_order_id=cid, market=Market.USDM,
                symbol="FILUSDT", side=OrderSide.BUY, type=OrderType.MARKET,
                quantity=Decimal("10"), created_time=0))
            await client.drain()
            await until(lambda: any(isinstance(i, parse.OrderReport) and i.fill is not None
                                    for i in stream_items))
            ours = [e.status for e in events if e.client_order_id == cid]
            assert ours[:2] == [OrderStatus.SUBMITTED, OrderStatus.NEW]
            assert ours[-1] is OrderStatus.FILLED
            fills = [e.fill for e in events if e.fill is not None]
            assert sum(f.quantity for f in fills) == Decimal("10")
            assert len({f.trade_id for f in fills}) == len(fills)
            positions = await client.fetch_positions("FILUSDT")
            assert [p.quantity for p in positions] == [Decimal("10")]
            fetched = await client.fetch_fills("FILUSDT", from_trade_id=0)
            assert {f.trade_id for f in fetched} == {f.trade_id for f in fills}
            assert {f.client_order_id for f in fetched} == {cid}
        finally:
            await stream.close()
            await client.close()


@pytest.mark.parametrize("fault", [
    "execute_then_5xx",
    "execute_then_drop",
    # The local exchange's /time is virtual: the transport signs with the wall clock there
    # (sync_clock_from_server=False), so the resend after -1021 is simply re-signed.
    "rest_1021",
])
async def test_faulty_submit_executes_exactly_once(exchange: LocalExchange, fault: str) -> None:
    endpoints = local("127.0.0.1", exchange.port)
    async with aiohttp.ClientSession() as session:
        instruments = await BinanceRestClient(endpoints, session=session).instruments(
            Market.USDM)
        transport = SignedTransport(endpoints.rest_usdm, Market.USDM,
                                    ApiKey(KEY, HmacSigner(SECRET)), session=session,
                                    gate=WeightGate(2400), clock=ClockOffset(),
                                    sync_clock_from_server=syncs_clock_from_server("local"))
        client = BinanceExecutionClient(BinanceTradingApi(transport), instruments,
                                        options=ExecutionOptions(
                                            resolve_delays_s=(0.05,) * 5,
                                            fill_fetch_delays_s=(0.0, 0.1, 0.3)))
        events: list[OrderEvent] = []
        client.bind(events.append)
        getattr(exchange.faults, fault)(path="/fapi/v1/order")
        cid = make_client_order_id("itest", 2)
        client.submit(OrderIntent(
            bot_id="itest", intent_seq=2, client_order_id=cid, market=Market.USDM,
            symbol="FILUSDT", side=OrderSide.BUY, type=OrderType.MARKET,
            quantity=Decimal("10"), created_time=0))
        try:
            await client.drain()
        finally:
            await client.close()
        statuses = [e.status for e in events]
        assert statuses[-1] is OrderStatus.FILLED
        if fault != "rest_1021":
            assert OrderStatus.UNKNOWN in statuses
        assert len(exchange.ledger.executed(cid)) == 1
        if fault == "rest_1021":
            assert transport.clock_resyncs == 1
            assert not transport.clock.has_samples
        assert sum(e.fill.quantity for e in events if e.fill is not None) == Decimal("10")
