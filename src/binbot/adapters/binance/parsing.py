"""Wire structs -> domain values. Nothing Binance-shaped leaves this module.

Market data prices become float (they feed indicators); filters and tickers that can become order
parameters become ``Decimal`` built from the wire strings, never from float.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from binbot.adapters.binance.wire import (
    WireAggTrade,
    WireBookTicker,
    WireContinuousKline,
    WireDepthSnapshot,
    WireDepthUpdate,
    WireExchangeInfo,
    WireFilter,
    WireKline,
    WireKlineData,
    WireKlineRow,
    WireMarkPrice,
    WirePremiumIndex,
    WireSymbol,
)
from binbot.domain.candle import Candle
from binbot.domain.depth import DepthSnapshot
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarkPriceEvent,
    TradeEvent,
)

ZERO = Decimal(0)


def candle_from_row(
    row: WireKlineRow, market: Market, symbol: str, interval: str, now_ms: int
) -> Candle:
    """A REST kline row; closed once its close time lies before ``now_ms`` (server time)."""
    return Candle(
        market,
        symbol,
        interval,
        row.open_time,
        row.close_time,
        float(row.open),
        float(row.high),
        float(row.low),
        float(row.close),
        float(row.volume),
        float(row.quote_volume),
        row.trades,
        float(row.taker_buy_volume),
        float(row.taker_buy_quote_volume),
        row.close_time < now_ms,
    )


def candles_from_rows(
    rows: Sequence[WireKlineRow], market: Market, symbol: str, interval: str, now_ms: int
) -> list[Candle]:
    """REST klines carry no "closed" flag: a candle followed by another one in the answer is
    closed for certain; the last one is closed when its close time is before ``now_ms``.

    Relying on the clock alone fails when the estimate lags the server (a stale offset, or the
    local exchange's accelerated clock): every candle after the estimate would look open."""
    last = len(rows) - 1
    return [candle_from_row(row, market, symbol, interval, now_ms if i == last else 1 << 62)
            for i, row in enumerate(rows)]


def _candle_from_stream(k: WireKlineData, market: Market, symbol: str) -> Candle:
    return Candle(
        market,
        symbol,
        k.i,
        k.t,
        k.T,
        float(k.o),
        float(k.h),
        float(k.l),
        float(k.c),
        float(k.v),
        float(k.q),
        k.n,
        float(k.V),
        float(k.Q),
        k.x,
    )


def kline_event(wire: WireKline, market: Market) -> KlineEvent:
    return KlineEvent(wire.E, _candle_from_stream(wire.k, market, wire.s))


def continuous_kline_event(wire: WireContinuousKline) -> KlineEvent:
    """USD-M continuous klines carry the pair in ``ps``; binbot keys them by that symbol."""
    return KlineEvent(wire.E, _candle_from_stream(wire.k, Market.USDM, wire.ps))


def trade_event(wire: WireAggTrade, market: Market) -> TradeEvent:
    return TradeEvent(
        market, wire.s, wire.E, wire.T, wire.a, float(wire.p), float(wire.q), wire.m
    )


def book_ticker_event(wire: WireBookTicker, market: Market) -> BookTickerEvent:
    return BookTickerEvent(
        market,
        wire.s,
        wire.u,
        wire.E,
        float(wire.b),
        float(wire.B),
        float(wire.a),
        float(wire.A),
    )


def mark_price_event(wire: WireMarkPrice) -> MarkPriceEvent:
    return MarkPriceEvent(
        Market.USDM, wire.s, wire.E, float(wire.p), float(wire.i), float(wire.r), wire.T
    )


def _levels(levels: Sequence[tuple[str, str]]) -> tuple[tuple[float, float], ...]:
    return tuple((float(price), float(qty)) for price, qty in levels)


def depth_update_event(wire: WireDepthUpdate, market: Market) -> DepthUpdateEvent:
    return DepthUpdateEvent(
        market,
        wire.s,
        wire.E,
        wire.U,
        wire.u,
        wire.pu if market is Market.USDM else None,
        _levels(wire.b),
        _levels(wire.a),
    )


def depth_snapshot(wire: WireDepthSnapshot, market: Market, symbol: str) -> DepthSnapshot:
    return DepthSnapshot(market, symbol, wire.lastUpdateId, _levels(wire.bids), _levels(wire.asks))


def premium_index(wire: WirePremiumIndex) -> MarkPriceEvent:
    """``GET /fapi/v1/premiumIndex`` as a mark price event (``time`` is the event time)."""
    return MarkPriceEvent(
        Market.USDM,
        wire.symbol,
        wire.time,
        float(wire.markPrice),
        float(wire.indexPrice),
        float(wire.lastFundingRate),
        wire.nextFundingTime,
    )


# ----------------------------------------------------------------------------- exchangeInfo


def _dec(value: str | None) -> Decimal:
    return Decimal(value) if value else ZERO


def _filters(symbol: WireSymbol) -> dict[str, WireFilter]:
    return {f.filterType: f for f in symbol.filters}


def _min_notional(market: Market, filters: dict[str, WireFilter]) -> Decimal:
    minimum = filters.get("MIN_NOTIONAL")
    if market is Market.USDM:
        return _dec(minimum.notional) if minimum else ZERO
    # Spot may ship MIN_NOTIONAL, NOTIONAL or both: the stricter minimum applies.
    spot_min = _dec(minimum.minNotional) if minimum else ZERO
    notional = filters.get("NOTIONAL")
    return max(spot_min, _dec(notional.minNotional) if notional else ZERO)


def instrument(symbol: WireSymbol, market: Market) -> Instrument:
    """One exchangeInfo symbol; a missing filter or a ``"0"`` field means disabled."""
    filters = _filters(symbol)
    price = filters.get("PRICE_FILTER")
    lot = filters.get("LOT_SIZE")
    market_lot = filters.get("MARKET_LOT_SIZE")
    return Instrument(
        market=market,
        symbol=symbol.symbol,
        base_asset=symbol.baseAsset,
        quote_asset=symbol.quoteAsset,
        status=symbol.status,
        tick_size=_dec(price.tickSize) if price else ZERO,
        min_price=_dec(price.minPrice) if price else ZERO,
        max_price=_dec(price.maxPrice) if price else ZERO,
        step_size=_dec(lot.stepSize) if lot else ZERO,
        min_qty=_dec(lot.minQty) if lot else ZERO,
        max_qty=_dec(lot.maxQty) if lot else ZERO,
        market_step_size=_dec(market_lot.stepSize) if market_lot else ZERO,
        market_min_qty=_dec(market_lot.minQty) if market_lot else ZERO,
        market_max_qty=_dec(market_lot.maxQty) if market_lot else ZERO,
        min_notional=_min_notional(market, filters),
    )


def instruments(info: WireExchangeInfo, market: Market) -> list[Instrument]:
    return [instrument(symbol, market) for symbol in info.symbols]
