"""REST market-data endpoints of both venues (``/fapi/v1/...`` and ``/api/v3/...``).

Every handler first catches the replay up to the virtual clock, so REST shows exactly the
market the streams have shown. Parameter errors answer like Binance (-1100, -1102, -1120,
-1121) with HTTP 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import orjson
from aiohttp import web
from multidict import MultiMapping

from binbot.domain.market import InvalidInterval, Market, interval_ms, interval_start
from binbot.exchange import wire
from binbot.exchange.aggregate import Bar, aggregate
from binbot.exchange.instruments import exchange_info
from binbot.exchange.klinedata import TradeTick, format_scaled
from binbot.exchange.market import MarketEngine, SymbolMarket
from binbot.exchange.rules import SymbolRules

Query = MultiMapping[str]
JSON_TYPE: Final = "application/json;charset=UTF-8"
_HOUR_MS: Final = 3_600_000


class BinanceError(Exception):
    """An error answered as Binance does: ``{"code": ..., "msg": ...}`` with an HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


def json_response(body: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    all_headers = {"Content-Type": JSON_TYPE}
    if headers:
        all_headers.update(headers)
    return web.Response(body=orjson.dumps(body), status=status, headers=all_headers)


def error_response(code: int, msg: str, status: int = 400,
                   headers: dict[str, str] | None = None) -> web.Response:
    return json_response(wire.error_body(code, msg), status, headers)


# -- parameters --------------------------------------------------------------------------------


def _mandatory(query: Query, name: str) -> str:
    value = query.get(name)
    if value is None or value == "":
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, "
                                  "or malformed.")
    return value


def _optional_int(query: Query, name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 20:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal "
                                  "range is '^[0-9]{1,20}$'.")
    return int(value)


def _limit(query: Query, default: int, maximum: int) -> int:
    limit = _optional_int(query, "limit")
    if limit is None:
        return default
    if limit <= 0:
        raise BinanceError(-1100, "Illegal characters found in parameter 'limit'; legal range "
                                  f"is '1-{maximum}'.")
    return min(limit, maximum)


def _raw_limit(query: Query, default: int) -> int:
    value = query.get("limit", "")
    return int(value) if value.isdigit() and len(value) <= 20 else default


def _interval(query: Query) -> str:
    interval = _mandatory(query, "interval")
    try:
        interval_ms(interval)
    except InvalidInterval:
        raise BinanceError(-1120, "Invalid interval.") from None
    return interval


# -- weights -----------------------------------------------------------------------------------


def usdm_kline_weight(query: Query) -> int:
    limit = _raw_limit(query, 500)
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def usdm_depth_weight(query: Query) -> int:
    limit = _raw_limit(query, 500)
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def spot_depth_weight(query: Query) -> int:
    limit = _raw_limit(query, 100)
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _fixed(weight: int) -> Callable[[Query], int]:
    return lambda _query: weight


def _per_symbol(with_symbol: int, without: int) -> Callable[[Query], int]:
    return lambda query: with_symbol if query.get("symbol") else without


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    venue: Market
    handler: Handler
    weight: Callable[[Query], int]
    method: str = "GET"


# -- handlers ----------------------------------------------------------------------------------


class MarketRest:
    """REST market data over the replay engine."""

    def __init__(self, engine: MarketEngine, sync: Callable[[], None],
                 weight_limits: dict[Market, int],
                 rules: Mapping[str, SymbolRules] | None = None) -> None:
        self._engine = engine
        self._sync = sync
        self._weight_limits = weight_limits
        self._rules = rules  # filter overrides (read at every exchangeInfo)

    def endpoints(self) -> list[Endpoint]:
        usdm, spot = Market.USDM, Market.SPOT
        e = Endpoint
        return [
            e("/fapi/v1/ping", usdm, self.ping, _fixed(1)),
            e("/fapi/v1/time", usdm, self.time, _fixed(1)),
            e("/fapi/v1/exchangeInfo", usdm, self.exchange_info_usdm, _fixed(1)),
            e("/fapi/v1/klines", usdm, self.klines_usdm, usdm_kline_weight),
            e("/fapi/v1/continuousKlines", usdm, self.continuous_klines, usdm_kline_weight),
            e("/fapi/v1/ticker/price", usdm, self.ticker_price_usdm, _per_symbol(1, 2)),
            e("/fapi/v2/ticker/price", usdm, self.ticker_price_usdm, _per_symbol(1, 2)),
            e("/fapi/v1/ticker/bookTicker", usdm, self.book_ticker_usdm, _per_symbol(2, 5)),
            e("/fapi/v1/depth", usdm, self.depth_usdm, usdm_depth_weight),
            e("/fapi/v1/premiumIndex", usdm, self.premium_index, _per_symbol(1, 10)),
            e("/fapi/v1/aggTrades", usdm, self.agg_trades_usdm, _fixed(20)),
            e("/api/v3/ping", spot, self.ping, _fixed(1)),
            e("/api/v3/time", spot, self.time, _fixed(1)),
            e("/api/v3/exchangeInfo", spot, self.exchange_info_spot, _fixed(20)),
            e("/api/v3/klines", spot, self.klines_spot, _fixed(2)),
            e("/api/v3/ticker/price", spot, self.ticker_price_spot, _per_symbol(2, 4)),
            e("/api/v3/ticker/bookTicker", spot, self.book_ticker_spot, _per_symbol(2, 4)),
            e("/api/v3/depth", spot, self.depth_spot, spot_depth_weight),
            e("/api/v3/aggTrades", spot, self.agg_trades_spot, _fixed(4)),
            e("/api/v3/avgPrice", spot, self.avg_price, _fixed(2)),
        ]

    def _market(self, query: Query, name: str = "symbol") -> SymbolMarket:
        symbol = _mandatory(query, name)
        market = self._engine.markets.get(symbol)
        if market is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return market

    def _now(self) -> int:
        self._sync()
        return self._engine.now_ms

    def _markets(self, query: Query) -> list[SymbolMarket]:
        if query.get("symbol"):
            return [self._market(query)]
        return list(self._engine.markets.values())

    async def ping(self, request: web.Request) -> web.Response:
        return json_response({})

    async def time(self, request: web.Request) -> web.Response:
        return json_response({"serverTime": self._now()})

    async def exchange_info_usdm(self, request: web.Request) -> web.Response:
        data = [m.data for m in self._engine.markets.values()]
        return json_response(exchange_info(Market.USDM, data, self._now(),
                                           self._weight_limits[Market.USDM], self._rules))

    async def exchange_info_spot(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("symbol"):
            chosen = [self._market(query)]
        elif query.get("symbols"):
            try:
                names = orjson.loads(query["symbols"])
            except orjson.JSONDecodeError:
                raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'; "
                                          "legal range is a JSON list of symbols.") from None
            if not isinstance(names, list):
                raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
            chosen = []
            for name in names:
                market = self._engine.markets.get(str(name))
                if market is None:
                    raise BinanceError(-1121, "Invalid symbol.")
                chosen.append(market)
        else:
            chosen = list(self._engine.markets.values())
        return json_response(exchange_info(Market.SPOT, [m.data for m in chosen], self._now(),
                                           self._weight_limits[Market.SPOT], self._rules))

    # klines

    async def klines_usdm(self, request: web.Request) -> web.Response:
        return self._klines(request.query, "symbol", 1500)

    async def klines_spot(self, request: web.Request) -> web.Response:
        return self._klines(request.query, "symbol", 1000)

    async def continuous_klines(self, request: web.Request) -> web.Response:
        query = request.query
        contract = _mandatory(query, "contractType")
        if contract not in ("PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER"):
            raise BinanceError(-1100, "Illegal characters found in parameter 'contractType'; "
                                      "legal range is 'PERPETUAL, CURRENT_QUARTER, "
                                      "NEXT_QUARTER'.")
        if contract != "PERPETUAL":
            self._market(query, "pair")
            return json_response([])  # only perpetual data is replayed
        return self._klines(query, "pair", 1500)

    def _klines(self, query: Query, symbol_param: str, maximum: int) -> web.Response:
        market = self._market(query, symbol_param)
        interval = _interval(query)
        start = _optional_int(query, "startTime")
        end = _optional_int(query, "endTime")
        limit = _limit(query, 500, maximum)
        self._sync()
        bars = select_klines(market, interval, start, end, limit)
        return json_response([wire.kline_row(market.data, bar) for bar in bars])

    # tickers

    async def ticker_price_usdm(self, request: web.Request) -> web.Response:
        return self._ticker(request.query, Market.USDM, wire.ticker_price)

    async def ticker_price_spot(self, request: web.Request) -> web.Response:
        return self._ticker(request.query, Market.SPOT, wire.ticker_price)

    async def book_ticker_usdm(self, request: web.Request) -> web.Response:
        return self._ticker(request.query, Market.USDM, wire.book_ticker)

    async def book_ticker_spot(self, request: web.Request) -> web.Response:
        return self._ticker(request.query, Market.SPOT, wire.book_ticker)

    def _ticker(self, query: Query, venue: Market,
                render: Callable[[Market, SymbolMarket, int], dict[str, Any]]) -> web.Response:
        markets = self._markets(query)
        now = self._now()
        rows = [render(venue, m, now) for m in markets]
        return json_response(rows[0] if query.get("symbol") else rows)

    async def premium_index(self, request: web.Request) -> web.Response:
        query = request.query
        markets = self._markets(query)
        now = self._now()
        rows = [wire.premium_index(m, now) for m in markets]
        return json_response(rows[0] if query.get("symbol") else rows)

    async def avg_price(self, request: web.Request) -> web.Response:
        market = self._market(request.query)
        self._sync()
        bars = market.forming_bars("1m", max(0, market.i - 4))
        volume = sum(b.volume for b in bars)
        data = market.data
        if volume > 0:
            quote = sum(b.quote_volume for b in bars)
            # quote / volume in price units, 8 decimals
            scaled = quote * 10 ** (8 + data.qty_dec) // (volume * 10**data.quote_dec)
            price = format_scaled(scaled, 8)
        else:
            price = wire.mark_text(data, wire.last_price(market))
        return json_response({"mins": 5, "price": price})

    # depth

    async def depth_usdm(self, request: web.Request) -> web.Response:
        market = self._market(request.query)
        limit = _limit(request.query, 500, 1000)
        return json_response(wire.depth(Market.USDM, market, limit, self._now()))

    async def depth_spot(self, request: web.Request) -> web.Response:
        market = self._market(request.query)
        limit = _limit(request.query, 100, 5000)
        return json_response(wire.depth(Market.SPOT, market, limit, self._now()))

    # aggTrades

    async def agg_trades_usdm(self, request: web.Request) -> web.Response:
        return self._agg_trades(request.query, Market.USDM)

    async def agg_trades_spot(self, request: web.Request) -> web.Response:
        return self._agg_trades(request.query, Market.SPOT)

    def _agg_trades(self, query: Query, venue: Market) -> web.Response:
        market = self._market(query)
        from_id = _optional_int(query, "fromId")
        start = _optional_int(query, "startTime")
        end = _optional_int(query, "endTime")
        limit = _limit(query, 500, 1000)
        if start is not None and end is not None and end - start > _HOUR_MS:
            raise BinanceError(-1127, "More than 1 hours between startTime and endTime.")
        self._sync()
        trades = select_agg_trades(market, from_id, start, end, limit)
        return json_response([wire.agg_trade_row(venue, market.data, t) for t in trades])


# -- selection (pure; tested directly) --------------------------------------------------------


def select_klines(market: SymbolMarket, interval: str, start: int | None, end: int | None,
                  limit: int) -> list[Bar]:
    """Binance's klines selection over what the replay has reached.

    startTime: the first ``limit`` candles opening at or after it; endTime alone (or nothing):
    the last ``limit`` candles opening at or before it (or now); the last may be unclosed.
    """
    data = market.data
    last = market.i
    if last < 0 or (start is not None and end is not None and end < start):
        return []
    length = interval_ms(interval)
    open_time = data.open_time
    minutes = max(1, length // 60_000)
    hi = last + 1
    if end is not None:
        hi = min(hi, int(np.searchsorted(open_time, interval_start(end, interval) + length)))
    if start is not None:
        first = interval_start(start, interval)
        if first < start:
            first += length
        lo = int(np.searchsorted(open_time, first))
        hi = min(hi, lo + limit * minutes)
        if hi <= lo:
            return []
        return _bars(market, lo, hi, interval)[:limit]
    if hi <= 0:
        return []
    lo = max(0, hi - limit * minutes)
    # Never start in the middle of a window: that first bar would be partial.
    lo = int(np.searchsorted(open_time, interval_start(int(open_time[lo]), interval)))
    return _bars(market, lo, hi, interval)[-limit:]


def _bars(market: SymbolMarket, lo: int, hi: int, interval: str) -> list[Bar]:
    forming = market.minute if hi - 1 == market.i else None
    return aggregate(market.data, lo, hi, interval, last=forming)


def _trades_from(market: SymbolMarket, i: int, k: int) -> Iterator[TradeTick]:
    """Replayed trades in order from candle ``i``, trade ``k``, up to the replay position."""
    data = market.data
    while 0 <= i <= market.i:
        path = data.path(i)
        stop = market.k if i == market.i else len(path)
        for j in range(k, stop):
            yield data.trade(i, j, path)
        i += 1
        k = 0


def _trades_back(market: SymbolMarket, i: int) -> Iterator[TradeTick]:
    """Replayed trades backwards from candle ``i`` (at most the replay position)."""
    data = market.data
    i = min(i, market.i)
    while i >= 0:
        path = data.path(i)
        stop = market.k if i == market.i else len(path)
        for j in range(stop - 1, -1, -1):
            yield data.trade(i, j, path)
        i -= 1


def _forward(trades: Iterator[TradeTick], start: int | None, end: int | None,
             limit: int) -> list[TradeTick]:
    out: list[TradeTick] = []
    for trade in trades:
        if start is not None and trade.time < start:
            continue
        if end is not None and trade.time > end:
            break
        out.append(trade)
        if len(out) >= limit:
            break
    return out


def select_agg_trades(market: SymbolMarket, from_id: int | None, start: int | None,
                      end: int | None, limit: int) -> list[TradeTick]:
    """Binance's aggTrades selection: from an id, from a time, or the most recent ones."""
    data = market.data
    out: list[TradeTick] = []
    if market.i < 0:
        return out
    if from_id is not None:
        i = max(0, int(np.searchsorted(data.agg_base, from_id, side="right")) - 1)
        k = max(0, from_id - int(data.agg_base[i]))
        return _forward(_trades_from(market, i, k), None, end, limit)
    if start is not None:
        return _forward(_trades_from(market, max(0, data.index_at(start)), 0), start, end, limit)
    newest = market.i if end is None else data.index_at(end)
    for trade in _trades_back(market, newest):
        if end is not None and trade.time > end:
            continue
        out.append(trade)
        if len(out) >= limit:
            break
    out.reverse()
    return out
