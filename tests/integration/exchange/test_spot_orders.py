"""Spot orders: client-id semantics, balances free/locked, matching, shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binbot.exchange.server import LocalExchange

from .conftest import ManualClock, assert_same_shape, fixture
from .market_helpers import SYMBOL, coming_range, last_price, price_text
from .signing import Client

ORDER = "/api/v3/order"


def spot(relative: str) -> Any:
    return fixture("spot/http_json/" + relative)


async def balances(client: Client) -> dict[str, tuple[Decimal, Decimal]]:
    account = await client.call("GET", "/api/v3/account")
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in account["balances"]}


async def test_market_buy_full_reply_and_balances(client: Client,
                                                  trading: LocalExchange) -> None:
    price = last_price(trading)
    body = await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                             "quantity": "10", "newClientOrderId": "s-1"})
    assert_same_shape(body, spot("new_order_full_response.json"))
    assert body["status"] == "FILLED"
    assert Decimal(body["fills"][0]["price"]) == price
    assert body["fills"][0]["commissionAsset"] == "FIL"
    assert client.last_headers["X-MBX-ORDER-COUNT-10S"] == "1"
    wallet = await balances(client)
    assert wallet["USDT"] == (Decimal(10000) - price * 10, 0)
    assert wallet["FIL"] == (Decimal(10) - Decimal("0.01"), 0)  # 0.1% fee in FIL
    account = await client.call("GET", "/api/v3/account")
    assert_same_shape(account, spot("account_response.json"))
    trades = await client.call("GET", "/api/v3/myTrades", {"symbol": SYMBOL})
    assert_same_shape(trades, spot("account_trades_response.json"))
    assert trades[0]["isBuyer"] is True
    order = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "s-1"})
    assert_same_shape(order, spot("order_response.json"))


async def test_quote_order_qty_and_reply_types(client: Client, trading: LocalExchange) -> None:
    price = last_price(trading)
    body = await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                             "quoteOrderQty": "100", "newOrderRespType": "ACK"})
    assert set(body) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    order = await client.call("GET", ORDER, {"symbol": SYMBOL, "orderId": body["orderId"]})
    qty = Decimal(order["executedQty"])
    assert qty == (Decimal(100) / price // Decimal("0.1")) * Decimal("0.1")
    result = await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "SELL",
                                               "type": "MARKET", "quantity": "5",
                                               "newOrderRespType": "RESULT"})
    assert "fills" not in result
    assert result["status"] == "FILLED"


async def test_client_id_unique_among_open_orders_only(client: Client,
                                                       trading: LocalExchange) -> None:
    below = price_text(last_price(trading) * Decimal("0.97"))
    resting = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
               "quantity": "10", "price": below, "newClientOrderId": "same"}
    await client.call("POST", ORDER, resting)
    body = await client.call("POST", ORDER, resting, status=400)
    assert body == {"code": -2010, "msg": "Duplicate order sent."}
    # A filled order's id is accepted again, and executes again (Binance's trap).
    market = {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": "10",
              "newClientOrderId": "filled"}
    await client.call("POST", ORDER, market)
    await client.call("POST", ORDER, market)
    executed = trading.ledger.executed("filled")
    assert len(executed) == 2
    assert trading.ledger.executions_per_client_id()["filled"] == 2
    assert len(trading.ledger.received("same")) == 2
    assert len(trading.ledger.executed("same")) == 1


async def test_resting_limit_locks_then_fills(client: Client, trading: LocalExchange,
                                              clock: ManualClock) -> None:
    low, _ = coming_range(trading, 20)
    price = Decimal(price_text(low))
    await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                      "timeInForce": "GTC", "quantity": "100",
                                      "price": str(price), "newClientOrderId": "lim"})
    wallet = await balances(client)
    assert wallet["USDT"] == (Decimal(10000) - price * 100, price * 100)
    opened = await client.call("GET", "/api/v3/openOrders", {"symbol": SYMBOL})
    assert_same_shape(opened, spot("open_orders_response.json"))
    clock.advance(20)
    order = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "lim"})
    assert order["status"] == "FILLED"
    wallet = await balances(client)
    assert wallet["USDT"] == (Decimal(10000) - price * 100, 0)
    assert wallet["FIL"] == (Decimal("99.9"), 0)
    trade = (await client.call("GET", "/api/v3/myTrades", {"symbol": SYMBOL}))[0]
    assert trade["isMaker"] is True
    assert Decimal(trade["price"]) == price


async def test_cancel_unlocks(client: Client, trading: LocalExchange) -> None:
    below = price_text(last_price(trading) * Decimal("0.97"))
    placed = await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                               "timeInForce": "GTC", "quantity": "10",
                                               "price": below, "newClientOrderId": "c-1"})
    assert placed["status"] == "NEW"
    canceled = await client.call("DELETE", ORDER, {"symbol": SYMBOL,
                                                   "origClientOrderId": "c-1",
                                                   "newClientOrderId": "cancel-c-1"})
    assert_same_shape(canceled, spot("cancel_order_response.json"))
    assert (canceled["origClientOrderId"], canceled["clientOrderId"]) == ("c-1", "cancel-c-1")
    assert (await balances(client))["USDT"] == (Decimal(10000), 0)
    assert await client.error("DELETE", ORDER, {"symbol": SYMBOL, "orderId": placed["orderId"]}
                              ) == -2011
    assert await client.error("GET", ORDER, {"symbol": SYMBOL, "orderId": 1}) == -2013
    await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                      "timeInForce": "GTC", "quantity": "10", "price": below})
    canceled_all = await client.call("DELETE", "/api/v3/openOrders", {"symbol": SYMBOL})
    assert [c["status"] for c in canceled_all] == ["CANCELED"]
    history = await client.call("GET", "/api/v3/allOrders", {"symbol": SYMBOL})
    assert_same_shape(history, spot("all_orders_response.json"))
    assert [o["status"] for o in history] == ["CANCELED", "CANCELED"]


async def test_spot_rejections(client: Client, trading: LocalExchange) -> None:
    now = last_price(trading)
    above = price_text(now * Decimal("1.01"))
    below = price_text(now * Decimal("0.99"))
    base = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "10", "price": below}
    cases = [
        ({"price": "2.9001"}, -1013),
        ({"price": "2.000000001"}, -1111),
        ({"quantity": "10.05"}, -1013),
        ({"quantity": "1"}, -1013),
        ({"quantity": "100000"}, -2010),
        ({"side": "SELL", "price": above}, -2010),  # no FIL to sell
        ({"type": "LIMIT_MAKER", "price": above, "timeInForce": ""}, -2010),
        ({"newClientOrderId": "no spaces"}, -1100),
        ({"newClientOrderId": "a.b"}, -1100),  # '.' is USD-M only
        ({"type": "STOP_LOSS", "stopPrice": below, "price": "", "timeInForce": ""}, -2010),
    ]
    for change, code in cases:
        params = {**base, **change}
        params = {k: v for k, v in params.items() if v != ""}
        assert await client.error("POST", ORDER, params) == code, change
    expired = await client.call("POST", ORDER, {**base, "timeInForce": "FOK"})
    assert expired["status"] == "EXPIRED"


async def test_stop_loss_triggers_on_the_replay(client: Client, trading: LocalExchange,
                                                clock: ManualClock) -> None:
    await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                      "quantity": "20"})
    low, _ = coming_range(trading, 30)
    stop = price_text(low)
    placed = await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "SELL",
                                               "type": "STOP_LOSS", "quantity": "19.9",
                                               "stopPrice": stop, "newClientOrderId": "sl"})
    assert set(placed) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    order = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "sl"})
    assert (order["status"], order["isWorking"]) == ("NEW", False)
    assert (await balances(client))["FIL"][1] == Decimal("19.9")
    clock.advance(30)
    order = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "sl"})
    assert (order["status"], order["isWorking"]) == ("FILLED", True)
    assert Decimal(order["cummulativeQuoteQty"]) / Decimal("19.9") <= Decimal(stop)
    assert (await balances(client))["FIL"] == (Decimal("0.08"), 0)  # 20 - fee - 19.9
