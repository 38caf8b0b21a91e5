"""USD-M WebSocket API (/ws-fapi/v1): orders placed, cancelled and queried over a WebSocket go
through the same book, ledger, faults and user-data events as REST ones."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest

from binbot.domain.market import Market
from binbot.exchange.server import LocalExchange

from .conftest import ManualClock, assert_same_shape, usdm_fixture
from .market_helpers import SYMBOL, last_price, price_text
from .signing import Client, Signer, ws_json

ORDER = "/fapi/v1/order"
_ids = itertools.count(1)


@pytest.fixture(params=["hmac", "ed25519"])
def signer(request: pytest.FixtureRequest) -> Signer:
    return Signer.hmac() if request.param == "hmac" else Signer.ed25519()


@pytest.fixture
async def wsapi(http: aiohttp.ClientSession,
                trading: LocalExchange) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with http.ws_connect(trading.ws_url + "/ws-fapi/v1") as ws:
        yield ws


async def call(ws: aiohttp.ClientWebSocketResponse, method: str,
               params: dict[str, Any]) -> dict[str, Any]:
    ident = f"req-{next(_ids)}"
    await ws.send_str(orjson.dumps({"id": ident, "method": method, "params": params}).decode())
    reply: dict[str, Any] = await ws_json(ws)
    assert reply["id"] == ident
    return reply


def market(cid: str, side: str = "BUY", qty: str = "10", **extra: Any) -> dict[str, Any]:
    return {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": qty,
            "newClientOrderId": cid, **extra}


def error_code(reply: dict[str, Any]) -> int:
    assert set(reply) == {"id", "status", "error", "rateLimits"}, reply
    return int(reply["error"]["code"])


async def test_place_and_status_match_rest(client: Client, trading: LocalExchange,
                                           wsapi: aiohttp.ClientWebSocketResponse) -> None:
    price = last_price(trading)
    placed = await call(wsapi, "order.place", client.ws_params(**market("w-1")))
    assert placed["status"] == 200
    result = placed["result"]
    assert_same_shape(result, usdm_fixture("http_json/order_response.json"))
    assert (result["status"], result["clientOrderId"]) == ("NEW", "w-1")  # ACK by default
    orders = {(r["interval"], r["intervalNum"]): r["count"] for r in placed["rateLimits"]
              if r["rateLimitType"] == "ORDERS"}
    assert orders == {("SECOND", 10): 1, ("MINUTE", 1): 1}
    status = await call(wsapi, "order.status",
                        client.ws_params(symbol=SYMBOL, origClientOrderId="w-1"))
    assert status["result"]["status"] == "FILLED"
    assert Decimal(status["result"]["avgPrice"]) == price
    # REST sees the same order, and the same body shape.
    rest = await client.call("GET", ORDER, {"symbol": SYMBOL, "orderId": result["orderId"]})
    assert rest == status["result"]
    [entry] = trading.ledger.received("w-1")
    assert (entry.executed, entry.order_id, entry.venue, entry.fault) == (
        True, result["orderId"], Market.USDM, None)
    assert entry.api_key == client.signer.api_key
    events = trading.user_events(client.signer.api_key, Market.USDM)
    updates = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"]
    assert [(u["c"], u["X"]) for u in updates] == [("w-1", "NEW"), ("w-1", "FILLED")]


async def test_result_reply_and_user_stream(client: Client, http: aiohttp.ClientSession,
                                            trading: LocalExchange,
                                            wsapi: aiohttp.ClientWebSocketResponse) -> None:
    key = (await client.key_only("POST", "/fapi/v1/listenKey"))["listenKey"]
    async with http.ws_connect(f"{trading.ws_url}/private/ws?listenKey={key}") as private:
        placed = await call(wsapi, "order.place",
                            client.ws_params(**market("w-2", newOrderRespType="RESULT")))
        assert placed["result"]["status"] == "FILLED"
        events = [await ws_json(private) for _ in range(4)]
    assert [e["e"] for e in events] == ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ACCOUNT_UPDATE",
                                        "ORDER_TRADE_UPDATE"]
    assert events[3]["o"]["i"] == placed["result"]["orderId"]
    pos = await client.call("GET", "/fapi/v3/positionRisk", {"symbol": SYMBOL})
    assert Decimal(pos[0]["positionAmt"]) == 10


async def test_cancel_a_resting_limit(client: Client, trading: LocalExchange,
                                      wsapi: aiohttp.ClientWebSocketResponse) -> None:
    below = price_text(last_price(trading) * Decimal("0.98"))
    placed = await call(wsapi, "order.place", client.ws_params(
        symbol=SYMBOL, side="BUY", type="LIMIT", quantity="10", price=below,
        timeInForce="GTC", newClientOrderId="w-3"))
    order_id = placed["result"]["orderId"]
    canceled = await call(wsapi, "order.cancel",
                          client.ws_params(symbol=SYMBOL, orderId=order_id))
    assert canceled["status"] == 200
    assert canceled["result"]["status"] == "CANCELED"
    assert_same_shape(canceled["result"], usdm_fixture("http_json/order_response.json"))
    again = await call(wsapi, "order.cancel", client.ws_params(symbol=SYMBOL, orderId=order_id))
    assert error_code(again) == -2011
    missing = await call(wsapi, "order.status",
                         client.ws_params(symbol=SYMBOL, origClientOrderId="none"))
    assert error_code(missing) == -2013
    assert await client.call("GET", "/fapi/v1/openOrders") == []
    kinds = [e["o"]["x"] for e in trading.user_events(client.signer.api_key)
             if e["e"] == "ORDER_TRADE_UPDATE"]
    assert kinds == ["NEW", "CANCELED"]


async def test_numbers_are_signed_as_written(client: Client, trading: LocalExchange,
                                             wsapi: aiohttp.ClientWebSocketResponse) -> None:
    """JSON numbers keep the client's spelling ("10.00", not "10.0") in the signature payload."""
    timestamp = int(client.clock() * 1000)
    params = {"apiKey": client.signer.api_key, "newClientOrderId": "w-num", "quantity": "10.00",
              "side": "BUY", "symbol": SYMBOL, "timestamp": str(timestamp), "type": "MARKET"}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    signature = client.signer.ws_signature(payload)
    key = client.signer.api_key
    # Written by hand: a JSON encoder would spell the number 10.00 as 10.0.
    text = ('{"id": 7, "method": "order.place", "params": {"apiKey": "' + key + '", '
            '"newClientOrderId": "w-num", "quantity": 10.00, "side": "BUY", '
            f'"symbol": "{SYMBOL}", "timestamp": {timestamp}, "type": "MARKET", '
            f'"signature": "{signature}"}}}}')
    await wsapi.send_str(text)
    reply = await ws_json(wsapi)
    assert (reply["id"], reply["status"]) == (7, 200), reply
    assert trading.ledger.executions_per_client_id()["w-num"] == 1


async def test_signature_key_and_time_errors(client: Client, trading: LocalExchange,
                                             clock: ManualClock,
                                             wsapi: aiohttp.ClientWebSocketResponse) -> None:
    bad = client.ws_params(**market("e-sig"))
    bad["quantity"] = "11"  # changed after signing
    assert error_code(await call(wsapi, "order.place", bad)) == -1022
    stale = client.ws_params(**market("e-old"), timestamp=int(clock() * 1000) - 10_000)
    assert error_code(await call(wsapi, "order.place", stale)) == -1021
    ahead = client.ws_params(**market("e-ahead"), timestamp=int(clock() * 1000) + 2_000)
    assert error_code(await call(wsapi, "order.place", ahead)) == -1021
    window = client.ws_params(**market("e-win"), recvWindow=70_000)
    assert error_code(await call(wsapi, "order.place", window)) == -1131
    unsigned = client.ws_params(**market("e-unsigned"))
    del unsigned["signature"]
    assert error_code(await call(wsapi, "order.place", unsigned)) == -1102
    no_time = {"apiKey": client.signer.api_key, **market("e-notime"), "signature": "00"}
    assert error_code(await call(wsapi, "order.place", no_time)) == -1102
    unknown = client.ws_params(**market("e-key"), apiKey="nobody")
    reply = await call(wsapi, "order.place", unknown)
    assert (reply["status"], error_code(reply)) == (401, -2015)
    # Every refusal reached the exchange and is in the ledger, none executed.
    cids = ["e-sig", "e-old", "e-ahead", "e-win", "e-unsigned", "e-notime", "e-key"]
    entries = [trading.ledger.received(cid) for cid in cids]
    assert [[(e.executed, e.code) for e in rows] for rows in entries] == [
        [(False, -1022)], [(False, -1021)], [(False, -1021)], [(False, -1131)],
        [(False, -1102)], [(False, -1102)], [(False, -2015)]]
    assert trading.user_events(client.signer.api_key) == []


async def test_conditional_types_and_unknown_methods(client: Client, trading: LocalExchange,
                                                     wsapi: aiohttp.ClientWebSocketResponse
                                                     ) -> None:
    stop = client.ws_params(symbol=SYMBOL, side="SELL", type="STOP_MARKET", quantity="10",
                            stopPrice=price_text(last_price(trading) * Decimal("0.9")),
                            newClientOrderId="w-stop")
    assert error_code(await call(wsapi, "order.place", stop)) == -4120
    [entry] = trading.ledger.received("w-stop")
    assert (entry.executed, entry.code) == (False, -4120)
    assert error_code(await call(wsapi, "order.modify", client.ws_params())) == -1020
    await wsapi.send_str("not json")
    assert error_code(await ws_json(wsapi)) == -1100


async def test_session_logon_then_unsigned_requests(client: Client, trading: LocalExchange,
                                                    clock: ManualClock,
                                                    wsapi: aiohttp.ClientWebSocketResponse
                                                    ) -> None:
    before = await call(wsapi, "session.status", {})
    assert before["result"]["apiKey"] is None
    logon = await call(wsapi, "session.logon", client.ws_params())
    assert logon["result"]["apiKey"] == client.signer.api_key
    placed = await call(wsapi, "order.place",
                        {**market("w-session"), "timestamp": int(clock() * 1000)})
    assert placed["status"] == 200, placed
    assert trading.ledger.executed("w-session")[0].api_key == client.signer.api_key
    stale = {**market("w-stale"), "timestamp": int(clock() * 1000) - 10_000}
    assert error_code(await call(wsapi, "order.place", stale)) == -1021
    await call(wsapi, "session.logout", {})
    after = {**market("w-out"), "timestamp": int(clock() * 1000)}
    reply = await call(wsapi, "order.place", after)
    assert (reply["status"], error_code(reply)) == (401, -2014)


async def test_execute_then_drop_cuts_the_connection_after_executing(
        client: Client, trading: LocalExchange,
        wsapi: aiohttp.ClientWebSocketResponse) -> None:
    trading.faults.apply({"kind": "execute_then_drop"})
    await wsapi.send_str(orjson.dumps({"id": "lost", "method": "order.place",
                                       "params": client.ws_params(**market("w-drop"))}).decode())
    message = await wsapi.receive(timeout=5.0)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR)
    queried = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "w-drop"})
    assert queried["status"] == "FILLED"
    [entry] = trading.ledger.received("w-drop")
    assert (entry.executed, entry.fault) == (True, "execute_then_drop")
    updates = [e for e in trading.user_events(client.signer.api_key)
               if e["e"] == "ORDER_TRADE_UPDATE"]
    assert [u["o"]["X"] for u in updates] == ["NEW", "FILLED"]


async def test_execute_then_5xx_and_delay(client: Client, trading: LocalExchange,
                                          wsapi: aiohttp.ClientWebSocketResponse) -> None:
    trading.faults.apply({"kind": "execute_then_5xx", "variant": "timeout",
                          "path": "/ws-fapi/v1"})
    # Aimed at the WS API: a REST order is not hit.
    await client.call("POST", ORDER, market("r-1"))
    reply = await call(wsapi, "order.place", client.ws_params(**market("w-5xx")))
    assert (reply["status"], error_code(reply)) == (503, -1007)
    assert [(e.executed, e.fault) for e in trading.ledger.received("w-5xx")] == [
        (True, "execute_then_5xx")]
    trading.faults.apply({"kind": "execute_then_delay", "seconds": 0.5})
    await wsapi.send_str(orjson.dumps({"id": "late", "method": "order.place",
                                       "params": client.ws_params(**market("w-late"))}).decode())
    with pytest.raises(asyncio.TimeoutError):
        await wsapi.receive(timeout=0.1)
    assert trading.ledger.executed("w-late")  # executed before the (late) reply
    late = await ws_json(wsapi)
    assert (late["id"], late["status"]) == ("late", 200)


async def test_refusing_fault_aimed_at_the_ws_api(client: Client, trading: LocalExchange,
                                                  wsapi: aiohttp.ClientWebSocketResponse
                                                  ) -> None:
    trading.faults.apply({"kind": "rest_5xx", "variant": "unavailable", "path": "/ws-fapi/v1"})
    trading.faults.apply({"kind": "rest_5xx", "variant": "internal"})  # REST only
    reply = await call(wsapi, "order.place", client.ws_params(**market("w-refused")))
    assert (reply["status"], error_code(reply)) == (503, -1000)
    [entry] = trading.ledger.received("w-refused")
    assert (entry.executed, entry.code, entry.fault) == (False, -1000, "rest_5xx")
    assert trading.ledger.executed() == []
    ok = await call(wsapi, "order.place", client.ws_params(**market("w-ok")))
    assert ok["status"] == 200


async def test_user_drop_cuts_ws_api_connections(client: Client, trading: LocalExchange,
                                                 wsapi: aiohttp.ClientWebSocketResponse) -> None:
    ping = await call(wsapi, "ping", {})
    assert ping["result"] == {}
    assert trading.faults.user_drop() >= 1
    message = await wsapi.receive(timeout=5.0)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR)
