"""USD-M orders, algo orders, positions and account against the replay, in Binance's shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binbot.exchange.server import LocalExchange

from .conftest import ManualClock, assert_covers_shape, assert_same_shape, usdm_fixture
from .market_helpers import SYMBOL, coming_range, last_price, price_text
from .signing import Client

ORDER = "/fapi/v1/order"
ALGO = "/fapi/v1/algoOrder"


def market(side: str, qty: str, cid: str, **extra: Any) -> dict[str, Any]:
    return {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": qty,
            "newClientOrderId": cid, **extra}


def limit(side: str, qty: str, price: str, cid: str, tif: str = "GTC",
          **extra: Any) -> dict[str, Any]:
    return {"symbol": SYMBOL, "side": side, "type": "LIMIT", "quantity": qty, "price": price,
            "timeInForce": tif, "newClientOrderId": cid, **extra}


async def position(client: Client) -> dict[str, Any]:
    rows = await client.call("GET", "/fapi/v3/positionRisk", {"symbol": SYMBOL})
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


async def test_market_order_fills_at_last_price(client: Client, trading: LocalExchange) -> None:
    price = last_price(trading)
    body = await client.call("POST", ORDER, market("BUY", "10", "m-1",
                                                   newOrderRespType="RESULT"))
    assert_same_shape(body, usdm_fixture("http_json/order_response.json"))
    assert body["status"] == "FILLED"
    assert Decimal(body["avgPrice"]) == price
    assert Decimal(body["executedQty"]) == 10
    assert Decimal(body["cumQuote"]) == price * 10
    assert body["clientOrderId"] == "m-1"
    assert client.last_headers["X-MBX-ORDER-COUNT-1M"] == "1"
    queried = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "m-1"})
    assert queried["status"] == "FILLED"
    assert queried["orderId"] == body["orderId"]
    pos = await position(client)
    assert Decimal(pos["positionAmt"]) == 10
    assert Decimal(pos["entryPrice"]) == price
    trades = await client.call("GET", "/fapi/v1/userTrades", {"symbol": SYMBOL})
    ref = usdm_fixture("../recorded/http_responses/http_futures_account_trades.json")
    assert_same_shape(trades, ref)
    fee = (price * 10 * Decimal("0.0005")).quantize(Decimal("0.00000001"))
    assert Decimal(trades[0]["commission"]) == fee
    assert trades[0]["maker"] is False
    assert trades[0]["buyer"] is True
    balance = (await client.call("GET", "/fapi/v3/balance"))[0]
    assert Decimal(balance["balance"]) == Decimal(10000) - fee


async def test_ack_is_the_default_reply(client: Client) -> None:
    body = await client.call("POST", ORDER, market("SELL", "5", "ack-1"))
    assert_same_shape(body, usdm_fixture("http_json/order_response.json"))
    assert (body["status"], body["executedQty"]) == ("NEW", "0.0")
    queried = await client.call("GET", ORDER, {"symbol": SYMBOL, "orderId": body["orderId"]})
    assert queried["status"] == "FILLED"


async def test_round_trip_realises_pnl_and_fees(client: Client, trading: LocalExchange,
                                                clock: ManualClock) -> None:
    entry = last_price(trading)
    await client.call("POST", ORDER, market("BUY", "20", "rt-1"))
    clock.advance(30)  # half an hour of market
    exit_price = last_price(trading)  # the next call syncs; read after it
    await client.call("GET", "/fapi/v3/account")
    exit_price = last_price(trading)
    body = await client.call("POST", ORDER, market("SELL", "20", "rt-2", reduceOnly="true",
                                                   newOrderRespType="RESULT"))
    assert Decimal(body["avgPrice"]) == exit_price
    trades = await client.call("GET", "/fapi/v1/userTrades", {"symbol": SYMBOL})
    assert [t["side"] for t in trades] == ["BUY", "SELL"]
    pnl = (exit_price - entry) * 20
    assert Decimal(trades[1]["realizedPnl"]) == pnl
    fees = sum(Decimal(t["commission"]) for t in trades)
    balance = (await client.call("GET", "/fapi/v3/balance"))[0]
    assert Decimal(balance["balance"]) == Decimal(10000) + pnl - fees
    assert Decimal((await position(client))["positionAmt"]) == 0


async def test_position_flip_and_average_entry(client: Client, trading: LocalExchange,
                                               clock: ManualClock) -> None:
    p1 = last_price(trading)
    await client.call("POST", ORDER, market("BUY", "10", "f-1"))
    clock.advance(10)
    await client.call("GET", "/fapi/v3/balance")
    p2 = last_price(trading)
    await client.call("POST", ORDER, market("BUY", "30", "f-2"))
    pos = await position(client)
    assert Decimal(pos["entryPrice"]) == ((p1 * 10 + p2 * 30) / 40).quantize(
        Decimal("0.00000001")).normalize()
    clock.advance(10)
    await client.call("GET", "/fapi/v3/balance")
    p3 = last_price(trading)
    await client.call("POST", ORDER, market("SELL", "50", "f-3"))
    pos = await position(client)
    assert Decimal(pos["positionAmt"]) == -10
    assert Decimal(pos["entryPrice"]) == p3
    assert pos["positionSide"] == "BOTH"
    assert_covers_shape(pos, usdm_fixture("http_json/position_risk.json")[0])


async def test_resting_limit_fills_as_maker_when_the_replay_reaches_it(
        client: Client, trading: LocalExchange, clock: ManualClock) -> None:
    low, _ = coming_range(trading, 20)
    now = last_price(trading)
    assert low < now
    body = await client.call("POST", ORDER, limit("BUY", "10", price_text(low), "l-1"))
    assert body["status"] == "NEW"
    open_orders = await client.call("GET", "/fapi/v1/openOrders", {"symbol": SYMBOL})
    assert [o["clientOrderId"] for o in open_orders] == ["l-1"]
    account = await client.call("GET", "/fapi/v3/account")
    assert Decimal(account["totalOpenOrderInitialMargin"]) == low * 10 / 20
    clock.advance(20)
    order = await client.call("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "l-1"})
    assert order["status"] == "FILLED"
    assert Decimal(order["avgPrice"]) == low
    trade = (await client.call("GET", "/fapi/v1/userTrades", {"symbol": SYMBOL}))[0]
    assert trade["maker"] is True
    assert Decimal(trade["commission"]) == (low * 10 * Decimal("0.0002")).quantize(
        Decimal("0.00000001"))
    assert await client.call("GET", "/fapi/v1/openOrders", {"symbol": SYMBOL}) == []


async def test_marketable_limit_takes_and_time_in_force_rules(client: Client,
                                                              trading: LocalExchange) -> None:
    now = last_price(trading)
    above, below = price_text(now * Decimal("1.01")), price_text(now * Decimal("0.99"))
    taken = await client.call("POST", ORDER, limit("BUY", "10", above, "t-1",
                                                   newOrderRespType="RESULT"))
    assert taken["status"] == "FILLED"
    assert Decimal(taken["avgPrice"]) == now
    assert await client.error("POST", ORDER, limit("BUY", "10", above, "t-2", "GTX")) == -5022
    assert await client.error("POST", ORDER, limit("BUY", "10", below, "t-3", "FOK")) == -5021
    ioc = await client.call("POST", ORDER, limit("BUY", "10", below, "t-4", "IOC",
                                                 newOrderRespType="RESULT"))
    assert ioc["status"] == "EXPIRED"
    gtx = await client.call("POST", ORDER, limit("BUY", "10", below, "t-5", "GTX",
                                                 newOrderRespType="RESULT"))
    assert gtx["status"] == "NEW"
    assert await client.error("POST", ORDER, limit("BUY", "10", below, "t-6", "GTD")) == -1115


async def test_client_order_ids(client: Client, trading: LocalExchange) -> None:
    below = price_text(last_price(trading) * Decimal("0.98"))
    await client.call("POST", ORDER, limit("BUY", "10", below, "dup"))
    assert await client.error("POST", ORDER, limit("BUY", "10", below, "dup")) == -4116
    await client.call("DELETE", ORDER, {"symbol": SYMBOL, "origClientOrderId": "dup"})
    again = await client.call("POST", ORDER, limit("BUY", "10", below, "dup"))
    assert again["status"] == "NEW"  # the first one is no longer open
    await client.call("POST", ORDER, market("BUY", "10", "filled-id"))
    await client.call("POST", ORDER, market("BUY", "10", "filled-id"))  # reuse after a fill
    assert await client.error("POST", ORDER, market("BUY", "10", "bad id!")) == -1100
    assert await client.error("POST", ORDER, market("BUY", "10", "x" * 37)) == -1100
    ok = await client.call("POST", ORDER, market("BUY", "10", ".A:/z0_-"))
    assert ok["clientOrderId"] == ".A:/z0_-"
    generated = await client.call("POST", ORDER, {"symbol": SYMBOL, "side": "BUY",
                                                  "type": "MARKET", "quantity": "10"})
    assert len(generated["clientOrderId"]) >= 1
    # GET by client id answers the most recent order with it.
    orders = await client.call("GET", "/fapi/v1/allOrders", {"symbol": SYMBOL})
    reused = [o for o in orders if o["clientOrderId"] == "filled-id"]
    assert len(reused) == 2
    latest = await client.call("GET", ORDER, {"symbol": SYMBOL,
                                              "origClientOrderId": "filled-id"})
    assert latest["orderId"] == reused[-1]["orderId"]


async def test_order_parameter_and_filter_errors(client: Client, trading: LocalExchange) -> None:
    now = last_price(trading)
    p = price_text(now * Decimal("0.99"))
    cases = [
        ({"type": "STOP_MARKET", "stopPrice": p}, -4120),
        ({"type": "TAKE_PROFIT_MARKET"}, -4120),
        ({"type": "TRAILING_STOP_MARKET"}, -4120),
        ({"type": "OCO"}, -1116),
        ({"side": "buy"}, -1117),
        ({"quantity": "1e3"}, -1100),
        ({"quantity": "0"}, -4003),
        ({"quantity": "10.05"}, -1111),
        ({"quantity": "1"}, -4164),
        ({"quantity": "200000"}, -4005),
        ({"price": p}, -1106),
        ({"symbol": "NOPEUSDT"}, -1121),
        ({"positionSide": "LONG"}, -4061),
        ({"reduceOnly": "true"}, -2022),
        ({"quantity": "90000"}, -2019),
    ]
    for change, code in cases:
        params = market("BUY", "10", "e-1")
        params.update(change)
        assert await client.error("POST", ORDER, params) == code, change
    limit_cases = [
        ({"price": "2.9001"}, -1111),
        ({"price": price_text(now * Decimal("1.2"))}, -4016),
        ({"price": price_text(now * Decimal("0.8"))}, -4024),
        ({"timeInForce": ""}, -1102),
    ]
    for change, code in limit_cases:
        params = limit("BUY", "10", p, "e-2")
        params.update(change)
        assert await client.error("POST", ORDER, params) == code, change
    # Nothing above reached the matching engine.
    assert trading.ledger.executed() == []
    assert len(trading.ledger.received()) == len(cases) + len(limit_cases)


async def test_filters_changed_mid_run(client: Client, trading: LocalExchange) -> None:
    trading.set_rules(SYMBOL, tick_size="0.005", step_size="0.5", min_notional="20")
    info = await client.http.get(trading.base_url + "/fapi/v1/exchangeInfo")
    filters = {f["filterType"]: f for f in (await info.json())["symbols"][0]["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.005"
    assert filters["LOT_SIZE"]["stepSize"] == "0.5"
    assert filters["MIN_NOTIONAL"]["notional"] == "20"
    now = last_price(trading)
    on_tick = (now * Decimal("0.99") / Decimal("0.005")).to_integral_value() * Decimal("0.005")
    off_tick = on_tick + Decimal("0.001")
    assert await client.error("POST", ORDER, limit("BUY", "10", str(off_tick), "r-1")) == -4014
    assert await client.error("POST", ORDER, limit("BUY", "10.2", str(on_tick), "r-2")) == -4023
    assert await client.error("POST", ORDER, limit("BUY", "5", str(on_tick), "r-3")) == -4164
    await client.call("POST", ORDER, limit("BUY", "10", str(on_tick), "r-4"))
    async with client.http.post(trading.base_url + "/__sim/rules",
                                json={"symbol": SYMBOL, "min_notional": "5"}) as response:
        assert (await response.json())["min_notional"] == "5"


async def test_reduce_only_never_increases(client: Client, trading: LocalExchange) -> None:
    await client.call("POST", ORDER, market("BUY", "10", "ro-1"))
    capped = await client.call("POST", ORDER, market("SELL", "25", "ro-2", reduceOnly="true",
                                                     newOrderRespType="RESULT"))
    assert capped["status"] == "EXPIRED"
    assert Decimal(capped["executedQty"]) == 10
    assert Decimal((await position(client))["positionAmt"]) == 0
    # Reduce-only exits below the minimum notional are allowed.
    await client.call("POST", ORDER, market("SELL", "2", "ro-3"))
    small = await client.call("POST", ORDER, market("BUY", "1", "ro-4", reduceOnly="true",
                                                    newOrderRespType="RESULT"))
    assert small["status"] == "FILLED"


async def test_cancel_and_unknown_orders(client: Client, trading: LocalExchange) -> None:
    below = price_text(last_price(trading) * Decimal("0.98"))
    placed = await client.call("POST", ORDER, limit("BUY", "10", below, "c-1"))
    canceled = await client.call("DELETE", ORDER, {"symbol": SYMBOL, "orderId": placed["orderId"]})
    assert canceled["status"] == "CANCELED"
    assert_same_shape(canceled, usdm_fixture("http_json/order_response.json"))
    assert await client.error("DELETE", ORDER, {"symbol": SYMBOL, "orderId": placed["orderId"]}
                              ) == -2011
    assert await client.error("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "none"}
                              ) == -2013
    assert await client.error("GET", ORDER, {"symbol": SYMBOL}) == -1102
    await client.call("POST", ORDER, limit("BUY", "10", below, "c-2"))
    await client.call("POST", ORDER, limit("BUY", "10", below, "c-3"))
    done = await client.call("DELETE", "/fapi/v1/allOpenOrders", {"symbol": SYMBOL})
    assert done["code"] == 200
    assert await client.call("GET", "/fapi/v1/openOrders") == []


async def test_settings(client: Client) -> None:
    body = await client.call("POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 5})
    assert body["leverage"] == 5
    assert body["symbol"] == SYMBOL
    assert await client.error("POST", "/fapi/v1/leverage", {"symbol": SYMBOL,
                                                            "leverage": 0}) == -4028
    assert (await position(client))["leverage"] == "5"
    ok = await client.call("POST", "/fapi/v1/marginType", {"symbol": SYMBOL,
                                                           "marginType": "ISOLATED"})
    assert ok == {"code": 200, "msg": "success"}
    assert await client.error("POST", "/fapi/v1/marginType",
                              {"symbol": SYMBOL, "marginType": "ISOLATED"}) == -4046
    assert (await position(client))["marginType"] == "isolated"
    await client.call("POST", ORDER, market("BUY", "10", "s-1"))
    assert await client.error("POST", "/fapi/v1/marginType",
                              {"symbol": SYMBOL, "marginType": "CROSSED"}) == -4048
    dual = await client.call("GET", "/fapi/v1/positionSide/dual")
    ref = usdm_fixture("../recorded/http_responses/"
                       "http_futures_account_position_side_dual.json")
    assert_same_shape(dual, ref)
    assert dual == {"dualSidePosition": False}
    assert await client.error("POST", "/fapi/v1/positionSide/dual",
                              {"dualSidePosition": "false"}) == -4059


async def test_account_and_balance_shapes(client: Client, trading: LocalExchange) -> None:
    await client.call("POST", ORDER, market("BUY", "10", "a-1"))
    account = await client.call("GET", "/fapi/v3/account")
    assert_covers_shape(account, usdm_fixture("http_json/account_info_v2.json"))
    assert account["positions"][0]["symbol"] == SYMBOL
    balance = await client.call("GET", "/fapi/v3/balance")
    assert_same_shape(balance, usdm_fixture("http_json/balance.json"))
    price = last_price(trading)
    assert Decimal(account["totalPositionInitialMargin"]) == price * 10 / 20
    assert await client.call("GET", "/fapi/v3/positionRisk") != []
    v2 = await client.call("GET", "/fapi/v2/positionRisk")
    assert [r["symbol"] for r in v2] == [SYMBOL]


async def test_algo_order_triggers_a_child_order(client: Client, trading: LocalExchange,
                                                 clock: ManualClock) -> None:
    await client.call("POST", ORDER, market("BUY", "10", "entry"))
    low, _ = coming_range(trading, 30)
    now = last_price(trading)
    assert low < now
    stop = {"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET",
            "quantity": "10", "triggerPrice": price_text(low), "reduceOnly": "true",
            "clientAlgoId": "sl-1"}
    placed = await client.call("POST", ALGO, stop)
    assert_covers_shape(placed, usdm_fixture("http_json/open_algo_orders.json")[0])
    assert placed["algoStatus"] == "NEW"
    assert placed["clientAlgoId"] == "sl-1"
    assert await client.error("POST", ALGO, stop) == -4116
    opened = await client.call("GET", "/fapi/v1/openAlgoOrders", {"symbol": SYMBOL})
    assert_covers_shape(opened, usdm_fixture("http_json/open_algo_orders.json"))
    assert [a["algoId"] for a in opened] == [placed["algoId"]]
    clock.advance(30)
    algo = await client.call("GET", ALGO, {"algoId": placed["algoId"]})
    assert algo["algoStatus"] == "FINISHED"
    child = await client.call("GET", ORDER, {"symbol": SYMBOL, "orderId": algo["actualOrderId"]})
    assert child["clientOrderId"] == "sl-1"
    assert (child["type"], child["origType"], child["status"]) == ("MARKET", "STOP_MARKET",
                                                                    "FILLED")
    assert Decimal(child["avgPrice"]) <= low
    assert Decimal((await position(client))["positionAmt"]) == 0
    assert await client.call("GET", "/fapi/v1/openAlgoOrders") == []


async def test_algo_order_rules(client: Client, trading: LocalExchange) -> None:
    now = last_price(trading)
    base = {"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL", "quantity": "10"}
    above, below = price_text(now * Decimal("1.02")), price_text(now * Decimal("0.98"))
    assert await client.error("POST", ALGO, {**base, "type": "STOP_MARKET",
                                             "triggerPrice": above}) == -2021
    assert await client.error("POST", ALGO, {**base, "type": "TAKE_PROFIT_MARKET",
                                             "triggerPrice": below}) == -2021
    assert await client.error("POST", ALGO, {**base, "type": "STOP_MARKET"}) == -1102
    assert await client.error("POST", ALGO, {**base, "algoType": "VP", "type": "STOP_MARKET",
                                             "triggerPrice": below}) == -1100
    tp = await client.call("POST", ALGO, {**base, "type": "TAKE_PROFIT_MARKET",
                                          "triggerPrice": above, "clientAlgoId": "tp-1"})
    canceled = await client.call("DELETE", ALGO, {"clientAlgoId": "tp-1"})
    assert canceled == {"algoId": tp["algoId"], "clientAlgoId": "tp-1", "code": "200",
                        "msg": "success"}
    assert await client.error("DELETE", ALGO, {"clientAlgoId": "tp-1"}) == -2011
    assert await client.error("GET", ALGO, {"algoId": 1}) == -2013
    close = await client.call("POST", ALGO, {"algoType": "CONDITIONAL", "symbol": SYMBOL,
                                             "side": "SELL", "type": "STOP_MARKET",
                                             "triggerPrice": below, "closePosition": "true"})
    assert close["closePosition"] is True
    history = await client.call("GET", "/fapi/v1/allAlgoOrders", {"symbol": SYMBOL})
    assert [a["algoStatus"] for a in history] == ["CANCELED", "NEW"]
