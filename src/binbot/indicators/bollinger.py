"""Bollinger bands: ``mid = SMA(period)``, ``up/dn = mid ± k * std`` (TA-Lib ``BBANDS``, matype 0,
``nbdevup = nbdevdn = k``; TA-Lib's standard deviation is the ``ddof=0`` one).

``BollingerBands.peek`` is the real-time band of the BOLL strategy: the last ``period - 1`` closed
candles plus the forming candle at the current price. It runs on every price tick of a backtest,
so it is a handful of float operations on a precomputed summary (see ``stddev.TailWindow``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy.typing as npt

from binbot.indicators._arrays import FloatArray, as_series, check_period, finite
from binbot.indicators.moving_average import sma
from binbot.indicators.stddev import TailWindow, rolling_std

_NAN = math.nan
_NAN_BANDS = (_NAN, _NAN, _NAN)


class Bands(NamedTuple):
    """Vectorized Bollinger bands, three arrays of the input's length."""

    mid: FloatArray
    up: FloatArray
    dn: FloatArray


def _check_k(k: float) -> float:
    k = float(k)
    if not math.isfinite(k) or k < 0.0:
        raise ValueError(f"k must be a finite number >= 0, was {k!r}")
    return k


def bollinger_bands(
    values: npt.ArrayLike, period: int = 20, k: float = 2.0, ddof: int = 0
) -> Bands:
    """Bollinger bands of ``values``; NaN for the first ``period - 1`` values."""
    x = as_series(values)
    period = check_period(period)
    k = _check_k(k)
    mid = sma(x, period)
    width = k * rolling_std(x, period, ddof)
    return Bands(mid, mid + width, mid - width)


class BollingerBands(TailWindow):
    """Incremental Bollinger bands.

    ``update(close)`` closes a candle and returns ``(mid, up, dn)`` over the last ``period``
    closed values; ``peek(price)`` returns the bands as if the forming candle closed at ``price``
    (the last ``period - 1`` closed values plus ``price``) and changes nothing. ``peek`` is
    NaN until ``period - 1`` candles have closed, ``update`` until ``period`` have.
    Plain tuples rather than named ones: building a NamedTuple would double ``peek``'s cost.
    """

    __slots__ = ("_k", "value")

    def __init__(self, period: int = 20, k: float = 2.0, ddof: int = 0) -> None:
        super().__init__(period, ddof)
        self._k = _check_k(k)
        self.value: tuple[float, float, float] = _NAN_BANDS  # the bands after the last update

    @property
    def k(self) -> float:
        return self._k

    def peek(self, price: float) -> tuple[float, float, float]:
        if self._count < self._period - 1:
            return _NAN_BANDS
        d = price - self._mu
        mid = self._mu + d * self._inv_n
        w = self._k * math.sqrt((self._m2 + d * d * self._tail_weight) * self._var_div)
        return (mid, mid + w, mid - w)

    def update(self, close: float) -> tuple[float, float, float]:
        if not math.isfinite(close):
            finite(close)  # raises, with the reason
        value = self.peek(close)
        self.push(close)
        self.value = value
        return value
