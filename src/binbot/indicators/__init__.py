"""Technical indicators in float64, each in two forms that agree to rounding.

Vectorized (whole series in, same-length float64 array out, NaN for the warm-up; leading NaNs
in the input are skipped as TA-Lib does, any later NaN/inf raises ``ValueError``)::

    sma(values, period)                      first value at index period - 1
    ema(values, period)                      seeded with the SMA of the first period values
    rolling_std(values, period, ddof=0)
    bollinger_bands(values, period=20, k=2.0, ddof=0) -> Bands(mid, up, dn)
    rsi(values, period=14)                   Wilder; first value at index period
    macd(values, fast=12, slow=26, signal=9) -> MacdLines(macd, signal, hist)
    true_range(high, low, close)             first value at index 1
    atr(high, low, close, period=14)         Wilder; first value at index period

Incremental (for live candles; same numbers as the vectorized form at the same index)::

    ind = SMA(20)            # also EMA, RollingStd, BollingerBands, RSI, MACD
    ind.update(close)        # a candle closed: returns the value over the closed candles
    ind.peek(price)          # the value if the forming candle closed at ``price``; no mutation
    ind.value, ind.ready     # the last updated value; whether update returns numbers yet

``TrueRange`` and ``ATR`` take ``update(high, low, close)`` / ``peek(high, low, close)``.
``BollingerBands`` and ``MACD`` return plain ``(mid, up, dn)`` / ``(macd, signal, hist)``
tuples. Before enough candles have closed, values are NaN (``peek`` is ready one candle earlier
than ``update``, since the forming candle completes the window). ``update(x)`` always returns
exactly what ``peek(x)`` returned just before it.

Definitions follow TA-Lib (``SMA``, ``EMA``, ``STDDEV`` with nbdev 1, ``BBANDS`` with matype 0,
``RSI``, ``MACD``, ``TRANGE``, ``ATR``) including MACD's late fast-EMA seed; deliberate
deviations: an RSI with no movement is 50 (TA-Lib: 0), MACD rejects ``fast >= slow``, and the
standard deviation is computed without TA-Lib's cancellation (see each module's docstring).
"""

from binbot.indicators.atr import ATR, TrueRange, atr, true_range
from binbot.indicators.bollinger import Bands, BollingerBands, bollinger_bands
from binbot.indicators.macd import MACD, MacdLines, macd
from binbot.indicators.moving_average import EMA, SMA, ema, sma
from binbot.indicators.rsi import RSI, rsi
from binbot.indicators.stddev import RollingStd, rolling_std

__all__ = [
    "ATR",
    "EMA",
    "MACD",
    "RSI",
    "SMA",
    "Bands",
    "BollingerBands",
    "MacdLines",
    "RollingStd",
    "TrueRange",
    "atr",
    "bollinger_bands",
    "ema",
    "macd",
    "rolling_std",
    "rsi",
    "sma",
    "true_range",
]
