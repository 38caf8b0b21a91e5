"""Candles (klines)."""

from __future__ import annotations

from dataclasses import dataclass

from binbot.domain.market import Market
from binbot.domain.values import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Candle:
    """One kline. ``closed`` is False while the candle is still forming.

    Times are epoch milliseconds UTC; ``close_time`` is Binance's (open time + length - 1).
    """

    market: Market
    symbol: str
    interval: str
    open_time: int
    close_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_volume: float
    taker_buy_quote_volume: float
    closed: bool
