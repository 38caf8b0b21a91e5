"""Binance wire formats as msgspec Structs, keeping Binance's field names.

Decimals stay ``str`` exactly as sent; conversion happens in ``parsing.py``. Unknown fields are
ignored so that Binance adding a field never breaks decoding.
"""

from __future__ import annotations

import msgspec


class Wire(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of all wire structs (immutable, untracked by the GC: no cycles possible)."""


# ----------------------------------------------------------------------------- streams


class WireKlineData(Wire, frozen=True):
    t: int  # open time
    T: int  # close time
    i: str  # interval
    o: str
    c: str
    h: str
    l: str  # noqa: E741 - Binance's name
    v: str
    n: int
    x: bool  # closed
    q: str
    V: str
    Q: str
    s: str = ""  # absent in continuous klines


class WireKline(Wire, frozen=True):
    """``<symbol>@kline_<interval>``."""

    E: int
    s: str
    k: WireKlineData


class WireContinuousKline(Wire, frozen=True):
    """``<pair>_<contract>@continuousKline_<interval>`` (USD-M)."""

    E: int
    ps: str
    ct: str
    k: WireKlineData


class WireAggTrade(Wire, frozen=True):
    """``<symbol>@aggTrade``."""

    E: int
    s: str
    a: int
    p: str
    q: str
    T: int
    m: bool


class WireBookTicker(Wire, frozen=True):
    """``<symbol>@bookTicker`` (spot sends no event time)."""

    u: int
    s: str
    b: str
    B: str
    a: str
    A: str
    E: int = 0
    T: int = 0


class WireMarkPrice(Wire, frozen=True):
    """``<symbol>@markPrice@1s`` (USD-M)."""

    E: int
    s: str
    p: str  # mark price
    i: str  # index price
    r: str  # funding rate
    T: int  # next funding time


class WireDepthUpdate(Wire, frozen=True):
    """``<symbol>@depth@100ms``; ``pu`` exists on USD-M only."""

    E: int
    s: str
    U: int
    u: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    pu: int | None = None
    T: int = 0


class WireWsError(Wire, frozen=True):
    code: int = 0
    msg: str = ""


class WireEnvelope(Wire, frozen=True):
    """A combined-stream message, a control answer, or a raw event such as serverShutdown."""

    stream: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    id: int | str | None = None
    error: WireWsError | None = None
    e: str = ""
    E: int = 0


# ----------------------------------------------------------------------------- REST


class WireKlineRow(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One row of ``GET /api/v3/klines``, ``/fapi/v1/klines`` and ``/fapi/v1/continuousKlines``."""

    open_time: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    close_time: int
    quote_volume: str
    trades: int
    taker_buy_volume: str
    taker_buy_quote_volume: str
    ignore: str = "0"


class WireServerTime(Wire, frozen=True):
    serverTime: int


class WireRateLimit(Wire, frozen=True):
    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int


class WireFilter(Wire, frozen=True):
    filterType: str
    minPrice: str | None = None
    maxPrice: str | None = None
    tickSize: str | None = None
    minQty: str | None = None
    maxQty: str | None = None
    stepSize: str | None = None
    minNotional: str | None = None  # spot MIN_NOTIONAL and NOTIONAL
    notional: str | None = None  # USD-M MIN_NOTIONAL


class WireSymbol(Wire, frozen=True):
    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    filters: list[WireFilter] = []
    contractType: str | None = None


class WireExchangeInfo(Wire, frozen=True):
    serverTime: int = 0
    rateLimits: list[WireRateLimit] = []
    symbols: list[WireSymbol] = []


class WireDepthSnapshot(Wire, frozen=True):
    lastUpdateId: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    E: int = 0
    T: int = 0


class WireTickerPrice(Wire, frozen=True):
    symbol: str
    price: str
    time: int = 0


class WirePremiumIndex(Wire, frozen=True):
    symbol: str
    markPrice: str
    indexPrice: str
    lastFundingRate: str
    nextFundingTime: int
    time: int
