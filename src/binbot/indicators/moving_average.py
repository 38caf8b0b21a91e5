"""Simple and exponential moving averages (TA-Lib ``SMA`` / ``EMA`` definitions).

EMA uses ``k = 2 / (period + 1)`` and is seeded, as TA-Lib and Binance's charts do, with the SMA of
the first ``period`` values, so its first value sits at index ``period - 1``.
"""

from __future__ import annotations

import math
from collections import deque

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


def sma(values: npt.ArrayLike, period: int) -> FloatArray:
    """Simple moving average; NaN for the first ``period - 1`` values."""
    x = as_series(values)
    period = check_period(period)
    out = nan_array(len(x))
    start = first_valid(x)
    xs = x[start:]
    if len(xs) < period:
        return out
    # Cumulative sums of values shifted by the first one: O(n) whatever the period, and the shift
    # keeps the running total small, so the window differences lose almost nothing to rounding.
    base = xs[0]
    csum = np.cumsum(xs - base)
    sums = csum[period - 1 :].copy()
    sums[1:] -= csum[:-period]
    out[start + period - 1 :] = base + sums / period
    return out


def ema(values: npt.ArrayLike, period: int) -> FloatArray:
    """Exponential moving average seeded with the SMA of the first ``period`` values."""
    x = as_series(values)
    period = check_period(period)
    out = nan_array(len(x))
    start = first_valid(x)
    if len(x) - start >= period:
        out[start:] = ema_seeded_at(x[start:], period, period - 1)
    return out


def ema_seeded_at(xs: FloatArray, period: int, seed_index: int) -> FloatArray:
    """EMA of a finite series whose seed is the mean of the ``period`` values ending at
    ``seed_index`` (TA-Lib's MACD seeds its fast EMA later than ``period - 1``)."""
    out = nan_array(len(xs))
    if seed_index >= len(xs):
        return out
    k = 2.0 / (period + 1)
    seed = float(np.sum(xs[seed_index - period + 1 : seed_index + 1])) / period
    out[seed_index] = seed
    out[seed_index + 1 :] = linear_recurrence(k * xs[seed_index + 1 :], 1.0 - k, seed)
    return out


class SMA:
    """Incremental simple moving average.

    ``update(close)`` adds a closed value and returns the SMA of the last ``period`` closed values;
    ``peek(price)`` returns the SMA of the last ``period - 1`` closed values plus ``price`` (the
    forming candle) without changing anything. Both are NaN until enough values have closed.
    """

    __slots__ = ("_count", "_period", "_since_exact", "_tail", "_tail_sum", "value")

    def __init__(self, period: int) -> None:
        self._period = check_period(period)
        # The last period-1 closed values: the part of the window a peek or an update keeps.
        self._tail: deque[float] = deque(maxlen=self._period - 1)
        self._tail_sum = 0.0
        self._count = 0
        self._since_exact = 0
        self.value = _NAN  # the SMA after the last update

    @property
    def period(self) -> int:
        return self._period

    @property
    def ready(self) -> bool:
        """True once ``update`` returns numbers."""
        return self._count >= self._period

    def peek(self, price: float) -> float:
        if self._count < self._period - 1:
            return _NAN
        return (self._tail_sum + price) / self._period

    def update(self, close: float) -> float:
        value = self.peek(finite(close))
        tail = self._tail
        if tail.maxlen:
            if len(tail) == tail.maxlen:
                self._tail_sum -= tail[0]
            tail.append(close)
            self._tail_sum += close
            # Adding and subtracting leaves rounding residue; an exact re-sum every period
            # updates keeps it at a few ulps of the window's largest value.
            self._since_exact += 1
            if self._since_exact >= self._period:
                self._tail_sum = math.fsum(tail)
                self._since_exact = 0
        self._count += 1
        self.value = value
        return value


class EMA:
    """Incremental EMA with TA-Lib's seeding and arithmetic (``(x - prev) * k + prev``)."""

    __slots__ = ("_count", "_k", "_period", "_seed_sum", "value")

    def __init__(self, period: int) -> None:
        self._period = check_period(period)
        self._k = 2.0 / (self._period + 1)
        self._count = 0
        self._seed_sum = 0.0
        self.value = _NAN  # the EMA after the last update

    @property
    def period(self) -> int:
        return self._period

    @property
    def ready(self) -> bool:
        return self._count >= self._period

    def peek(self, price: float) -> float:
        count = self._count
        if count >= self._period:
            prev = self.value
            return (price - prev) * self._k + prev
        if count == self._period - 1:
            return (self._seed_sum + price) / self._period
        return _NAN

    def update(self, close: float) -> float:
        value = self.peek(finite(close))
        if self._count < self._period - 1:
            self._seed_sum += close
        self._count += 1
        self.value = value
        return value
