"""``exchangeInfo`` for the loaded symbols, its filters derived from the data.

Tick size comes from the price decimals the files print, step size from the volume decimals;
the rest (limits, notional, percent price) are typical Binance values. Shapes follow the recorded
``exchange_info`` responses of each venue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from binbot.domain.market import Market
from binbot.exchange.klinedata import SymbolData, format_scaled

_QUOTES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY",
                  "USD")
_SPOT_DECIMALS: Final = 8
PERPETUAL_DELIVERY_MS: Final = 4133404802000


def split_symbol(symbol: str) -> tuple[str, str]:
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol[:-4] or symbol, symbol[-4:]


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


def _usdm_symbol(data: SymbolData) -> dict[str, Any]:
    base, quote = split_symbol(data.symbol)
    # One tick (one step) is the scaled integer 1.
    tick = format_scaled(1, data.price_dec)
    step = format_scaled(1, data.qty_dec)
    max_price = format_scaled(int(data.high.max()) * 1000, data.price_dec)
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
        "pricePrecision": data.price_dec,
        "quantityPrecision": data.qty_dec,
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
            {"stepSize": step, "filterType": "LOT_SIZE", "maxQty": "1000000", "minQty": step},
            {"stepSize": step, "filterType": "MARKET_LOT_SIZE", "maxQty": "100000",
             "minQty": step},
            {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
            {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
            {"notional": "5", "filterType": "MIN_NOTIONAL"},
            {"multiplierDown": "0.9500", "multiplierUp": "1.0500", "multiplierDecimal": "4",
             "filterType": "PERCENT_PRICE"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                       "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def _spot_text(value: int, decimals: int) -> str:
    """Spot prints every filter value with 8 decimals."""
    places = max(decimals, _SPOT_DECIMALS)
    return format_scaled(value * 10 ** (places - decimals), places)


def _spot_symbol(data: SymbolData) -> dict[str, Any]:
    base, quote = split_symbol(data.symbol)
    tick = _spot_text(1, data.price_dec)
    step = _spot_text(1, data.qty_dec)
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
             "maxPrice": _spot_text(int(data.high.max()) * 1000, data.price_dec),
             "tickSize": tick},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "5", "multiplierDown": "0.2",
             "avgPriceMins": 5},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": _spot_text(9_000_000, 0),
             "stepSize": step},
            {"filterType": "MIN_NOTIONAL", "minNotional": _spot_text(5, 0),
             "applyToMarket": True, "avgPriceMins": 5},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": zero, "maxQty": _spot_text(100_000, 0),
             "stepSize": zero},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": ["SPOT"],
    }


def exchange_info(venue: Market, symbols: Iterable[SymbolData], now_ms: int,
                  weight_limit: int) -> dict[str, Any]:
    chosen = list(symbols)
    body: dict[str, Any] = {"timezone": "UTC", "serverTime": now_ms}
    if venue is Market.USDM:
        body["futuresType"] = "U_MARGINED"
    body["rateLimits"] = rate_limits(venue, weight_limit)
    body["exchangeFilters"] = []
    if venue is Market.USDM:
        quotes = sorted({split_symbol(d.symbol)[1] for d in chosen})
        body["assets"] = [{"asset": q, "marginAvailable": True, "autoAssetExchange": "-10000"}
                          for q in quotes]
        body["symbols"] = [_usdm_symbol(d) for d in chosen]
    else:
        body["symbols"] = [_spot_symbol(d) for d in chosen]
    return body
