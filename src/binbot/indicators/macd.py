"""MACD (TA-Lib ``MACD`` compatible): ``macd = EMA(fast) - EMA(slow)``, ``signal = EMA(macd)``,
``hist = macd - signal``.

TA-Lib quirk, reproduced so outputs match: both EMAs start on the same candle, index
``slow - 1``. The slow one is seeded with the mean of the first ``slow`` values as usual, but the
fast one with the mean of the ``fast`` values ending there, not of the first ``fast`` values; a
standalone ``EMA(fast)`` therefore differs from TA-Lib's fast line for a while (the difference
decays by ``1 - 2/(fast+1)`` per candle). The signal EMA is seeded with the mean of the first
``signal`` MACD values, and all three outputs start together at index ``slow + signal - 2``
(33 for 12/26/9); earlier values are NaN, as in TA-Lib. Unlike TA-Lib, ``fast >= slow`` is an
error rather than silently swapped.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy.typing as npt

from binbot.indicators._arrays import (
    FloatArray,
    as_series,
    check_period,
    finite,
    first_valid,
    nan_array,
)
from binbot.indicators.moving_average import ema_seeded_at

_NAN = math.nan
_NAN_MACD = (_NAN, _NAN, _NAN)


class MacdLines(NamedTuple):
    """Vectorized MACD, three arrays of the input's length."""

    macd: FloatArray
    signal: FloatArray
    hist: FloatArray


def _check_periods(fast: int, slow: int, signal: int) -> tuple[int, int, int]:
    fast = check_period(fast, name="fast")
    slow = check_period(slow, name="slow")
    signal = check_period(signal, name="signal")
    if fast >= slow:
        raise ValueError(f"fast ({fast}) must be shorter than slow ({slow})")
    return fast, slow, signal


def macd(values: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> MacdLines:
    """MACD line, signal line and histogram; NaN for the first ``slow + signal - 2`` values."""
    x = as_series(values)
    fast, slow, signal = _check_periods(fast, slow, signal)
    n = len(x)
    macd_out, signal_out, hist_out = nan_array(n), nan_array(n), nan_array(n)
    start = first_valid(x)
    xs = x[start:]
    first = slow + signal - 2
    if len(xs) > first:
        line = ema_seeded_at(xs, fast, slow - 1) - ema_seeded_at(xs, slow, slow - 1)
        sig = ema_seeded_at(line[slow - 1 :], signal, signal - 1)[signal - 1 :]
        macd_out[start + first :] = line[first:]
        signal_out[start + first :] = sig
        hist_out[start + first :] = line[first:] - sig
    return MacdLines(macd_out, signal_out, hist_out)


class _SeededEma:
    """EMA step with an externally supplied seed (TA-Lib arithmetic)."""

    __slots__ = ("k", "value")

    def __init__(self, period: int) -> None:
        self.k = 2.0 / (period + 1)
        self.value = _NAN

    def next(self, x: float) -> float:
        prev = self.value
        return (x - prev) * self.k + prev


class MACD:
    """Incremental MACD returning ``(macd, signal, hist)`` tuples, NaN during the warm-up."""

    __slots__ = (
        "_closes",
        "_count",
        "_fast",
        "_fast_ema",
        "_lines",
        "_signal",
        "_signal_ema",
        "_slow",
        "_slow_ema",
        "value",
    )

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self._fast, self._slow, self._signal = _check_periods(fast, slow, signal)
        self._closes: deque[float] = deque(maxlen=self._slow)  # only used until the EMAs seed
        self._lines: list[float] = []  # MACD values until the signal EMA seeds
        self._count = 0
        self._fast_ema = _SeededEma(self._fast)
        self._slow_ema = _SeededEma(self._slow)
        self._signal_ema = _SeededEma(self._signal)
        self.value: tuple[float, float, float] = _NAN_MACD

    @property
    def ready(self) -> bool:
        return self._count >= self._slow + self._signal - 1

    def _next(self, price: float) -> tuple[float, float, float, float, float]:
        """(fast EMA, slow EMA, macd, signal, hist) if ``price`` closed the next candle."""
        count = self._count + 1
        slow = self._slow
        if count < slow:
            return _NAN, _NAN, _NAN, _NAN, _NAN
        if count == slow:
            window = [*self._closes, price][-slow:]
            fast_value = math.fsum(window[-self._fast :]) / self._fast
            slow_value = math.fsum(window) / slow
        else:
            fast_value = self._fast_ema.next(price)
            slow_value = self._slow_ema.next(price)
        line = fast_value - slow_value
        lines_seen = count - slow + 1
        if lines_seen < self._signal:
            return fast_value, slow_value, line, _NAN, _NAN
        if lines_seen == self._signal:
            sig = (math.fsum(self._lines) + line) / self._signal
        else:
            sig = self._signal_ema.next(line)
        return fast_value, slow_value, line, sig, line - sig

    def peek(self, price: float) -> tuple[float, float, float]:
        _, _, line, sig, hist = self._next(price)
        if sig != sig:
            return _NAN_MACD
        return (line, sig, hist)

    def update(self, close: float) -> tuple[float, float, float]:
        fast_value, slow_value, line, sig, hist = self._next(finite(close))
        self._count += 1
        if self._count < self._slow:
            self._closes.append(close)
        else:
            self._closes.clear()
            self._fast_ema.value = fast_value
            self._slow_ema.value = slow_value
            if sig != sig:
                self._lines.append(line)
            else:
                self._lines.clear()
                self._signal_ema.value = sig
        self.value = (line, sig, hist) if sig == sig else _NAN_MACD
        return self.value
