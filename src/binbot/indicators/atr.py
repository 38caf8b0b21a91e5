"""True range and average true range (TA-Lib ``TRANGE`` / ``ATR``).

``TR[i] = max(high - low, |high - close[i-1]|, |low - close[i-1]|)``, undefined (NaN) for the first
candle, which has no previous close. ``ATR`` is Wilder's smoothing of TR, seeded with the mean of
``TR[1..period]``, so its first value sits at index ``period``; ``period == 1`` gives TR itself,
as in TA-Lib.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from binbot.indicators._arrays import FloatArray, as_series, check_period, finite, nan_array
from binbot.indicators._recurrence import linear_recurrence

_NAN = math.nan


def _hlc(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    if not len(h) == len(lo) == len(c):
        raise ValueError(f"high, low, close lengths differ: {len(h)}, {len(lo)}, {len(c)}")
    for name, arr in (("high", h), ("low", lo), ("close", c)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity")
    return h, lo, c


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """True range of each candle; NaN for the first."""
    h, lo, c = _hlc(high, low, close)
    out = nan_array(len(h))
    if len(h) > 1:
        prev, hi, low_ = c[:-1], h[1:], lo[1:]
        out[1:] = np.maximum(np.maximum(hi - low_, np.abs(prev - hi)), np.abs(prev - low_))
    return out


def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Average true range; NaN for the first ``period`` candles."""
    period = check_period(period)
    tr = true_range(high, low, close)
    out = nan_array(len(tr))
    if len(tr) > period:
        seed = float(np.sum(tr[1 : period + 1])) / period
        out[period] = seed
        decay = (period - 1) / period
        out[period + 1 :] = linear_recurrence(tr[period + 1 :] / period, decay, seed)
    return out


def _tr(high: float, low: float, prev_close: float) -> float:
    return max(high - low, abs(prev_close - high), abs(prev_close - low))


class TrueRange:
    """Incremental true range: ``update(high, low, close)`` / ``peek(high, low, close)``."""

    __slots__ = ("_prev_close", "value")

    def __init__(self) -> None:
        self._prev_close = _NAN
        self.value = _NAN

    def peek(self, high: float, low: float, close: float) -> float:
        """TR of the forming candle (its high and low so far; ``close`` is unused)."""
        if self._prev_close != self._prev_close:
            return _NAN
        return _tr(high, low, self._prev_close)

    def update(self, high: float, low: float, close: float) -> float:
        value = self.peek(finite(high), finite(low), finite(close))
        self._prev_close = close
        self.value = value
        return value


class ATR:
    """Incremental ATR with TA-Lib's arithmetic.

    ``peek(high, low, close)`` takes the forming candle's high and low so far (and its current
    price as ``close``, unused by the current value but kept for a uniform signature).
    """

    __slots__ = ("_acc", "_count", "_period", "_tr", "value")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period)
        self._tr = TrueRange()
        self._count = 0  # true ranges seen (one fewer than candles)
        self._acc = 0.0  # sum of TRs during the seed window, then the ATR
        self.value = _NAN

    @property
    def period(self) -> int:
        return self._period

    @property
    def ready(self) -> bool:
        return self._count >= self._period

    def _next(self, tr: float) -> tuple[float, float]:
        """(accumulator, ATR) after one more true range."""
        period = self._period
        count = self._count + 1
        if count < period:
            return self._acc + tr, _NAN
        if count == period:
            value = (self._acc + tr) / period
        else:
            value = (self._acc * (period - 1) + tr) / period
        return value, value

    def peek(self, high: float, low: float, close: float) -> float:
        tr = self._tr.peek(high, low, close)
        if tr != tr or self._count + 1 < self._period:
            return _NAN
        return self._next(tr)[1]

    def update(self, high: float, low: float, close: float) -> float:
        tr = self._tr.update(high, low, close)
        if tr != tr:
            return _NAN
        self._acc, value = self._next(tr)
        self._count += 1
        self.value = value
        return value
