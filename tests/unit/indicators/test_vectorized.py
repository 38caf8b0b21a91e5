"""Vectorized indicators on small hand-checked series, input validation and the recurrence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from binbot.indicators._recurrence import linear_recurrence

NAN = math.nan


def test_sma_by_hand() -> None:
    # windows (1,2,3) (2,3,4) (3,4,5) -> 2, 3, 4
    np.testing.assert_allclose(sma([1, 2, 3, 4, 5], 3), [NAN, NAN, 2, 3, 4], rtol=1e-15)


def test_ema_by_hand() -> None:
    # k = 2 / (3 + 1) = 0.5; seed = mean(2, 4, 6) = 4 at index 2;
    # then 4 + 0.5 * (8 - 4) = 6 and 6 + 0.5 * (0 - 6) = 3.
    np.testing.assert_allclose(ema([2, 4, 6, 8, 0], 3), [NAN, NAN, 4, 6, 3], rtol=1e-15)


def test_rolling_std_by_hand() -> None:
    # window (2, 4, 4, 4, 5, 5, 7, 9): mean 5, squared deviations sum 9+1+1+1+0+0+4+16 = 32;
    # ddof 0: sqrt(32 / 8) = 2; ddof 1: sqrt(32 / 7).
    data = [2, 4, 4, 4, 5, 5, 7, 9]
    assert rolling_std(data, 8)[-1] == pytest.approx(2.0, rel=1e-15)
    assert rolling_std(data, 8, ddof=1)[-1] == pytest.approx(math.sqrt(32 / 7), rel=1e-15)
    assert np.isnan(rolling_std(data, 8)[:-1]).all()


def test_bollinger_by_hand() -> None:
    # last window (1, 2, 3): mid 2, std sqrt(2/3); k = 2
    bands = bollinger_bands([5, 1, 2, 3], period=3, k=2.0)
    width = 2.0 * math.sqrt(2.0 / 3.0)
    assert (bands.mid[-1], bands.up[-1], bands.dn[-1]) == pytest.approx((2, 2 + width, 2 - width))
    # window (5, 1, 2): mid 8/3
    assert bands.mid[2] == pytest.approx(8 / 3)
    assert np.isnan(bands.up[:2]).all()


def test_rsi_by_hand() -> None:
    # period 2; changes +1, -2, +3, +1.
    # seed (index 2): gain (1 + 0) / 2 = 0.5, loss (0 + 2) / 2 = 1 -> 100 * 0.5 / 1.5 = 33.33..
    # index 3: gain (0.5 + 3) / 2 = 1.75, loss (1 + 0) / 2 = 0.5 -> 100 * 1.75 / 2.25 = 77.77..
    # index 4: gain (1.75 + 1) / 2 = 1.375, loss 0.25 -> 100 * 1.375 / 1.625 = 84.615..
    expected = [NAN, NAN, 100 / 3, 700 / 9, 100 * 1.375 / 1.625]
    np.testing.assert_allclose(rsi([10, 11, 9, 12, 13], 2), expected, rtol=1e-14)


def test_rsi_extremes_and_flat() -> None:
    assert rsi(np.arange(1.0, 30.0), 14)[-1] == 100.0
    assert rsi(np.arange(30.0, 1.0, -1.0), 14)[-1] == 0.0
    # No movement at all: neutral 50 (TA-Lib would say 0; see rsi.py).
    assert (rsi(np.full(30, 0.2413), 14)[14:] == 50.0).all()


def test_true_range_and_atr_by_hand() -> None:
    high = [10.0, 12.0, 11.0, 15.0]
    low = [9.0, 10.0, 8.0, 13.0]
    close = [9.5, 11.0, 9.0, 14.0]
    # TR1 = max(2, |9.5-12|, |9.5-10|) = 2.5; TR2 = max(3, |11-11|, |11-8|) = 3;
    # TR3 = max(2, |9-15|, |9-13|) = 6
    np.testing.assert_allclose(true_range(high, low, close), [NAN, 2.5, 3, 6])
    # ATR(2): seed mean(2.5, 3) = 2.75 at index 2; then (2.75 * 1 + 6) / 2 = 4.375
    np.testing.assert_allclose(atr(high, low, close, 2), [NAN, NAN, 2.75, 4.375])
    np.testing.assert_allclose(atr(high, low, close, 1), true_range(high, low, close))


def test_macd_small_periods_by_hand() -> None:
    # fast 2 (k 2/3), slow 3 (k 1/2), signal 2 (k 2/3) on 1, 2, 4, 8, 16.
    # Both EMAs start at index 2: slow = mean(1,2,4) = 7/3, fast = mean(2,4) = 3 (TA-Lib seed)
    # macd[2] = 3 - 7/3 = 2/3
    # index 3: fast = 3 + (8-3)*2/3 = 19/3; slow = 7/3 + (8-7/3)/2 = 31/6; macd = 7/6
    # signal seed at index 3 = mean(2/3, 7/6) = 11/12; hist = 7/6 - 11/12 = 1/4
    # index 4: fast = 19/3 + (16-19/3)*2/3 = 57/9 + 58/9 = 115/9;
    # slow = 31/6 + (16-31/6)/2 = 62/12 + 65/12 = 127/12; macd = 460/36 - 381/36 = 79/36;
    # signal = 11/12 + (79/36 - 33/36)*2/3 = 99/108 + 92/108 = 191/108;
    # hist = 237/108 - 191/108 = 23/54
    lines = macd([1, 2, 4, 8, 16], fast=2, slow=3, signal=2)
    np.testing.assert_allclose(lines.macd, [NAN, NAN, NAN, 7 / 6, 79 / 36], rtol=1e-14)
    np.testing.assert_allclose(lines.signal, [NAN, NAN, NAN, 11 / 12, 191 / 108], rtol=1e-14)
    np.testing.assert_allclose(lines.hist, [NAN, NAN, NAN, 1 / 4, 23 / 54], rtol=1e-13)


@pytest.mark.parametrize("length", [0, 1, 2])
def test_short_series_are_all_nan(length: int) -> None:
    values = np.arange(1.0, length + 1.0)
    for out in (sma(values, 3), ema(values, 3), rolling_std(values, 3), rsi(values, 3)):
        assert out.shape == (length,)
        assert np.isnan(out).all()
    assert np.isnan(macd(values).macd).all()
    assert np.isnan(atr(values, values, values, 3)).all()


def test_leading_nans_shift_the_warm_up() -> None:
    out = sma([NAN, NAN, 1, 2, 3], 2)
    np.testing.assert_allclose(out, [NAN, NAN, NAN, 1.5, 2.5])
    assert np.isnan(sma([NAN, NAN], 1)).all()


def test_interior_nan_raises() -> None:
    with pytest.raises(ValueError, match=r"values\[2\]"):
        ema([1.0, 2.0, NAN, 3.0], 2)
    with pytest.raises(ValueError, match="high"):
        atr([1.0, NAN], [1.0, 1.0], [1.0, 1.0], 1)


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError, match="period"):
        sma([1.0], 0)
    with pytest.raises(TypeError, match="period"):
        ema([1.0], 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ddof"):
        rolling_std([1.0, 2.0], 2, ddof=2)
    with pytest.raises(ValueError, match="fast"):
        macd([1.0], fast=26, slow=12)
    with pytest.raises(ValueError, match="one-dimensional"):
        sma([[1.0, 2.0]], 1)
    with pytest.raises(ValueError, match="lengths differ"):
        true_range([1.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="k must be"):
        bollinger_bands([1.0], 1, k=-1.0)


def _loop(u: np.ndarray, decay: float, initial: float) -> np.ndarray:
    out, y = [], initial
    for value in u:
        y = decay * y + value
        out.append(y)
    return np.array(out)


@settings(max_examples=50, deadline=None)
@given(
    length=st.integers(0, 5000),
    decay=st.one_of(st.sampled_from([0.0, 0.5, 13 / 14, 0.999]), st.floats(0.0, 1.0)),
    initial=st.floats(-1e6, 1e6),
    seed=st.integers(0, 2**32 - 1),
)
def test_blocked_recurrence_matches_loop(
    length: int, decay: float, initial: float, seed: int
) -> None:
    u = np.random.default_rng(seed).normal(100.0, 10.0, length)
    expected = _loop(u, decay, initial)
    scale = np.maximum(np.abs(expected), 1e-300) + abs(initial) * decay ** np.arange(1, length + 1)
    assert np.all(np.abs(linear_recurrence(u, decay, initial) - expected) <= 1e-12 * scale)
