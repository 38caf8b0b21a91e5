"""StreamKey <-> Binance stream names, and which WebSocket endpoint carries each stream."""

from __future__ import annotations

from binbot.adapters.binance.endpoints import Endpoints
from binbot.domain.market import Market
from binbot.domain.streams import StreamKey, StreamKind

# USD-M stream categories since 2026-04-23: book data on /public, other public data on /market.
PUBLIC = "public"
MARKET = "market"

_USDM_CATEGORY = {
    StreamKind.DEPTH: PUBLIC,
    StreamKind.BOOK_TICKER: PUBLIC,
    StreamKind.KLINE: MARKET,
    StreamKind.CONTINUOUS_KLINE: MARKET,
    StreamKind.AGG_TRADE: MARKET,
    StreamKind.MARK_PRICE: MARKET,
}


def stream_name(key: StreamKey) -> str:
    """The Binance stream name (lowercase symbol), e.g. ``btcusdt@kline_1m``."""
    symbol = key.symbol.lower()
    kind = key.kind
    if kind is StreamKind.KLINE:
        return f"{symbol}@kline_{key.interval}"
    if kind is StreamKind.CONTINUOUS_KLINE:
        return f"{symbol}_perpetual@continuousKline_{key.interval}"
    if kind is StreamKind.AGG_TRADE:
        return f"{symbol}@aggTrade"
    if kind is StreamKind.BOOK_TICKER:
        return f"{symbol}@bookTicker"
    if kind is StreamKind.MARK_PRICE:
        return f"{symbol}@markPrice@1s"
    if kind is StreamKind.DEPTH:
        return f"{symbol}@depth@100ms"
    raise ValueError(f"unsupported stream kind, was {kind!r}")


def stream_root(key: StreamKey, endpoints: Endpoints) -> str:
    """The WebSocket root a stream must be opened on (``…/stream`` is appended by the caller)."""
    if key.market is Market.SPOT:
        return endpoints.ws_spot
    return f"{endpoints.ws_usdm_root}/{_USDM_CATEGORY[key.kind]}"


def combined_url(root: str, names: list[str]) -> str:
    """``<root>/stream?streams=a/b/c`` (names are lowercase ASCII and need no encoding)."""
    return f"{root}/stream?streams={'/'.join(names)}"
