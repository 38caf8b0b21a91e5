"""Venue-neutral names of market data streams; the adapter maps them to Binance stream names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from binbot.domain.market import Market, interval_ms


class StreamKind(StrEnum):
    KLINE = "kline"
    CONTINUOUS_KLINE = "continuous_kline"  # USD-M perpetual contract klines
    AGG_TRADE = "agg_trade"
    BOOK_TICKER = "book_ticker"
    MARK_PRICE = "mark_price"  # USD-M only
    DEPTH = "depth"  # diff depth, synchronised with a REST snapshot by the consumer


@dataclass(frozen=True, slots=True, order=True)
class StreamKey:
    """One subscription: (market, symbol, kind[, interval])."""

    market: Market
    symbol: str
    kind: StreamKind
    interval: str | None = None

    def __post_init__(self) -> None:
        needs_interval = self.kind in (StreamKind.KLINE, StreamKind.CONTINUOUS_KLINE)
        if needs_interval:
            if self.interval is None:
                raise ValueError(f"{self.kind} needs an interval")
            interval_ms(self.interval)
        elif self.interval is not None:
            raise ValueError(f"{self.kind} takes no interval, was {self.interval!r}")
        if self.market is Market.SPOT and self.kind in (
            StreamKind.MARK_PRICE,
            StreamKind.CONTINUOUS_KLINE,
        ):
            raise ValueError(f"{self.kind} exists on USD-M only")
