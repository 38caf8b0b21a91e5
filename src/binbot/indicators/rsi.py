"""Relative strength index with Wilder's smoothing (TA-Lib ``RSI``, default compatibility).

The average gain and loss are seeded with the plain means of the first ``period`` changes and
then smoothed as ``avg = (avg * (period - 1) + x) / period``; ``RSI = 100 * gain / (gain + loss)``.
The first value sits at index ``period``.

Deviation from TA-Lib, on purpose: when ``gain + loss`` is zero (no movement at all over the
seed window) the RSI here is 50, neutral. TA-Lib returns 0 whenever ``|gain + loss| < 1e-8``,
an absolute threshold that on a low-priced coin (price ~1e-5) would report "oversold" for quiet
stretches; everywhere else the two agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from binbot.indicators._arrays import (
    FloatArray,
    as_series,
    check_period,
    finite,
    first_valid,
    nan_array,
)
from binbot.indicators._recurrence import linear_recurrence

_NAN = math.nan
NEUTRAL_RSI = 50.0


def rsi(values: npt.ArrayLike, period: int = 14) -> FloatArray:
    """RSI of ``values``; NaN for the first ``period`` values."""
    x = as_series(values)
    period = check_period(period)
    out = nan_array(len(x))
    start = first_valid(x)
    xs = x[start:]
    if len(xs) <= period:
        return out
    change = np.diff(xs)
    gains = np.maximum(change, 0.0)
    losses = np.maximum(-change, 0.0)
    decay = (period - 1) / period
    avg_gain = _wilder(gains, period, decay)
    avg_loss = _wilder(losses, period, decay)
    total = avg_gain + avg_loss
    moving = total > 0.0
    safe_total = np.where(moving, total, 1.0)
    out[start + period :] = np.where(moving, 100.0 * (avg_gain / safe_total), NEUTRAL_RSI)
    return out


def _wilder(x: FloatArray, period: int, decay: float) -> FloatArray:
    """Wilder's running mean of ``x`` from the mean of its first ``period`` values onwards."""
    seed = float(np.sum(x[:period])) / period
    out = np.empty(len(x) - period + 1, dtype=np.float64)
    out[0] = seed
    out[1:] = linear_recurrence(x[period:] / period, decay, seed)
    return out


def _rsi_value(gain: float, loss: float) -> float:
    total = gain + loss
    return 100.0 * (gain / total) if total > 0.0 else NEUTRAL_RSI


class RSI:
    """Incremental RSI: ``update(close)`` per closed candle, ``peek(price)`` for the forming one."""

    __slots__ = ("_avg_gain", "_avg_loss", "_changes", "_period", "_prev", "value")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period)
        self._prev = _NAN  # the last closed value
        self._changes = 0  # closed-to-closed changes seen
        # Sums of gains and losses during the seed window, Wilder averages afterwards.
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self.value = _NAN  # the RSI after the last update

    @property
    def period(self) -> int:
        return self._period

    @property
    def ready(self) -> bool:
        return self._changes >= self._period

    def _next(self, price: float) -> tuple[float, float, float]:
        """(avg gain, avg loss, RSI) once ``price`` closes; the averages are sums in warm-up."""
        change = price - self._prev
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        period = self._period
        changes = self._changes + 1
        if changes < period:
            return self._avg_gain + gain, self._avg_loss + loss, _NAN
        if changes == period:
            avg_gain = (self._avg_gain + gain) / period
            avg_loss = (self._avg_loss + loss) / period
        else:
            avg_gain = (self._avg_gain * (period - 1) + gain) / period
            avg_loss = (self._avg_loss * (period - 1) + loss) / period
        return avg_gain, avg_loss, _rsi_value(avg_gain, avg_loss)

    def peek(self, price: float) -> float:
        if self._changes + 1 < self._period or self._prev != self._prev:
            return _NAN
        return self._next(price)[2]

    def update(self, close: float) -> float:
        finite(close)
        if self._prev != self._prev:  # first value: nothing to compare with yet
            self._prev = close
            return _NAN
        self._avg_gain, self._avg_loss, value = self._next(close)
        self._changes += 1
        self._prev = close
        self.value = value
        return value
