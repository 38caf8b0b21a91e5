"""USD-M account JSON: REST bodies and user-data events, in Binance's shapes.

Checked against ``shared/fixtures/binance/futures`` (``order_response.json``,
``position_risk.json``, ``account_info_v2.json``, ``balance.json``, ``open_algo_orders.json``,
``user_data_json/*``) and the recorded ``ALGO_UPDATE`` / ``TRADE_LITE`` messages. Where the
fixtures and the current v3 endpoints differ (positionRisk, account, algo orders), the bodies
carry both sets of fields so a parser written against either finds what it expects.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from binbot.exchange.decimals import ZERO, fixed, plain
from binbot.exchange.orders.model import AlgoOrder, Fill, Order
from binbot.exchange.rules import SymbolRules

if TYPE_CHECKING:
    from binbot.exchange.orders.usdm import FuturesBook

Json = dict[str, Any]
_WALLET_PLACES = 8
MAINT_MARGIN_RATE = Decimal("0.004")


def max_notional(leverage: int) -> str:
    """A plausible bracket: the higher the leverage, the smaller the notional cap."""
    return str(max(5_000, 50_000_000 // (leverage * leverage)))


def _price(rules: SymbolRules, value: Decimal) -> str:
    return fixed(value, rules.price_precision)


def _qty(rules: SymbolRules, value: Decimal) -> str:
    return fixed(value, rules.qty_precision)


def _quote(rules: SymbolRules, value: Decimal) -> str:
    return plain(value, rules.price_precision + rules.qty_precision)


def _avg(rules: SymbolRules, value: Decimal) -> str:
    return fixed(value, max(5, rules.price_precision))


def _money(value: Decimal) -> str:
    return fixed(value, _WALLET_PLACES)


def order_json(order: Order, rules: SymbolRules) -> Json:
    """``POST/GET/DELETE /fapi/v1/order``, ``openOrders``, ``allOrders`` rows."""
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status,
        "clientOrderId": order.client_order_id,
        "price": _price(rules, order.price),
        "avgPrice": _avg(rules, order.avg_price),
        "origQty": _qty(rules, order.quantity),
        "executedQty": _qty(rules, order.executed),
        "cumQuote": _quote(rules, order.cum_quote),
        "timeInForce": order.time_in_force,
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "side": order.side,
        "positionSide": "BOTH",
        "stopPrice": _price(rules, order.stop_price),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.original_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": order.time,
        "updateTime": order.update_time,
    }


def acked(order_body: Json, rules: SymbolRules) -> Json:
    """``newOrderRespType=ACK``: the order as the matching engine received it."""
    body = dict(order_body)
    body.update(status="NEW", executedQty=_qty(rules, ZERO), cumQuote=_quote(rules, ZERO),
                avgPrice=_avg(rules, ZERO), updateTime=body["time"])
    return body


def order_update(order: Order, rules: SymbolRules, execution: str, fill: Fill | None,
                 now: int) -> Json:
    """``ORDER_TRADE_UPDATE`` (execution NEW, TRADE, CANCELED, EXPIRED)."""
    return {
        "e": "ORDER_TRADE_UPDATE",
        "T": now,
        "E": now,
        "o": {
            "s": order.symbol,
            "c": order.client_order_id,
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force,
            "q": _qty(rules, order.quantity),
            "p": _price(rules, order.price),
            "ap": _avg(rules, order.avg_price),
            "sp": _price(rules, order.stop_price),
            "x": execution,
            "X": order.status,
            "i": order.order_id,
            "l": _qty(rules, fill.qty if fill else ZERO),
            "z": _qty(rules, order.executed),
            "L": _price(rules, fill.price if fill else ZERO),
            "N": fill.commission_asset if fill else rules.quote,
            "n": _money(fill.commission) if fill else "0",
            "T": now,
            "t": fill.trade_id if fill else 0,
            "b": "0",
            "a": "0",
            "m": fill.maker if fill else False,
            "R": order.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": order.original_type,
            "ps": "BOTH",
            "cp": order.close_position,
            "AP": "0",
            "cr": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "rp": _money(fill.realized_pnl) if fill else "0",
            "V": "EXPIRE_MAKER",
        },
    }


def trade_lite(order: Order, fill: Fill, rules: SymbolRules) -> Json:
    return {
        "e": "TRADE_LITE",
        "E": fill.time,
        "T": fill.time,
        "s": order.symbol,
        "q": _qty(rules, order.quantity),
        "p": _price(rules, order.price),
        "m": fill.maker,
        "c": order.client_order_id,
        "S": order.side,
        "L": _price(rules, fill.price),
        "l": _qty(rules, fill.qty),
        "t": fill.trade_id,
        "i": order.order_id,
    }


def _position_row(book: FuturesBook, symbol: str) -> Json:
    pos = book.position(symbol)
    rules = book.view.rules(symbol)
    return {
        "s": symbol,
        "pa": _qty(rules, pos.amt),
        "ep": plain(pos.entry, 8),
        "bep": plain(break_even(book, symbol), 8),
        "cr": _money(ZERO),
        "up": _money(book.unrealized(symbol)),
        "mt": book.setting(symbol).margin_type,
        "iw": _money(ZERO),
        "ps": "BOTH",
    }


def account_update(book: FuturesBook, symbol: str, reason: str, now: int) -> Json:
    asset = book.view.rules(symbol).quote
    wallet = book.wallet.get(asset, ZERO)
    return {
        "e": "ACCOUNT_UPDATE",
        "T": now,
        "E": now,
        "a": {
            "m": reason,
            "B": [{"a": asset, "wb": _money(wallet), "cw": _money(wallet), "bc": "0"}],
            "P": [_position_row(book, symbol)],
        },
    }


def algo_json(algo: AlgoOrder, rules: SymbolRules) -> Json:
    """``POST/GET /fapi/v1/algoOrder`` and ``openAlgoOrders`` rows."""
    return {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_algo_id,
        "algoType": "CONDITIONAL",
        "type": algo.type,
        "orderType": algo.type,
        "symbol": algo.symbol,
        "side": algo.side,
        "positionSide": "BOTH",
        "timeInForce": algo.time_in_force,
        "quantity": _qty(rules, algo.quantity),
        "algoStatus": algo.status,
        "triggerPrice": _price(rules, algo.trigger_price),
        "price": _price(rules, algo.price),
        "workingType": algo.working_type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "closePosition": algo.close_position,
        "priceProtect": algo.price_protect,
        "reduceOnly": algo.reduce_only,
        "actualOrderId": str(algo.actual_order_id) if algo.actual_order_id else "",
        "actualPrice": _avg(rules, algo.actual_price) if algo.actual_order_id else "",
        "createTime": algo.create_time,
        "updateTime": algo.update_time,
        "triggerTime": algo.trigger_time,
        "goodTillDate": 0,
    }


def algo_update(algo: AlgoOrder, rules: SymbolRules, now: int) -> Json:
    """``ALGO_UPDATE``; TRIGGERING carries no fill fields, as Binance sends it."""
    body: Json = {
        "caid": algo.client_algo_id,
        "aid": algo.algo_id,
        "at": "CONDITIONAL",
        "o": algo.type,
        "s": algo.symbol,
        "S": algo.side,
        "ps": "BOTH",
        "f": algo.time_in_force,
        "q": _qty(rules, algo.quantity),
        "X": algo.status,
        "ai": str(algo.actual_order_id) if algo.actual_order_id else "",
    }
    if algo.status != "TRIGGERING":
        body["ap"] = _avg(rules, algo.actual_price)
        body["aq"] = _qty(rules, algo.actual_qty)
        body["act"] = ("MARKET" if algo.type.endswith("MARKET") else "LIMIT") \
            if algo.actual_order_id else "0"
    body.update({
        "tp": _price(rules, algo.trigger_price),
        "p": _price(rules, algo.price),
        "V": "EXPIRE_MAKER",
        "wt": algo.working_type,
        "pm": "NONE",
        "cp": algo.close_position,
        "pP": algo.price_protect,
        "R": algo.reduce_only,
        "tt": algo.trigger_time,
        "gtd": 0,
    })
    return {"e": "ALGO_UPDATE", "T": now, "E": now, "o": body}


def trade_json(fill: Fill, rules: SymbolRules) -> Json:
    """``GET /fapi/v1/userTrades`` rows."""
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "side": fill.side,
        "price": _price(rules, fill.price),
        "qty": _qty(rules, fill.qty),
        "realizedPnl": _money(fill.realized_pnl),
        "marginAsset": fill.commission_asset,
        "quoteQty": _quote(rules, fill.quote_qty),
        "commission": _money(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": fill.time,
        "positionSide": "BOTH",
        "buyer": fill.side == "BUY",
        "maker": fill.maker,
    }


def break_even(book: FuturesBook, symbol: str) -> Decimal:
    pos = book.position(symbol)
    if pos.amt == 0:
        return ZERO
    per_unit = pos.fees_paid / abs(pos.amt)
    return pos.entry + per_unit if pos.amt > 0 else pos.entry - per_unit


def liquidation_price(book: FuturesBook, symbol: str) -> Decimal:
    """An isolated-style estimate from the entry and leverage (no cross-margin sharing)."""
    pos = book.position(symbol)
    if pos.amt == 0:
        return ZERO
    lev = Decimal(book.setting(symbol).leverage)
    if pos.amt > 0:
        return max(ZERO, pos.entry * (1 - 1 / lev + MAINT_MARGIN_RATE))
    return pos.entry * (1 + 1 / lev - MAINT_MARGIN_RATE)


def position_risk(book: FuturesBook, symbol: str) -> Json:
    """``GET /fapi/v3/positionRisk`` row (v3 fields plus leverage/marginType of v2)."""
    rules = book.view.rules(symbol)
    pos = book.position(symbol)
    mark = book.view.price(symbol)
    setting = book.setting(symbol)
    notional = pos.amt * mark
    initial = abs(notional) / setting.leverage
    return {
        "symbol": symbol,
        "positionSide": "BOTH",
        "positionAmt": _qty(rules, pos.amt),
        "entryPrice": plain(pos.entry, 8),
        "breakEvenPrice": plain(break_even(book, symbol), 8),
        "markPrice": plain(mark, 8),
        "unRealizedProfit": _money(book.unrealized(symbol)),
        "liquidationPrice": plain(liquidation_price(book, symbol), 8),
        "isolatedMargin": _money(ZERO),
        "notional": plain(notional, 8),
        "marginAsset": rules.quote,
        "isolatedWallet": "0",
        "initialMargin": _money(initial + book.order_margin(symbol)),
        "maintMargin": _money(abs(notional) * MAINT_MARGIN_RATE),
        "positionInitialMargin": _money(initial),
        "openOrderInitialMargin": _money(book.order_margin(symbol)),
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "leverage": str(setting.leverage),
        "maxNotionalValue": max_notional(setting.leverage),
        "marginType": setting.margin_type,
        "isAutoAddMargin": "false",
        "updateTime": pos.update_time,
    }


def balance_rows(book: FuturesBook, alias: str) -> list[Json]:
    """``GET /fapi/v3/balance``."""
    rows = []
    for asset, wallet in sorted(book.wallet.items()):
        unrealized = sum((book.unrealized(s) for s in book.positions
                          if book.view.rules(s).quote == asset), ZERO)
        available = book.available(asset)
        rows.append({
            "accountAlias": alias,
            "asset": asset,
            "balance": _money(wallet),
            "crossWalletBalance": _money(wallet),
            "crossUnPnl": _money(unrealized),
            "availableBalance": _money(available),
            "maxWithdrawAmount": _money(max(ZERO, min(wallet, available))),
            "marginAvailable": True,
            "updateTime": book.update_time,
        })
    return rows


def account_json(book: FuturesBook, can_withdraw: bool) -> Json:
    """``GET /fapi/v3/account`` (v3 totals and assets, v2's flags and position fields)."""
    assets = []
    totals = dict.fromkeys(("wallet", "unrealized", "margin", "initial", "maint", "pim", "oim",
                            "available"), ZERO)
    for asset, wallet in sorted(book.wallet.items()):
        symbols = [s for s in book.positions if book.view.rules(s).quote == asset]
        unrealized = sum((book.unrealized(s) for s in symbols), ZERO)
        pim = sum((book.position_margin(s) for s in symbols), ZERO)
        oim = sum((book.order_margin(s) for s in symbols), ZERO)
        maint = sum((abs(book.position(s).amt) * book.view.price(s) * MAINT_MARGIN_RATE
                     for s in symbols), ZERO)
        available = book.available(asset)
        for key, value in (("wallet", wallet), ("unrealized", unrealized),
                           ("margin", wallet + unrealized), ("initial", pim + oim),
                           ("maint", maint), ("pim", pim), ("oim", oim),
                           ("available", available)):
            totals[key] += value
        assets.append({
            "asset": asset,
            "walletBalance": _money(wallet),
            "unrealizedProfit": _money(unrealized),
            "marginBalance": _money(wallet + unrealized),
            "maintMargin": _money(maint),
            "initialMargin": _money(pim + oim),
            "positionInitialMargin": _money(pim),
            "openOrderInitialMargin": _money(oim),
            "crossWalletBalance": _money(wallet),
            "crossUnPnl": _money(unrealized),
            "availableBalance": _money(available),
            "maxWithdrawAmount": _money(max(ZERO, min(wallet, available))),
            "marginAvailable": True,
            "updateTime": book.update_time,
        })
    positions = []
    for symbol in sorted(book.positions):
        pos = book.position(symbol)
        if pos.amt == 0:
            continue  # v3 lists only symbols with a position
        rules = book.view.rules(symbol)
        mark = book.view.price(symbol)
        setting = book.setting(symbol)
        initial = abs(pos.amt) * mark / setting.leverage
        positions.append({
            "symbol": symbol,
            "positionSide": "BOTH",
            "positionAmt": _qty(rules, pos.amt),
            "unrealizedProfit": _money(book.unrealized(symbol)),
            "isolatedMargin": _money(ZERO),
            "notional": plain(pos.amt * mark, 8),
            "isolatedWallet": "0",
            "initialMargin": _money(initial + book.order_margin(symbol)),
            "maintMargin": _money(abs(pos.amt) * mark * MAINT_MARGIN_RATE),
            "positionInitialMargin": _money(initial),
            "openOrderInitialMargin": _money(book.order_margin(symbol)),
            "leverage": str(setting.leverage),
            "isolated": setting.margin_type == "isolated",
            "entryPrice": plain(pos.entry, 8),
            "maxNotional": max_notional(setting.leverage),
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": pos.update_time,
        })
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": can_withdraw,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": _money(totals["initial"]),
        "totalMaintMargin": _money(totals["maint"]),
        "totalWalletBalance": _money(totals["wallet"]),
        "totalUnrealizedProfit": _money(totals["unrealized"]),
        "totalMarginBalance": _money(totals["margin"]),
        "totalPositionInitialMargin": _money(totals["pim"]),
        "totalOpenOrderInitialMargin": _money(totals["oim"]),
        "totalCrossWalletBalance": _money(totals["wallet"]),
        "totalCrossUnPnl": _money(totals["unrealized"]),
        "availableBalance": _money(totals["available"]),
        "maxWithdrawAmount": _money(max(ZERO, min(totals["wallet"], totals["available"]))),
        "assets": assets,
        "positions": positions,
    }
