"""MA cross: trend following on a fast/slow moving-average crossover.

Evaluated when a candle closes, on closed candles only. With ``d = MA(fast) - MA(slow)`` of the
closes (``ma`` = "sma" or "ema", TA-Lib definitions) and its side ``s`` (+1, -1, or 0 when
``|d|`` is within a relative 1e-9 of the close: a tie, see ``_ties``):

- a cross up (previous ``s <= 0``, now ``s > 0``): close a short if held, open a long unless
  one is held;
- a cross down (previous ``s >= 0``, now ``s < 0``): close a long if held, open a short unless
  one is held (USD-M with ``shorts``; spot is long only and just exits).

Only crossings act: a bot that starts while the averages are already apart waits for the next
one. The first signal needs ``slow + 1`` closed candles. Sizing: see ``SizedParams``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.indicators import EMA, SMA
from binbot.strategy.base import Strategy
from binbot.strategy.builtin._sizing import SizedParams, enter
from binbot.strategy.builtin._ties import sign
from binbot.strategy.params import StrategyParams

MaKind = Literal["sma", "ema"]


class MaCrossParams(SizedParams):
    """Moving-average crossover parameters (periods in candles)."""

    fast: int = Field(10, ge=1, le=10_000)
    slow: int = Field(30, ge=2, le=10_000)
    ma: MaKind = "sma"
    shorts: bool = True

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast must be < slow ({self.slow}), was {self.fast}")
        return self


def _average(kind: MaKind, period: int) -> SMA | EMA:
    return SMA(period) if kind == "sma" else EMA(period)


class MaCross(Strategy):
    """Fast/slow moving-average crossover (see the module docstring)."""

    name = "ma_cross"
    Params = MaCrossParams
    params: MaCrossParams

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._fast = _average(p.ma, p.fast)
        self._slow = _average(p.ma, p.slow)
        self._shorts = p.shorts
        self.spread = math.nan  # MA(fast) - MA(slow) at the last closed candle
        self.spread_sign: int | None = None  # its sign (None before both averages have values)

    def on_start(self) -> None:
        p = self.params
        self._shorts = p.shorts and self.market is not Market.SPOT
        self._fast = _average(p.ma, p.fast)
        self._slow = _average(p.ma, p.slow)
        self.spread = math.nan
        self.spread_sign = None
        for close in self.candles.close.tolist():
            self._update(close)

    def on_candle(self, candle: Candle) -> None:
        before = self.spread_sign
        now = self._update(candle.close)
        if before is None or now is None:
            return
        side = self.position.side
        if before <= 0 < now:
            if side == "short":
                self.close(tag="cross_up")
            if side != "long":
                enter(self, self.params, long=True, tag="cross_up")
        elif before >= 0 > now:
            if side == "long":
                self.close(tag="cross_down")
            if self._shorts and side != "short":
                enter(self, self.params, long=False, tag="cross_down")

    def _update(self, close: float) -> int | None:
        self.spread = spread = self._fast.update(close) - self._slow.update(close)
        self.spread_sign = None if math.isnan(spread) else sign(spread, close)
        return self.spread_sign
