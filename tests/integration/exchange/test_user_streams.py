"""User data: USD-M listenKey streams and the spot WebSocket API, their events and faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from binbot.exchange.server import LocalExchange

from .conftest import MakeExchange, ManualClock, assert_same_shape, fixture
from .market_helpers import SYMBOL, coming_range, last_price, price_text
from .signing import Client, Signer, ws_json

LISTEN_KEY = "/fapi/v1/listenKey"


def market(side: str = "BUY", qty: str = "10", cid: str = "u-1") -> dict[str, Any]:
    return {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": qty,
            "newClientOrderId": cid}


async def receive(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[Any]:
    return [await ws_json(ws) for _ in range(count)]


async def assert_quiet(ws: aiohttp.ClientWebSocketResponse) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.3)


@pytest.fixture
async def private(client: Client, http: aiohttp.ClientSession,
                  trading: LocalExchange) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    key = (await client.key_only("POST", LISTEN_KEY))["listenKey"]
    async with http.ws_connect(f"{trading.ws_url}/private/ws?listenKey={key}") as ws:
        yield ws


async def test_listen_key_lifecycle(client: Client, make_exchange: MakeExchange,
                                    http: aiohttp.ClientSession, clock: ManualClock) -> None:
    first = (await client.key_only("POST", LISTEN_KEY))["listenKey"]
    assert len(first) == 64
    assert (await client.key_only("POST", LISTEN_KEY))["listenKey"] == first  # same active key
    assert (await client.key_only("PUT", LISTEN_KEY))["listenKey"] == first
    assert await client.key_only("DELETE", LISTEN_KEY) == {}
    assert (await client.key_only("PUT", LISTEN_KEY, status=400))["code"] == -1125
    status, body = await client.raw("POST", LISTEN_KEY, api_key=None)
    assert (status, body["code"]) == (401, -2014)


async def test_usdm_events_for_a_market_order(client: Client, trading: LocalExchange,
                                              private: aiohttp.ClientWebSocketResponse) -> None:
    await client.call("POST", "/fapi/v1/order", market())
    new, lite, account, trade = await receive(private, 4)
    ref = fixture("futures/user_data_json/order_update_trade.json")
    assert_same_shape(new, ref)
    assert (new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("NEW", "NEW", "u-1")
    assert_same_shape(lite, fixture("futures/user_data_json/trade_lite.json"))
    assert_same_shape(account, fixture("futures/user_data_json/account_update.json"))
    assert account["a"]["m"] == "ORDER"
    assert Decimal(account["a"]["P"][0]["pa"]) == 10
    assert_same_shape(trade, ref)
    assert (trade["o"]["x"], trade["o"]["X"]) == ("TRADE", "FILLED")
    assert Decimal(trade["o"]["L"]) == last_price(trading)
    assert trade["o"]["t"] == lite["t"]
    fills = await client.call("GET", "/fapi/v1/userTrades", {"symbol": SYMBOL})
    assert trade["o"]["t"] == fills[0]["id"]
    assert trading.user_events(client.signer.api_key) == [new, lite, account, trade]


async def test_algo_update_sequence(client: Client, trading: LocalExchange, clock: ManualClock,
                                    private: aiohttp.ClientWebSocketResponse) -> None:
    await client.call("POST", "/fapi/v1/order", market())
    await receive(private, 4)
    low, _ = coming_range(trading, 30)
    await client.call("POST", "/fapi/v1/algoOrder", {
        "algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET",
        "quantity": "10", "triggerPrice": price_text(low), "clientAlgoId": "stop-1"})
    created = await ws_json(private)
    expected = dict(fixture("futures/user_data_json/algo_update_new.json"))
    expected["o"] = {k: v for k, v in expected["o"].items() if k != "rm"}
    assert_same_shape(created, expected)
    assert (created["o"]["X"], created["o"]["caid"]) == ("NEW", "stop-1")
    clock.advance(30)
    await client.call("GET", "/fapi/v3/balance")  # brings the replay up to now
    events = await receive(private, 7)
    kinds = [(e["e"], e["o"]["X"] if "o" in e else None) for e in events]
    assert kinds == [("ALGO_UPDATE", "TRIGGERING"), ("ORDER_TRADE_UPDATE", "NEW"),
                     ("ALGO_UPDATE", "TRIGGERED"), ("TRADE_LITE", None), ("ACCOUNT_UPDATE", None),
                     ("ORDER_TRADE_UPDATE", "FILLED"), ("ALGO_UPDATE", "FINISHED")]
    await assert_quiet(private)
    recorded = "recorded/ws_messages/ws_futures_algo_update_"
    assert_same_shape(events[0], fixture(recorded + "triggering.json")["data"])
    assert_same_shape(events[2], fixture(recorded + "triggered.json")["data"])
    assert_same_shape(events[6], fixture(recorded + "finished.json")["data"])
    child = events[1]["o"]
    assert (child["c"], child["o"], child["ot"]) == ("stop-1", "MARKET", "STOP_MARKET")
    assert events[2]["o"]["ai"] == str(child["i"])
    assert Decimal(events[6]["o"]["aq"]) == 10


async def test_listen_key_expires(make_exchange: MakeExchange, http: aiohttp.ClientSession,
                                  clock: ManualClock) -> None:
    signer = Signer.hmac()
    exchange = await make_exchange(accounts=[signer.spec()], listen_key_validity_s=5)
    client = Client(http, exchange, signer, clock)
    key = (await client.key_only("POST", LISTEN_KEY))["listenKey"]
    async with http.ws_connect(f"{exchange.ws_url}/private/ws/{key}") as ws:
        clock.advance(3)
        await client.key_only("PUT", LISTEN_KEY)  # kept alive: 5 s from now
        clock.advance(4)
        await assert_quiet(ws)
        clock.advance(2)
        expired = await ws_json(ws)
        assert set(expired) == {"e", "E", "listenKey"}
        assert (expired["e"], expired["listenKey"]) == ("listenKeyExpired", key)
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert (await client.key_only("PUT", LISTEN_KEY, status=400))["code"] == -1125
    async with http.ws_connect(f"{exchange.ws_url}/private/ws/{key}") as ws:
        assert (await ws_json(ws))["e"] == "listenKeyExpired"
    new_key = (await client.key_only("POST", LISTEN_KEY))["listenKey"]
    assert new_key != key
    async with http.ws_connect(f"{exchange.ws_url}/private/ws/unknown") as ws:
        closing = await ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_listen_key_expiry_fault(client: Client, trading: LocalExchange,
                                       private: aiohttp.ClientWebSocketResponse) -> None:
    async with client.http.post(trading.base_url + "/__sim/fault",
                                json={"kind": "listen_key_expire", "e_as_string": True}) as r:
        assert (await r.json())["expired"] == 1
    event = await ws_json(private)
    assert event["e"] == "listenKeyExpired"
    assert isinstance(event["E"], str)
    assert (await client.key_only("PUT", LISTEN_KEY, status=400))["code"] == -1125


async def test_user_stream_faults(client: Client, trading: LocalExchange,
                                  private: aiohttp.ClientWebSocketResponse) -> None:
    trading.faults.apply({"kind": "user_duplicate", "count": 1})
    await client.call("POST", "/fapi/v1/order", market(cid="d-1"))
    first, again = await receive(private, 2)
    assert first == again
    await receive(private, 3)
    trading.faults.apply({"kind": "user_reorder", "count": 1})
    await client.call("POST", "/fapi/v1/order", market(cid="d-2"))
    events = await receive(private, 4)
    assert [e["e"] for e in events] == ["TRADE_LITE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE",
                                        "ORDER_TRADE_UPDATE"]
    assert events[1]["o"]["X"] == "NEW"  # held back behind the TRADE_LITE
    trading.faults.apply({"kind": "user_silence"})
    await client.call("POST", "/fapi/v1/order", market(cid="d-3"))
    await assert_quiet(private)
    assert trading.user_streams.dropped == 4
    assert len(trading.user_events(client.signer.api_key)) == 12  # emitted, not delivered
    trading.faults.apply({"kind": "user_unsilence"})
    dropped = trading.faults.apply({"kind": "user_drop"})
    assert dropped["dropped"] == 1
    closing = await private.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR)


# -- spot WebSocket API ------------------------------------------------------------------------


@pytest.fixture
async def ws_api(http: aiohttp.ClientSession,
                 trading: LocalExchange) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with http.ws_connect(f"{trading.ws_url}/ws-api/v3") as ws:
        yield ws


async def subscribe(ws: aiohttp.ClientWebSocketResponse, client: Client, ident: int = 1) -> int:
    await ws.send_json({"id": ident, "method": "userDataStream.subscribe.signature",
                        "params": client.ws_params()})
    reply = await ws_json(ws)
    assert reply["status"] == 200, reply
    assert reply["id"] == ident
    sub: int = reply["result"]["subscriptionId"]
    return sub


async def test_spot_subscription_and_events(client: Client, trading: LocalExchange,
                                            ws_api: aiohttp.ClientWebSocketResponse) -> None:
    sub = await subscribe(ws_api, client)
    await client.call("POST", "/api/v3/order", market(cid="sp-1"))
    new, trade, position = await receive(ws_api, 3)
    wrapped = fixture("spot/user_data_json/execution_report_wrapped.json")
    assert_same_shape(new, wrapped)
    assert new["subscriptionId"] == sub
    assert (new["event"]["x"], new["event"]["c"]) == ("NEW", "sp-1")
    assert set(trade["event"]) == set(wrapped["event"])
    assert (trade["event"]["x"], trade["event"]["X"]) == ("TRADE", "FILLED")
    assert trade["event"]["N"] == "FIL"
    assert_same_shape(position, fixture("spot/user_data_json/account_position_wrapped.json"))
    assets = {b["a"] for b in position["event"]["B"]}
    assert assets == {"FIL", "USDT"}
    trading.deposit(client.signer.api_key, "USDT", "5")
    update, _ = await receive(ws_api, 2)
    assert_same_shape(update, fixture("spot/user_data_json/balance_update_wrapped.json"))
    assert update["event"]["d"] == "5.00000000"


async def test_spot_cancel_event_ids(client: Client, trading: LocalExchange,
                                     ws_api: aiohttp.ClientWebSocketResponse) -> None:
    await subscribe(ws_api, client)
    below = price_text(last_price(trading) * Decimal("0.97"))
    await client.call("POST", "/api/v3/order", {"symbol": SYMBOL, "side": "BUY",
                                                "type": "LIMIT", "timeInForce": "GTC",
                                                "quantity": "10", "price": below,
                                                "newClientOrderId": "rest-1"})
    new, locked = await receive(ws_api, 2)
    assert new["event"]["w"] is True
    assert Decimal(next(b["l"] for b in locked["event"]["B"] if b["a"] == "USDT")) > 0
    await client.call("DELETE", "/api/v3/order", {"symbol": SYMBOL,
                                                  "origClientOrderId": "rest-1",
                                                  "newClientOrderId": "kill-1"})
    canceled, _ = await receive(ws_api, 2)
    assert (canceled["event"]["x"], canceled["event"]["c"], canceled["event"]["C"]) == (
        "CANCELED", "kill-1", "rest-1")


async def test_spot_subscription_errors(client: Client, trading: LocalExchange,
                                        ws_api: aiohttp.ClientWebSocketResponse,
                                        clock: ManualClock) -> None:
    params = client.ws_params()
    params["signature"] = "0" * 64
    await ws_api.send_json({"id": "a", "method": "userDataStream.subscribe.signature",
                            "params": params})
    reply = await ws_json(ws_api)
    assert (reply["id"], reply["status"], reply["error"]["code"]) == ("a", 400, -1022)
    stale = client.ws_params(timestamp=int(clock() * 1000) - 10_000)
    await ws_api.send_json({"id": 2, "method": "userDataStream.subscribe.signature",
                            "params": stale})
    assert (await ws_json(ws_api))["error"]["code"] == -1021
    await ws_api.send_json({"id": 3, "method": "userDataStream.subscribe.signature",
                            "params": {**client.ws_params(), "apiKey": "nobody"}})
    assert (await ws_json(ws_api))["error"]["code"] == -2015
    await subscribe(ws_api, client, 4)
    await ws_api.send_json({"id": 5, "method": "userDataStream.subscribe.signature",
                            "params": client.ws_params()})
    assert (await ws_json(ws_api))["error"]["code"] == -2035
    await ws_api.send_json({"id": 6, "method": "nope"})
    assert (await ws_json(ws_api))["status"] == 400
    await ws_api.send_str("{")
    assert (await ws_json(ws_api))["status"] == 400


async def test_spot_ed25519_subscription_and_termination(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    signer = Signer.ed25519()
    exchange = await make_exchange(accounts=[signer.spec()])
    client = Client(http, exchange, signer, clock)
    async with http.ws_connect(f"{exchange.ws_url}/ws-api/v3") as ws:
        sub = await subscribe(ws, client)
        assert exchange.faults.apply({"kind": "user_terminate"})["terminated"] == 1
        ended = await ws_json(ws)
        assert ended["subscriptionId"] == sub
        assert ended["event"]["e"] == "eventStreamTerminated"
        await client.call("POST", "/api/v3/order", market(cid="after-end"))
        await assert_quiet(ws)  # no subscription any more
        await ws.send_json({"id": 9, "method": "userDataStream.unsubscribe", "params": {}})
        assert (await ws_json(ws))["result"] == {}
