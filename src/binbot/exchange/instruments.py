"""``exchangeInfo`` for the loaded symbols, its filters derived from the data.

Tick size comes from the price decimals the files print, step size from the volume decimals;
the rest (limits, notional, percent price) are typical Binance values. Shapes follow the recorded
``exchange_info`` responses of each venue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

from binbot.domain.market import Market
from binbot.exchange.decimals import fixed
from binbot.exchange.klinedata import SymbolData, format_scaled
from binbot.exchange.rules import SymbolRules, split_symbol

__all__ = ["exchange_info", "rate_limits", "split_symbol"]

_SPOT_DECIMALS: Final = 8
PERPETUAL_DELIVERY_MS: Final = 4133404802000


def rate_limits(venue: Market, weight_limit: int) -> list[dict[str, Any]]:
    def limit(kind: str, interval: str, num: int, value: int) -> dict[str, Any]:
        return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": value}

    if venue is Market.SPOT:
        return [limit("REQUEST_WEIGHT", "MINUTE", 1, weight_limit),
                limit("ORDERS", "SECOND", 10, 50),
                limit("ORDERS", "DAY", 1, 160000),
                limit("RAW_REQUESTS", "MINUTE", 5, 300000)]
    return [limit("REQUEST_WEIGHT", "MINUTE", 1, weight_limit),
            limit("ORDERS", "MINUTE", 1, 1200),
            limit("ORDERS", "SECOND", 10, 300)]


def _usdm_symbol(data: SymbolData, rules: SymbolRules) -> dict[str, Any]:
    base, quote = rules.base, rules.quote
    price_dec, qty_dec = rules.price_precision, rules.qty_precision
    tick = fixed(rules.tick, price_dec)
    step = fixed(rules.step, qty_dec)
    max_price = fixed(rules.max_price, price_dec)
    return {
        "symbol": data.symbol,
        "pair": data.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": data.first_open_time,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": base,
        "quoteAsset": quote,
        "marginAsset": quote,
        "pricePrecision": price_dec,
        "quantityPrecision": qty_dec,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "filters": [
            {"minPrice": tick, "maxPrice": max_price, "filterType": "PRICE_FILTER",
             "tickSize": tick},
            {"stepSize": step, "filterType": "LOT_SIZE", "maxQty": fixed(rules.max_qty, 0),
             "minQty": fixed(rules.min_qty, qty_dec)},
            {"stepSize": step, "filterType": "MARKET_LOT_SIZE",
             "maxQty": fixed(rules.market_max_qty, 0), "minQty": fixed(rules.min_qty, qty_dec)},
            {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
            {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
            {"notional": _plain(rules.min_notional), "filterType": "MIN_NOTIONAL"},
            {"multiplierDown": "0.9500", "multiplierUp": "1.0500", "multiplierDecimal": "4",
             "filterType": "PERCENT_PRICE"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                       "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _spot_text(value: int, decimals: int) -> str:
    """Spot prints every filter value with 8 decimals."""
    places = max(decimals, _SPOT_DECIMALS)
    return format_scaled(value * 10 ** (places - decimals), places)


def _spot_dec(value: Decimal) -> str:
    return fixed(value, _SPOT_DECIMALS)


def _spot_symbol(data: SymbolData, rules: SymbolRules) -> dict[str, Any]:
    base, quote = rules.base, rules.quote
    tick = _spot_dec(rules.tick)
    step = _spot_dec(rules.step)
    zero = _spot_text(0, 0)
    return {
        "symbol": data.symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick,
             "maxPrice": _spot_dec(rules.max_price), "tickSize": tick},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "5", "multiplierDown": "0.2",
             "avgPriceMins": 5},
            {"filterType": "LOT_SIZE", "minQty": _spot_dec(rules.min_qty),
             "maxQty": _spot_dec(rules.max_qty), "stepSize": step},
            {"filterType": "MIN_NOTIONAL", "minNotional": _spot_dec(rules.min_notional),
             "applyToMarket": True, "avgPriceMins": 5},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": zero,
             "maxQty": _spot_dec(rules.market_max_qty),
             "stepSize": zero},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": ["SPOT"],
    }


def exchange_info(venue: Market, symbols: Iterable[SymbolData], now_ms: int,
                  weight_limit: int,
                  rules: Mapping[str, SymbolRules] | None = None) -> dict[str, Any]:
    """``rules`` overrides the filters derived from the data (per symbol)."""
    chosen = list(symbols)

    def rules_of(data: SymbolData) -> SymbolRules:
        found = rules.get(data.symbol) if rules is not None else None
        return found if found is not None else SymbolRules.from_data(data)

    body: dict[str, Any] = {"timezone": "UTC", "serverTime": now_ms}
    if venue is Market.USDM:
        body["futuresType"] = "U_MARGINED"
    body["rateLimits"] = rate_limits(venue, weight_limit)
    body["exchangeFilters"] = []
    if venue is Market.USDM:
        quotes = sorted({split_symbol(d.symbol)[1] for d in chosen})
        body["assets"] = [{"asset": q, "marginAvailable": True, "autoAssetExchange": "-10000"}
                          for q in quotes]
        body["symbols"] = [_usdm_symbol(d, rules_of(d)) for d in chosen]
    else:
        body["symbols"] = [_spot_symbol(d, rules_of(d)) for d in chosen]
    return body
