"""Candles with indicators, and the stored market list."""

from __future__ import annotations

from asyncio import to_thread
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query, status

from binbot.api.chart_indicators import compute_indicators, parse_indicators
from binbot.api.deps import ContainerDep
from binbot.api.queries import candles as cq
from binbot.api.routers.params import FromMs, IntervalQuery, MarketQuery, SymbolRequired, ToMs
from binbot.api.schemas.market import CandlesOut, MarketOut

router = APIRouter(prefix="/api/v1", tags=["market"])

IndicatorsQuery = Annotated[
    str | None,
    Query(max_length=200, description="comma list: bb[:period:k], rsi[:period], "
          "macd[:fast:slow:signal], sma[:period], ema[:period]; e.g. bb,rsi:14")]


@router.get("/candles", response_model=CandlesOut)
async def get_candles(container: ContainerDep, symbol: SymbolRequired,
                      interval: IntervalQuery = "15m", market: MarketQuery = "usdm",
                      from_ms: FromMs = None, to_ms: ToMs = None,
                      limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                      indicators: IndicatorsQuery = None) -> CandlesOut:
    """Candles (newest ``limit`` up to ``to_ms``, or from ``from_ms``) and indicator lines.

    Intervals the store lacks are aggregated from finer stored candles.
    """
    if from_ms is not None and to_ms is not None and from_ms > to_ms:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "from_ms must not be after to_ms")
    try:
        specs = parse_indicators(indicators)
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    warmup = max((spec.warmup for spec in specs), default=0)
    try:
        bars = await to_thread(cq.load_bars, container.engine, market, symbol, interval,
                               from_ms=from_ms, to_ms=to_ms, limit=limit, warmup=warmup)
    except cq.RangeTooLarge as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    if bars is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no stored candles for {market} {symbol} at or below {interval}")
    if from_ms is not None:
        start = int(np.searchsorted(bars.time_ms, from_ms, side="left"))
        stop = min(start + limit, len(bars))
    else:
        stop = len(bars)
        start = max(0, stop - limit)
    shown = bars.window(start, stop)
    lines = compute_indicators(specs, bars.close, start, stop)
    return CandlesOut(market=market, symbol=symbol, interval=interval,
                      source_interval=bars.source_interval, candles=shown.series(),
                      indicators=lines)


@router.get("/markets", response_model=list[MarketOut])
async def list_markets(container: ContainerDep) -> list[MarketOut]:
    """Every stored symbol with its last price and 24 h change, range and volume."""
    return await container.reads.thread(cq.markets, container.engine)
