"""Faults around orders (reliability.md R1-R5): executed-but-lost replies, 5xx before and after
executing, 429/418, -1021; the ledger tells exactly what the exchange received."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from binbot.domain.market import Market
from binbot.exchange.server import LocalExchange

from .market_helpers import SYMBOL, last_price, price_text
from .signing import Client

ORDER = "/fapi/v1/order"


def market(cid: str) -> dict[str, Any]:
    return {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": "10",
            "newClientOrderId": cid}


async def order_status(client: Client, cid: str, path: str = ORDER) -> str:
    body = await client.call("GET", path, {"symbol": SYMBOL, "origClientOrderId": cid})
    return str(body["status"])


async def test_executed_then_reply_held_past_the_client_timeout(
        client: Client, trading: LocalExchange) -> None:
    trading.faults.apply({"kind": "execute_then_delay", "seconds": 1.0})
    with pytest.raises(TimeoutError):
        await client.raw("POST", ORDER, client.query(market("lost-1")), wait_s=0.3)
    assert await order_status(client, "lost-1") == "FILLED"
    [entry] = trading.ledger.received("lost-1")
    assert entry.executed
    assert entry.fault == "execute_then_delay"
    assert entry.venue is Market.USDM


@pytest.mark.parametrize(("variant", "status", "code", "path"), [
    ("unknown", 503, -1000, ORDER), ("timeout", 503, -1007, ORDER),
    ("internal", 500, -1001, ORDER), ("timeout", 503, -1007, "/api/v3/order")])
async def test_executed_then_5xx(client: Client, trading: LocalExchange, variant: str,
                                 status: int, code: int, path: str) -> None:
    trading.faults.apply({"kind": "execute_then_5xx", "variant": variant})
    # Reads are not hit by it: only order placement is.
    await client.call("GET", "/fapi/v1/openOrders")
    got, body = await client.raw("POST", path, client.query(market("e5-1")))
    assert (got, body["code"]) == (status, code)
    assert await order_status(client, "e5-1", path) == "FILLED"
    assert [e.executed for e in trading.ledger.received("e5-1")] == [True]
    # A naive resend would be accepted and execute again: the exchange counts both.
    await client.call("POST", path, market("e5-1"))
    assert trading.ledger.executions_per_client_id()["e5-1"] == 2


async def test_unknown_error_text_for_usdm(client: Client, trading: LocalExchange) -> None:
    trading.faults.execute_then_5xx(variant="unknown")
    got, body = await client.raw("POST", ORDER, client.query(market("u-1")))
    assert got == 503
    assert body == {"code": -1000,
                    "msg": "Unknown error, please check your request or try again later."}


async def test_executed_then_connection_dropped(client: Client, trading: LocalExchange) -> None:
    trading.faults.apply({"kind": "execute_then_drop"})
    with pytest.raises(aiohttp.ClientError):
        await client.raw("POST", ORDER, client.query(market("drop-1")))
    assert await order_status(client, "drop-1") == "FILLED"
    assert trading.ledger.executed("drop-1")[0].fault == "execute_then_drop"


async def test_dropped_before_executing(client: Client, trading: LocalExchange) -> None:
    trading.faults.apply({"kind": "rest_drop", "path": ORDER})
    with pytest.raises(aiohttp.ClientError):
        await client.raw("POST", ORDER, client.query(market("nd-1")))
    assert await client.error("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "nd-1"}
                              ) == -2013
    [entry] = trading.ledger.received("nd-1")
    assert (entry.executed, entry.fault) == (False, "rest_drop")


async def test_service_unavailable_without_executing(client: Client,
                                                     trading: LocalExchange) -> None:
    trading.faults.apply({"kind": "rest_5xx", "variant": "unavailable", "path": ORDER})
    got, body = await client.raw("POST", ORDER, client.query(market("su-1")))
    assert (got, body) == (503, {"code": -1000, "msg": "Service Unavailable."})
    assert await client.error("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "su-1"}
                              ) == -2013
    await client.call("POST", ORDER, market("su-1"))  # the one resend after the query
    entries = trading.ledger.received("su-1")
    assert [(e.executed, e.fault, e.code) for e in entries] == [
        (False, "rest_5xx", -1000), (True, None, None)]


@pytest.mark.parametrize(("spec", "status", "code"), [
    ({"kind": "rest_429", "retry_after": 7}, 429, -1003),
    ({"kind": "rest_418", "retry_after": 120}, 418, -1003),
    ({"kind": "rest_1021"}, 400, -1021)])
async def test_refusals_on_order_endpoints(client: Client, trading: LocalExchange,
                                           spec: dict[str, Any], status: int, code: int) -> None:
    trading.faults.apply({**spec, "path": "/api/v3/order"})
    got, body = await client.raw("POST", "/api/v3/order", client.query(market("rf-1")))
    assert (got, body["code"]) == (status, code)
    if "retry_after" in spec:
        assert client.last_headers["Retry-After"] == str(spec["retry_after"])
    [entry] = trading.ledger.received("rf-1")
    assert not entry.executed
    assert entry.venue is Market.SPOT
    await client.call("POST", "/api/v3/order", market("rf-1"))
    assert len(trading.ledger.executed("rf-1")) == 1


async def test_ledger_over_http(client: Client, trading: LocalExchange) -> None:
    await client.call("POST", ORDER, market("l-1"))
    await client.call("POST", ORDER, {**market("l-2"), "quantity": "0"}, status=400)
    await client.call("POST", "/fapi/v1/algoOrder", {
        "algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET",
        "quantity": "10", "triggerPrice": price_text(last_price(trading) * Decimal("0.9")),
        "clientAlgoId": "a-1"})
    async with client.http.get(trading.base_url + "/__sim/ledger") as response:
        ledger = await response.json()
    assert [(e["client_order_id"], e["kind"], e["executed"], e["code"]) for e in ledger] == [
        ("l-1", "order", True, None), ("l-2", "order", False, -4003), ("a-1", "algo", True, None)]
    assert ledger[0]["venue"] == "usdm"
    async with client.http.get(trading.base_url + "/__sim/state") as response:
        state = await response.json()
    assert state["ledger"] == {"received": 3, "executed": 2}
