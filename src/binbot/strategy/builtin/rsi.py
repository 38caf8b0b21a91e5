"""RSI: mean reversion on the relative strength index, with an SMA trend filter.

Evaluated when a candle closes, on closed candles only (``RSI(period)`` of the closes, Wilder's
smoothing; ``SMA(trend_period)`` of the closes):

- RSI < ``oversold`` (a buy signal): close a short if held; open a long unless one is held,
  if the close is above the SMA.
- RSI > ``overbought`` (a sell signal): close a long if held; open a short unless one is held,
  if the close is below the SMA (USD-M with ``shorts``; spot is long only).

The signals are levels, not crossings: while the RSI stays beyond a level the strategy keeps
(or re-takes) the position that level asks for. Exits do not depend on the trend; the filter
only keeps entries on the side of the trend. ``trend_period = 0`` turns the filter off.
Ties: "below", "above" leave a relative 1e-9 (``_ties``), so an RSI of exactly 30 or a close
on its SMA is neither.
Nothing happens before both indicators have values (``period + 1`` and ``trend_period``
candles). Sizing: see ``SizedParams``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.indicators import RSI, SMA
from binbot.strategy.base import Strategy
from binbot.strategy.builtin._sizing import SizedParams, enter
from binbot.strategy.builtin._ties import above, below
from binbot.strategy.params import StrategyParams


class RsiParams(SizedParams):
    """RSI parameters (the thresholds are RSI values, 0..100)."""

    period: int = Field(14, ge=1, le=1000)
    oversold: float = Field(30.0, gt=0, lt=100, allow_inf_nan=False)
    overbought: float = Field(70.0, gt=0, lt=100, allow_inf_nan=False)
    trend_period: int = Field(200, ge=0, le=10_000)
    shorts: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> RsiParams:
        if self.oversold >= self.overbought:
            raise ValueError(f"oversold must be < overbought ({self.overbought}), "
                             f"was {self.oversold}")
        return self


class Rsi(Strategy):
    """RSI levels with an SMA trend filter (see the module docstring)."""

    name = "rsi"
    Params = RsiParams
    params: RsiParams

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None) -> None:
        super().__init__(params)
        self._rsi = RSI(self.params.period)
        self._trend: SMA | None = None
        self._shorts = self.params.shorts
        self.rsi = math.nan  # the RSI of the last closed candle
        self.trend = math.nan  # its SMA (NaN without a filter)

    def on_start(self) -> None:
        p = self.params
        self._shorts = p.shorts and self.market is not Market.SPOT
        self._rsi = RSI(p.period)
        self._trend = SMA(p.trend_period) if p.trend_period else None
        for close in self.candles.close.tolist():
            self._update(close)

    def on_candle(self, candle: Candle) -> None:
        self._update(candle.close)
        rsi, trend, close = self.rsi, self.trend, candle.close
        if math.isnan(rsi) or (self._trend is not None and math.isnan(trend)):
            return
        p = self.params
        side = self.position.side
        filtered = self._trend is not None
        if below(rsi, p.oversold):
            if side == "short":
                self.close(tag="rsi_exit")
            if side != "long" and (not filtered or above(close, trend)):
                enter(self, p, long=True, tag="rsi_long")
        elif above(rsi, p.overbought):
            if side == "long":
                self.close(tag="rsi_exit")
            if self._shorts and side != "short" and (not filtered or below(close, trend)):
                enter(self, p, long=False, tag="rsi_short")

    def _update(self, close: float) -> None:
        self.rsi = self._rsi.update(close)
        if self._trend is not None:
            self.trend = self._trend.update(close)
