from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.signed_rest import ApiKey, SignedTransport
from binbot.adapters.binance.signing import HmacSigner
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.user_stream import (
    SpotUserStream,
    UsdmUserStream,
    UserStreamOptions,
)
from binbot.adapters.binance.weights import WeightGate
from binbot.domain.account import BalanceDelta, UserStreamReconnected
from binbot.domain.market import Market
from tests.unit.adapters.binance.fake_account import API_KEY, SECRET, FakeAccount, error
from tests.unit.adapters.binance.fakes import fixture_bytes, start_app

OPTIONS = UserStreamOptions(keepalive_s=0.05, backoff_initial_s=0.01, backoff_max_s=0.05,
                            connect_timeout_s=2.0)


async def until(predicate: Callable[[], bool], limit_s: float = 5.0) -> None:
    """Poll ``predicate`` (state of a fake server and a sink, no event to wait on)."""
    async with asyncio.timeout(limit_s):
        for _ in itertools.count():
            if predicate():
                return
            await asyncio.sleep(0.005)


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeAccount, int, aiohttp.ClientSession]]:
    fake = FakeAccount()
    runner, port = await start_app(fake.app)
    session = aiohttp.ClientSession()
    try:
        yield fake, port, session
    finally:
        await session.close()
        await runner.cleanup()


def usdm_api(port: int, session: aiohttp.ClientSession) -> BinanceTradingApi:
    transport = SignedTransport(f"http://127.0.0.1:{port}", Market.USDM,
                                ApiKey(API_KEY, HmacSigner(SECRET)), session=session,
                                gate=WeightGate(6000), clock=ClockOffset())
    return BinanceTradingApi(transport)


async def test_listen_key_lifecycle(
    served: tuple[FakeAccount, int, aiohttp.ClientSession], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, port, session = served
    items: list[Any] = []
    secrets: list[str] = []
    stream = UsdmUserStream(usdm_api(port, session), session, f"ws://127.0.0.1:{port}",
                            items.append, OPTIONS, on_secret=secrets.append)
    stream.start()
    try:
        await until(lambda: len(fake.sockets) == 1)
        key1, ws = fake.sockets[0]
        assert key1 == fake.listen_keys[0]
        await ws.send_str(fixture_bytes("futures/user_data_json/order_update_trade.json")
                          .decode())
        await until(lambda: len(items) == 1)
        assert isinstance(items[0], parse.OrderReport)
        assert items[0].fill is not None
        await until(lambda: fake.keepalives >= 2)
        assert all(s.api_key == API_KEY for s in fake.seen("PUT", "/fapi/v1/listenKey"))

        # PUT answers -1125: a new key, a new socket on it, and a Reconnected event.
        fake.keepalive_answers.append(error(-1125, "This listenKey does not exist."))
        await until(lambda: len(fake.sockets) == 2)
        key2, ws2 = fake.sockets[1]
        assert key2 == fake.listen_keys[1] != key1
        await until(lambda: any(isinstance(i, UserStreamReconnected) for i in items))
        reconnects = [i for i in items if isinstance(i, UserStreamReconnected)]
        assert reconnects == [UserStreamReconnected(Market.USDM, "connection closed", 1)]

        # listenKeyExpired (E as a string) does the same.
        await ws2.send_str(json.dumps({"e": "listenKeyExpired", "E": "1576653824250",
                                       "listenKey": key2}))
        await until(lambda: len(fake.sockets) == 3)
        await until(lambda: len([i for i in items
                                 if isinstance(i, UserStreamReconnected)]) == 2)
        assert items[-1] == UserStreamReconnected(Market.USDM, "listen key expired", 1)
        assert fake.sockets[2][0] == fake.listen_keys[2]
        assert stream.keys_created == 3
    finally:
        await stream.close()
    assert fake.deleted_keys == [fake.listen_keys[2]]
    assert secrets == fake.listen_keys
    # The client's log never shows a key (the fake server's access log is not ours).
    ours = [r for r in caplog.records if not r.name.startswith("aiohttp.access")]
    assert ours
    for record in ours:
        for key in fake.listen_keys:
            assert key not in record.getMessage()


async def test_dropped_socket_reconnects_with_the_same_key(
    served: tuple[FakeAccount, int, aiohttp.ClientSession],
) -> None:
    fake, port, session = served
    items: list[Any] = []
    options = UserStreamOptions(keepalive_s=60, backoff_initial_s=0.01, backoff_max_s=0.05)
    stream = UsdmUserStream(usdm_api(port, session), session, f"ws://127.0.0.1:{port}",
                            items.append, options)
    stream.start()
    try:
        await until(lambda: len(fake.sockets) == 1)
        await fake.sockets[0][1].close()
        await until(lambda: len(fake.sockets) == 2)
        await until(lambda: len(items) == 1)
        assert items == [UserStreamReconnected(Market.USDM, "connection closed", 1)]
        assert fake.sockets[1][0] == fake.sockets[0][0]
        assert stream.keys_created == 1
        # A malformed message is counted, not fatal; the next event still arrives.
        await fake.sockets[1][1].send_str('{"e":"ORDER_TRADE_UPDATE","E":1}')
        await fake.sockets[1][1].send_str(
            fixture_bytes("futures/user_data_json/account_update.json").decode())
        await until(lambda: len(items) == 2)
        assert stream.malformed == 1
    finally:
        await stream.close()


async def test_spot_subscription_and_terminated_stream(
    served: tuple[FakeAccount, int, aiohttp.ClientSession],
) -> None:
    fake, port, session = served
    items: list[Any] = []
    stream = SpotUserStream(session, f"ws://127.0.0.1:{port}/ws-api/v3",
                            ApiKey(API_KEY, HmacSigner(SECRET)), ClockOffset(), items.append,
                            OPTIONS)
    stream.start()
    try:
        await until(lambda: len(fake.api_sockets) == 1)
        (request, verified), = fake.subscribe_requests
        assert verified
        assert request["method"] == "userDataStream.subscribe.signature"
        assert sorted(request["params"]) == ["apiKey", "recvWindow", "signature", "timestamp"]
        await until(lambda: stream.subscription_id == 0)
        ws = fake.api_sockets[0]
        await ws.send_str(fixture_bytes("spot/user_data_json/execution_report_wrapped.json")
                          .decode())
        await ws.send_str(fixture_bytes("spot/user_data_json/balance_update_wrapped.json")
                          .decode())
        await until(lambda: len(items) == 2)
        assert isinstance(items[0], parse.OrderReport)
        assert items[0].client_order_id == "mUvoqJxFIILMdfAW5iGSOW"
        assert isinstance(items[1], BalanceDelta)
        await ws.send_str(json.dumps({"subscriptionId": 0, "event": {
            "e": "eventStreamTerminated", "E": 1728973001334}}))
        await until(lambda: len(fake.api_sockets) == 2)
        await until(lambda: len(items) == 3)
        assert items[2] == UserStreamReconnected(Market.SPOT, "event stream terminated", 1)
        assert [ok for _, ok in fake.subscribe_requests] == [True, True]
    finally:
        await stream.close()


async def test_spot_subscription_with_a_bad_secret_never_delivers(
    served: tuple[FakeAccount, int, aiohttp.ClientSession],
) -> None:
    fake, port, session = served
    items: list[Any] = []
    stream = SpotUserStream(session, f"ws://127.0.0.1:{port}/ws-api/v3",
                            ApiKey(API_KEY, HmacSigner("wrong")), ClockOffset(), items.append,
                            OPTIONS)
    stream.start()
    try:
        await until(lambda: len(fake.subscribe_requests) >= 3)
        assert not any(ok for _, ok in fake.subscribe_requests)
        assert fake.api_sockets == []
        assert items == []
    finally:
        await stream.close()
