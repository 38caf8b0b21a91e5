"""Spot account JSON: REST bodies and user-data events, in Binance's shapes.

Checked against ``shared/fixtures/binance/spot`` (``order_response.json``,
``new_order_full_response.json``, ``cancel_order_response.json``, ``account_response.json``,
``account_trades_response.json``, ``user_data_json/*``). Spot prints amounts with 8 decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from binbot.exchange.decimals import ZERO, fixed
from binbot.exchange.orders.model import Fill, Order
from binbot.exchange.rules import SymbolRules

Json = dict[str, Any]


def _d(value: Decimal) -> str:
    return fixed(value, 8)


def _quote6(value: Decimal) -> str:
    return fixed(value, 6)


def order_json(order: Order) -> Json:
    """``GET /api/v3/order``, ``openOrders`` and ``allOrders`` rows."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": _d(order.price),
        "origQty": _d(order.quantity),
        "executedQty": _d(order.executed),
        "cummulativeQuoteQty": _d(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": _d(order.stop_price),
        "icebergQty": _d(ZERO),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.working,
        "workingTime": order.working_time,
        "origQuoteOrderQty": _quote6(order.quote_order_qty),
        "selfTradePreventionMode": "NONE",
    }


def new_order(order: Order, response_type: str) -> Json:
    """``POST /api/v3/order`` in the ACK, RESULT or FULL form."""
    body: Json = {"symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
                  "clientOrderId": order.client_order_id, "transactTime": order.time}
    if response_type == "ACK":
        return body
    body.update({
        "price": _d(order.price),
        "origQty": _d(order.quantity),
        "executedQty": _d(order.executed),
        "origQuoteOrderQty": _quote6(order.quote_order_qty),
        "cummulativeQuoteQty": _d(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
    })
    if order.stop_price:
        body["stopPrice"] = _d(order.stop_price)
    body["workingTime"] = order.working_time
    body["selfTradePreventionMode"] = "NONE"
    if response_type == "FULL":
        body["fills"] = [{"price": _d(f.price), "qty": _d(f.qty), "commission": _d(f.commission),
                          "commissionAsset": f.commission_asset, "tradeId": f.trade_id}
                         for f in order.fills]
    return body


def canceled(order: Order, cancel_id: str, now: int) -> Json:
    """``DELETE /api/v3/order`` (and each row of ``DELETE /api/v3/openOrders``)."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_id,
        "transactTime": now,
        "price": _d(order.price),
        "origQty": _d(order.quantity),
        "executedQty": _d(order.executed),
        "origQuoteOrderQty": _quote6(order.quote_order_qty),
        "cummulativeQuoteQty": _d(order.cum_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "selfTradePreventionMode": "NONE",
    }


def trade_json(fill: Fill) -> Json:
    """``GET /api/v3/myTrades`` rows."""
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": _d(fill.price),
        "qty": _d(fill.qty),
        "quoteQty": _d(fill.quote_qty),
        "commission": _d(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": fill.time,
        "isBuyer": fill.side == "BUY",
        "isMaker": fill.maker,
        "isBestMatch": True,
    }


def account_json(free: dict[str, Decimal], locked: dict[str, Decimal], maker: Decimal,
                 taker: Decimal, can_withdraw: bool, update_time: int, uid: int) -> Json:
    """``GET /api/v3/account``."""
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": _d(maker), "taker": _d(taker), "buyer": _d(ZERO),
                            "seller": _d(ZERO)},
        "canTrade": True,
        "canWithdraw": can_withdraw,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": update_time,
        "accountType": "SPOT",
        "balances": [{"asset": a, "free": _d(free[a]), "locked": _d(locked.get(a, ZERO))}
                     for a in sorted(free)],
        "permissions": ["SPOT"],
        "uid": uid,
    }


def execution_report(order: Order, rules: SymbolRules, execution: str, fill: Fill | None,
                     now: int, execution_id: int, cancel_id: str | None = None) -> Json:
    """``executionReport``; on a cancel ``c`` is the cancel's id and ``C`` the order's."""
    return {
        "e": "executionReport",
        "E": now,
        "s": order.symbol,
        "c": cancel_id if cancel_id is not None else order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": _d(order.quantity),
        "p": _d(order.price),
        "P": _d(order.stop_price),
        "F": _d(ZERO),
        "g": -1,
        "C": order.client_order_id if cancel_id is not None else "",
        "x": execution,
        "X": order.status,
        "r": "NONE",
        "i": order.order_id,
        "l": _d(fill.qty if fill else ZERO),
        "z": _d(order.executed),
        "L": _d(fill.price if fill else ZERO),
        "n": _d(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": now,
        "t": fill.trade_id if fill else -1,
        "I": execution_id,
        "w": order.is_open and order.working,
        "m": fill.maker if fill else False,
        "M": False,
        "O": order.time,
        "Z": _d(order.cum_quote),
        "Y": _d(fill.quote_qty if fill else ZERO),
        "Q": _d(order.quote_order_qty),
        "W": order.working_time if order.working_time >= 0 else order.time,
        "V": "NONE",
    }


def account_position(rows: Iterable[tuple[str, Decimal, Decimal]], now: int) -> Json:
    return {"e": "outboundAccountPosition", "E": now, "u": now,
            "B": [{"a": a, "f": _d(f), "l": _d(lk)} for a, f, lk in rows]}


def balance_update(asset: str, delta: Decimal, now: int) -> Json:
    return {"e": "balanceUpdate", "E": now, "a": asset, "d": _d(delta), "T": now}
