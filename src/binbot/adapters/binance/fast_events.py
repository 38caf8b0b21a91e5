"""Construction of the hot-path domain events without frozen-dataclass ``__init__`` overhead.

A frozen dataclass assigns each field through ``object.__setattr__`` after a frozen check, which
costs more than decoding the JSON. These builders create the instance with ``object.__new__``
and fill the slots through their member descriptors: the result is the same immutable value
(equal, hashable, frozen afterwards). This is only valid for classes without ``__post_init__``;
``tests/unit/adapters/binance`` checks that and the equality with normal construction.
"""

from __future__ import annotations

from typing import Any, Final

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.domain.market_events import BookTickerEvent, TradeEvent

BUILT_CLASSES: Final = (Candle, TradeEvent, BookTickerEvent)

_new = object.__new__


def _setters(cls: type, names: str) -> tuple[Any, ...]:
    return tuple(cls.__dict__[name].__set__ for name in names.split())


(_t_market, _t_symbol, _t_event, _t_time, _t_id, _t_price, _t_qty, _t_maker) = _setters(
    TradeEvent, "market symbol event_time trade_time agg_id price quantity buyer_is_maker"
)


def trade_event(
    market: Market, symbol: str, event_time: int, trade_time: int, agg_id: int, price: float,
    quantity: float, buyer_is_maker: bool,
) -> TradeEvent:
    event: TradeEvent = _new(TradeEvent)
    _t_market(event, market)
    _t_symbol(event, symbol)
    _t_event(event, event_time)
    _t_time(event, trade_time)
    _t_id(event, agg_id)
    _t_price(event, price)
    _t_qty(event, quantity)
    _t_maker(event, buyer_is_maker)
    return event


(_b_market, _b_symbol, _b_id, _b_event, _b_bid, _b_bid_qty, _b_ask, _b_ask_qty) = _setters(
    BookTickerEvent, "market symbol update_id event_time bid_price bid_qty ask_price ask_qty"
)


def book_ticker_event(
    market: Market, symbol: str, update_id: int, event_time: int, bid_price: float,
    bid_qty: float, ask_price: float, ask_qty: float,
) -> BookTickerEvent:
    event: BookTickerEvent = _new(BookTickerEvent)
    _b_market(event, market)
    _b_symbol(event, symbol)
    _b_id(event, update_id)
    _b_event(event, event_time)
    _b_bid(event, bid_price)
    _b_bid_qty(event, bid_qty)
    _b_ask(event, ask_price)
    _b_ask_qty(event, ask_qty)
    return event


_CANDLE_FIELDS: Final = (
    "market symbol interval open_time close_time open high low close volume quote_volume "
    "trades taker_buy_volume taker_buy_quote_volume closed"
)
(
    _c_market, _c_symbol, _c_interval, _c_open_time, _c_close_time, _c_open, _c_high, _c_low,
    _c_close, _c_volume, _c_quote, _c_trades, _c_taker, _c_taker_quote, _c_closed,
) = _setters(Candle, _CANDLE_FIELDS)


def candle(
    market: Market, symbol: str, interval: str, open_time: int, close_time: int, open_: float,
    high: float, low: float, close: float, volume: float, quote_volume: float, trades: int,
    taker_buy_volume: float, taker_buy_quote_volume: float, closed: bool,
) -> Candle:
    built: Candle = _new(Candle)
    _c_market(built, market)
    _c_symbol(built, symbol)
    _c_interval(built, interval)
    _c_open_time(built, open_time)
    _c_close_time(built, close_time)
    _c_open(built, open_)
    _c_high(built, high)
    _c_low(built, low)
    _c_close(built, close)
    _c_volume(built, volume)
    _c_quote(built, quote_volume)
    _c_trades(built, trades)
    _c_taker(built, taker_buy_volume)
    _c_taker_quote(built, taker_buy_quote_volume)
    _c_closed(built, closed)
    return built
