"""Binance's JSON shapes, as the local exchange sends them.

Checked against the recorded payloads in ``shared/fixtures/binance``: same keys, every price and
quantity a decimal string, times integer milliseconds. Written independently of binbot's client
adapter on purpose.
"""

from __future__ import annotations

from typing import Any, Final

from binbot.domain.market import Market
from binbot.exchange.aggregate import Bar
from binbot.exchange.klinedata import SymbolData, TradeTick, format_scaled
from binbot.exchange.market import SymbolMarket

FUNDING_RATE: Final = "0.00010000"
INTEREST_RATE: Final = "0.00010000"
FUNDING_PERIOD_MS: Final = 8 * 3600 * 1000
_MARK_DECIMALS: Final = 8

Json = dict[str, Any]


def error_body(code: int, msg: str) -> Json:
    return {"code": code, "msg": msg}


def next_funding_time(time_ms: int) -> int:
    return (time_ms // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS


def mark_text(data: SymbolData, price: int) -> str:
    """Mark and index prices carry 8 decimals on USD-M."""
    if data.price_dec >= _MARK_DECIMALS:
        return format_scaled(price, data.price_dec)
    return format_scaled(price * 10 ** (_MARK_DECIMALS - data.price_dec), _MARK_DECIMALS)


# -- streams -----------------------------------------------------------------------------------


def agg_trade_event(venue: Market, data: SymbolData, trade: TradeTick) -> Json:
    event: Json = {
        "e": "aggTrade",
        "E": trade.time,
        "s": data.symbol,
        "a": trade.agg_id,
        "p": data.fmt_price(trade.price),
        "q": data.fmt_qty(trade.qty),
        "f": trade.first_id,
        "l": trade.last_id,
        "T": trade.time,
        "m": trade.buyer_maker,
    }
    if venue is Market.SPOT:
        event["M"] = True
    event["st"] = 1
    return event


def kline_body(data: SymbolData, interval: str, bar: Bar, closed: bool,
               with_symbol: bool = True) -> Json:
    body: Json = {"t": bar.open_time, "T": bar.close_time}
    if with_symbol:
        body["s"] = data.symbol
    body.update({
        "i": interval,
        "f": bar.first_trade_id,
        "L": bar.last_trade_id,
        "o": data.fmt_price(bar.open),
        "c": data.fmt_price(bar.close),
        "h": data.fmt_price(bar.high),
        "l": data.fmt_price(bar.low),
        "v": data.fmt_qty(bar.volume),
        "n": bar.count,
        "x": closed,
        "q": data.fmt_quote(bar.quote_volume),
        "V": data.fmt_qty(bar.taker_buy_volume),
        "Q": data.fmt_quote(bar.taker_buy_quote_volume),
        "B": "0",
    })
    return body


def kline_event(data: SymbolData, interval: str, bar: Bar, closed: bool,
                event_time: int) -> Json:
    return {"e": "kline", "E": event_time, "s": data.symbol,
            "k": kline_body(data, interval, bar, closed)}


def continuous_kline_event(data: SymbolData, interval: str, bar: Bar, closed: bool,
                           event_time: int) -> Json:
    return {"e": "continuous_kline", "E": event_time, "ps": data.symbol, "ct": "PERPETUAL",
            "k": kline_body(data, interval, bar, closed, with_symbol=False)}


def book_quantity(market: SymbolMarket) -> int:
    """A plausible top-of-book size: the last trade's size, at least one step."""
    trade = market.last_trade
    return max(trade.qty if trade is not None else 0, 1)


def book_ticker_event(venue: Market, market: SymbolMarket, event_time: int) -> Json:
    data = market.data
    trade = market.last_trade
    update_id = trade.agg_id if trade is not None else 0
    qty = data.fmt_qty(book_quantity(market))
    if venue is Market.SPOT:
        return {"u": update_id, "s": data.symbol, "b": data.fmt_price(market.bid), "B": qty,
                "a": data.fmt_price(market.ask), "A": qty, "T": event_time, "E": event_time}
    return {"e": "bookTicker", "u": update_id, "E": event_time, "T": event_time,
            "s": data.symbol, "b": data.fmt_price(market.bid), "B": qty,
            "a": data.fmt_price(market.ask), "A": qty, "st": 1, "ps": data.symbol}


def mark_price_event(market: SymbolMarket, event_time: int) -> Json:
    data = market.data
    price = market.last_trade.price if market.last_trade is not None else 0
    mark = mark_text(data, price)
    return {"e": "markPriceUpdate", "E": event_time, "s": data.symbol, "p": mark, "i": mark,
            "P": mark, "r": FUNDING_RATE, "T": next_funding_time(event_time), "st": 1}


def server_shutdown_event(event_time: int) -> Json:
    return {"e": "serverShutdown", "E": event_time}


# -- REST --------------------------------------------------------------------------------------


def kline_row(data: SymbolData, bar: Bar) -> list[Any]:
    return [
        bar.open_time,
        data.fmt_price(bar.open),
        data.fmt_price(bar.high),
        data.fmt_price(bar.low),
        data.fmt_price(bar.close),
        data.fmt_qty(bar.volume),
        bar.close_time,
        data.fmt_quote(bar.quote_volume),
        bar.count,
        data.fmt_qty(bar.taker_buy_volume),
        data.fmt_quote(bar.taker_buy_quote_volume),
        "0",
    ]


def agg_trade_row(venue: Market, data: SymbolData, trade: TradeTick) -> Json:
    row: Json = {"a": trade.agg_id, "p": data.fmt_price(trade.price),
                 "q": data.fmt_qty(trade.qty), "f": trade.first_id, "l": trade.last_id,
                 "T": trade.time, "m": trade.buyer_maker}
    if venue is Market.SPOT:
        row["M"] = True
    return row


def ticker_price(venue: Market, market: SymbolMarket, now_ms: int) -> Json:
    data = market.data
    price = last_price(market)
    body: Json = {"symbol": data.symbol, "price": data.fmt_price(price)}
    if venue is Market.USDM:
        body["time"] = now_ms
    return body


def last_price(market: SymbolMarket) -> int:
    """The last trade, or the first open before the symbol's history starts."""
    if market.last_trade is not None:
        return market.last_trade.price
    return int(market.data.open[0])


def book_ticker(venue: Market, market: SymbolMarket, now_ms: int) -> Json:
    data = market.data
    bid, ask = best_bid_ask(market)
    qty = data.fmt_qty(book_quantity(market))
    body: Json = {"symbol": data.symbol, "bidPrice": data.fmt_price(bid), "bidQty": qty,
                  "askPrice": data.fmt_price(ask), "askQty": qty}
    if venue is Market.USDM:
        body["time"] = now_ms
    return body


def best_bid_ask(market: SymbolMarket) -> tuple[int, int]:
    if market.last_trade is not None:
        return market.bid, market.ask
    price = last_price(market)
    return max(price - 1, 1), price


def depth(venue: Market, market: SymbolMarket, limit: int, now_ms: int) -> Json:
    """A synthetic book: ``limit`` one-tick levels each side of the last price."""
    data = market.data
    bid, ask = best_bid_ask(market)
    base = book_quantity(market)
    bids = [[data.fmt_price(bid - j), data.fmt_qty(base * (1 + j % 7))]
            for j in range(limit) if bid - j > 0]
    asks = [[data.fmt_price(ask + j), data.fmt_qty(base * (1 + (j + 3) % 7))]
            for j in range(limit)]
    update_id = market.last_trade.agg_id if market.last_trade is not None else 0
    body: Json = {"lastUpdateId": update_id}
    if venue is Market.USDM:
        body["E"] = now_ms
        body["T"] = now_ms
    body["bids"] = bids
    body["asks"] = asks
    return body


def premium_index(market: SymbolMarket, now_ms: int) -> Json:
    data = market.data
    mark = mark_text(data, last_price(market))
    return {"symbol": data.symbol, "markPrice": mark, "indexPrice": mark,
            "estimatedSettlePrice": mark, "lastFundingRate": FUNDING_RATE,
            "interestRate": INTEREST_RATE, "nextFundingTime": next_funding_time(now_ms),
            "time": now_ms}
