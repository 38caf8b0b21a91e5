"""Candles with indicators, and the market list."""

from __future__ import annotations

from binbot.api.schemas.common import Out


class CandleSeries(Out):
    """Column arrays (compact on the wire, direct input for plotly)."""

    time_ms: list[int]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]


class IndicatorSeries(Out):
    """One indicator: named lines aligned with the candles (null where undefined)."""

    name: str
    params: list[float]
    pane: str  # price | oscillator
    lines: dict[str, list[float | None]]


class CandlesOut(Out):
    market: str
    symbol: str
    interval: str
    source_interval: str  # what the store held; differs when candles were aggregated
    candles: CandleSeries
    indicators: list[IndicatorSeries]


class MarketOut(Out):
    market: str
    symbol: str
    last_price: float
    last_time_ms: int
    change_24h_pct: float | None
    high_24h: float
    low_24h: float
    volume_24h: float
    quote_volume_24h: float
    intervals: list[str]
