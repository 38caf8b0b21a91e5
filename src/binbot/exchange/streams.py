"""Stream names (``btcusdt@kline_1m``...) and the USD-M URL categories they belong to.

Since 2026-04-23 USD-M splits its WebSocket URLs: ``/public`` carries high-frequency book data
(depth, bookTicker), ``/market`` everything else public. A stream requested on the wrong
category is accepted but never delivers, as on Binance.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from binbot.domain.market import InvalidInterval, Market, interval_ms


class Category(StrEnum):
    PUBLIC = "public"
    MARKET = "market"


class Kind(StrEnum):
    AGG_TRADE = "aggTrade"
    KLINE = "kline"
    CONTINUOUS_KLINE = "continuousKline"
    BOOK_TICKER = "bookTicker"
    MARK_PRICE = "markPrice"
    MARK_PRICE_1S = "markPrice@1s"
    DEPTH = "depth"
    OTHER = "other"  # valid on Binance, not produced here (trade, ticker, forceOrder...)


_PUBLIC_KINDS: Final = frozenset({Kind.BOOK_TICKER, Kind.DEPTH})
_SPOT_KINDS: Final = frozenset({Kind.AGG_TRADE, Kind.KLINE, Kind.BOOK_TICKER, Kind.DEPTH,
                                Kind.OTHER})
_CONTRACT_TYPES: Final = frozenset({"perpetual", "current_quarter", "next_quarter"})
_NAME_RE: Final = re.compile(r"^([a-z0-9]+)(?:_([a-z_]+))?@([A-Za-z0-9_@]+)$")
_OTHER_SUFFIXES: Final = ("trade", "ticker", "miniTicker", "forceOrder", "rpiDepth")
_DEPTH_RE: Final = re.compile(r"^depth(5|10|20)?(@(100ms|250ms|500ms|1000ms))?$")


@dataclass(frozen=True, slots=True)
class StreamName:
    name: str
    kind: Kind
    symbol: str  # upper case, as in REST
    interval: str | None = None
    contract_type: str | None = None


def parse_stream(name: str) -> StreamName | None:
    """Parse a stream name; None when it is not a Binance market stream name."""
    match = _NAME_RE.match(name)
    if match is None:
        return None
    symbol, contract, suffix = match.group(1), match.group(2), match.group(3)
    if contract is not None:
        if not suffix.startswith("continuousKline_") or contract not in _CONTRACT_TYPES:
            return None
        return StreamName(name, Kind.CONTINUOUS_KLINE, symbol.upper(),
                          suffix.removeprefix("continuousKline_"), contract.upper())
    if suffix.startswith("kline_"):
        return StreamName(name, Kind.KLINE, symbol.upper(), suffix.removeprefix("kline_"))
    simple = {
        "aggTrade": Kind.AGG_TRADE,
        "bookTicker": Kind.BOOK_TICKER,
        "markPrice": Kind.MARK_PRICE,
        "markPrice@1s": Kind.MARK_PRICE_1S,
    }
    if suffix in simple:
        return StreamName(name, simple[suffix], symbol.upper())
    if _DEPTH_RE.match(suffix):
        return StreamName(name, Kind.DEPTH, symbol.upper())
    if suffix in _OTHER_SUFFIXES:
        return StreamName(name, Kind.OTHER, symbol.upper())
    return None


def usdm_category(stream: StreamName) -> Category:
    return Category.PUBLIC if stream.kind in _PUBLIC_KINDS else Category.MARKET


def deliverable(stream: StreamName, venue: Market, category: Category | None,
                symbols: Collection[str]) -> bool:
    """Whether this exchange will ever send data on ``stream`` over that connection."""
    if stream.symbol not in symbols or stream.kind in (Kind.DEPTH, Kind.OTHER):
        return False
    if venue is Market.SPOT:
        if stream.kind not in _SPOT_KINDS:
            return False
    elif category is None or usdm_category(stream) is not category:
        return False
    if stream.kind is Kind.CONTINUOUS_KLINE and stream.contract_type != "PERPETUAL":
        return False
    if stream.interval is not None:
        try:
            interval_ms(stream.interval)
        except InvalidInterval:
            return False
    return True
