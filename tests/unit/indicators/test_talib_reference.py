"""The vectorized indicators against TA-Lib, an independent implementation, on real 1m klines.

Tolerance is 1e-9 relative. Two families need an absolute term tied to the price level instead:
MACD lines are differences of two price-sized EMAs that cross zero, so their rounding error is
~1e-16 of the *price*, not of the (possibly ~0) difference; and TA-Lib's STDDEV/BBANDS compute
``E[x^2] - E[x]^2`` from running sums, which loses digits when the deviation is tiny next to
the price (we measured up to ~5e-11 relative on these files).
"""

from __future__ import annotations

import numpy as np
import pytest
import talib

from binbot.indicators import (
    atr,
    bollinger_bands,
    ema,
    macd,
    rolling_std,
    rsi,
    sma,
    true_range,
)
from tests.unit.indicators.conftest import Klines, assert_series_close

PERIODS = (2, 5, 14, 20, 50)


@pytest.mark.parametrize("period", [1, *PERIODS])
def test_sma_matches_talib(klines: Klines, period: int) -> None:
    assert_series_close(sma(klines.close, period), talib.SMA(klines.close, period))


@pytest.mark.parametrize("period", [1, *PERIODS])
def test_ema_matches_talib(klines: Klines, period: int) -> None:
    assert_series_close(ema(klines.close, period), talib.EMA(klines.close, period))


@pytest.mark.parametrize("period", PERIODS)
def test_rolling_std_matches_talib_stddev(klines: Klines, period: int) -> None:
    price_level = float(np.median(klines.close))
    assert_series_close(
        rolling_std(klines.close, period),
        talib.STDDEV(klines.close, period, 1.0),
        atol=1e-12 * price_level,
    )


@pytest.mark.parametrize(("period", "k"), [(20, 2.0), (10, 1.5), (50, 3.0)])
def test_bollinger_matches_talib_bbands(klines: Klines, period: int, k: float) -> None:
    up, mid, dn = talib.BBANDS(klines.close, period, k, k, 0)
    bands = bollinger_bands(klines.close, period, k)
    price_level = float(np.median(klines.close))
    assert_series_close(bands.mid, mid)
    assert_series_close(bands.up, up, atol=1e-12 * price_level)
    assert_series_close(bands.dn, dn, atol=1e-12 * price_level)


@pytest.mark.parametrize("period", PERIODS)  # TA-Lib rejects an RSI period of 1
def test_rsi_matches_talib(klines: Klines, period: int) -> None:
    # RSI lives on 0..100, so 1e-9 absolute is the relative bound at its scale.
    assert_series_close(rsi(klines.close, period), talib.RSI(klines.close, period), atol=1e-9)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16)])
def test_macd_matches_talib(klines: Klines, fast: int, slow: int, signal: int) -> None:
    expected = talib.MACD(klines.close, fast, slow, signal)
    actual = macd(klines.close, fast, slow, signal)
    price_level = float(np.median(klines.close))
    for ours, theirs in zip(actual, expected, strict=True):
        assert_series_close(ours, theirs, atol=1e-12 * price_level)


def test_macd_fast_line_is_seeded_late_like_talib(klines: Klines) -> None:
    # The quirk we reproduce: TA-Lib's fast EMA starts at index 25 from mean(close[14:26]),
    # so at the first output (index 33) its MACD differs from EMA(12) - EMA(26).
    naive = ema(klines.close, 12) - ema(klines.close, 26)
    theirs = talib.MACD(klines.close, 12, 26, 9)[0]
    ours = macd(klines.close).macd
    assert ours[33] == pytest.approx(theirs[33], rel=1e-9, abs=1e-15)
    assert abs(naive[33] - theirs[33]) > 1e-6 * abs(klines.close[33])


def test_true_range_matches_talib(klines: Klines) -> None:
    assert_series_close(
        true_range(klines.high, klines.low, klines.close),
        talib.TRANGE(klines.high, klines.low, klines.close),
        rtol=0.0,
    )


@pytest.mark.parametrize("period", [1, *PERIODS])
def test_atr_matches_talib(klines: Klines, period: int) -> None:
    assert_series_close(
        atr(klines.high, klines.low, klines.close, period),
        talib.ATR(klines.high, klines.low, klines.close, period),
    )


def test_leading_nans_are_skipped_like_talib(klines: Klines) -> None:
    closes = klines.close[:500].copy()
    closes[:7] = np.nan
    assert_series_close(ema(closes, 10), talib.EMA(closes, 10))
    assert_series_close(sma(closes, 10), talib.SMA(closes, 10))
    assert_series_close(rsi(closes, 14), talib.RSI(closes, 14), atol=1e-9)
