"""The tail summary behind ``peek`` is exact: its mean and squared-deviation sum are the
correctly rounded values of the exact rational ones, whatever the series (no drift)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binbot.indicators import BollingerBands
from binbot.indicators.stddev import RollingStd

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100)
prices = st.floats(min_value=1e-8, max_value=1e6, allow_nan=False, allow_infinity=False)


def exact_summary(tail: list[float]) -> tuple[float, float]:
    values = [Fraction(v) for v in tail]
    mean = sum(values, Fraction(0)) / len(values)
    return float(mean), float(sum(((v - mean) ** 2 for v in values), Fraction(0)))


@settings(max_examples=300, deadline=None)
@given(period=st.integers(2, 12), series=st.lists(st.one_of(finite, prices), min_size=1,
                                                  max_size=60))
def test_tail_mean_and_m2_are_the_exact_values_correctly_rounded(period: int,
                                                                 series: list[float]) -> None:
    window = RollingStd(period)
    for i, value in enumerate(series):
        window.update(value)
        tail = series[max(0, i - period + 2): i + 1]
        assert (window.tail_mean, window.tail_m2) == exact_summary(tail)


def test_a_long_series_does_not_drift_and_flat_stretches_are_exactly_zero() -> None:
    bands = BollingerBands(20)
    for i in range(200_000):  # a sawtooth of prices with 4 decimals, then flat
        bands.update(1.0 + (i % 977) * 1e-4)
    for _ in range(19):
        bands.update(0.2413)
    assert bands.tail_m2 == 0.0
    assert bands.peek(0.2413) == (0.2413, 0.2413, 0.2413)
    bands.update(0.2413)
    mid, up, dn = bands.peek(0.2414)
    assert math.isclose(mid, 0.2413 + 1e-4 / 20, rel_tol=1e-15)
    assert up > mid > dn


@settings(max_examples=100, deadline=None)
@given(series=st.lists(prices, min_size=1, max_size=40), price=prices)
def test_push_leaves_the_window_as_update_does(series: list[float], price: float) -> None:
    pushed, updated = BollingerBands(5), BollingerBands(5)
    for value in series:
        pushed.push(value)
        updated.update(value)
        assert pushed.tail_summary() == updated.tail_summary()
        assert pushed.peek(price) == updated.peek(price)
    assert pushed.ready == updated.ready


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_push_refuses_what_update_refuses(bad: float) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        BollingerBands(5).push(bad)
