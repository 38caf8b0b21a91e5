"""Incremental indicators: same values as the vectorized ones, and ``peek`` never mutates."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binbot.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    BollingerBands,
    RollingStd,
    TrueRange,
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

# Each case: (name, factory of the incremental indicator, vectorized closes -> list of arrays).
CloseCase = tuple[str, Callable[[], Any], Callable[[np.ndarray], list[np.ndarray]]]
CLOSE_CASES: list[CloseCase] = [
    ("sma20", lambda: SMA(20), lambda c: [sma(c, 20)]),
    ("sma1", lambda: SMA(1), lambda c: [sma(c, 1)]),
    ("ema9", lambda: EMA(9), lambda c: [ema(c, 9)]),
    ("ema1", lambda: EMA(1), lambda c: [ema(c, 1)]),
    ("std20", lambda: RollingStd(20), lambda c: [rolling_std(c, 20)]),
    ("std5_ddof1", lambda: RollingStd(5, ddof=1), lambda c: [rolling_std(c, 5, ddof=1)]),
    ("boll20", lambda: BollingerBands(20, 2.0), lambda c: list(bollinger_bands(c, 20, 2.0))),
    (
        "boll7_ddof1",
        lambda: BollingerBands(7, 1.5, ddof=1),
        lambda c: list(bollinger_bands(c, 7, 1.5, ddof=1)),
    ),
    ("rsi14", lambda: RSI(14), lambda c: [rsi(c, 14)]),
    ("rsi2", lambda: RSI(2), lambda c: [rsi(c, 2)]),
    ("macd", lambda: MACD(), lambda c: list(macd(c))),
    ("macd_small", lambda: MACD(2, 4, 3), lambda c: list(macd(c, 2, 4, 3))),
]
CASE_IDS = [case[0] for case in CLOSE_CASES]


def _as_columns(values: Sequence[Any]) -> list[np.ndarray]:
    rows = [v if isinstance(v, tuple) else (v,) for v in values]
    return [np.array(col, dtype=np.float64) for col in zip(*rows, strict=True)]


def _tolerances(name: str, closes: np.ndarray) -> dict[str, float]:
    scale = float(np.max(np.abs(closes))) if len(closes) else 1.0
    if name.startswith("macd"):
        return {"atol": 1e-12 * scale}  # differences of price-sized EMAs (see talib tests)
    if name.startswith("rsi"):
        return {"atol": 1e-9}  # 0..100 scale
    if name.startswith(("std", "boll")):
        return {"atol": 1e-14 * scale}  # exact zeros of flat windows vs ~1e-17 residue
    return {}


def _check_same_as_vectorized(case: CloseCase, closes: np.ndarray) -> None:
    name, make, vectorized = case
    indicator = make()
    got = _as_columns([indicator.update(float(x)) for x in closes])
    for ours, reference in zip(got, vectorized(closes), strict=True):
        assert_series_close(ours, reference, **_tolerances(name, closes))


@pytest.mark.parametrize("case", CLOSE_CASES, ids=CASE_IDS)
def test_update_matches_vectorized_on_real_klines(case: CloseCase, klines: Klines) -> None:
    _check_same_as_vectorized(case, klines.close[:6000])


def test_atr_update_matches_vectorized_on_real_klines(klines: Klines) -> None:
    h, lo, c = klines.high[:6000], klines.low[:6000], klines.close[:6000]
    for period in (1, 14):
        indicator = ATR(period)
        got = np.array([indicator.update(*bar) for bar in zip(h, lo, c, strict=True)])
        assert_series_close(got, atr(h, lo, c, period))
    tr = TrueRange()
    got = np.array([tr.update(*bar) for bar in zip(h, lo, c, strict=True)])
    assert_series_close(got, true_range(h, lo, c), rtol=0.0)


def test_bollinger_peek_matches_direct_numpy_window(klines: Klines) -> None:
    # The real-time band: last 19 closed 1m closes plus the current price, std with ddof 0.
    closes = klines.close[:3000]
    bands = BollingerBands(20, 2.0)
    rng = np.random.default_rng(7)
    for i, close in enumerate(closes):
        if i >= 19:
            price = float(close * (1.0 + rng.normal(0.0, 1e-3)))
            window = np.append(closes[i - 19 : i], price)
            mid, up, dn = bands.peek(price)
            std = float(np.std(window))
            tol = 1e-15 * price  # np.std itself leaves ~1e-17 residue on flat windows
            assert mid == pytest.approx(float(np.mean(window)), rel=1e-9)
            assert up - mid == pytest.approx(2.0 * std, rel=1e-9, abs=tol)
            assert mid - dn == pytest.approx(2.0 * std, rel=1e-9, abs=tol)
        bands.update(float(close))


# Random walks with flat stretches and tick rounding: exact repeats are where rolling-std and
# RSI implementations disagree, so the generator makes many of them.
@st.composite
def price_series(draw: st.DrawFn, min_size: int = 0, max_size: int = 120) -> np.ndarray:
    start = draw(st.floats(1e-4, 1e5))
    steps = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(-0.05, 0.05)),
            min_size=min_size,
            max_size=max_size,
        )
    )
    prices = start * np.exp(np.cumsum([0.0, *steps]))
    digits = draw(st.integers(2, 8)) - math.floor(math.log10(start))
    rounded = np.round(prices, digits)
    return np.where(rounded > 0, rounded, prices)


@settings(max_examples=60, deadline=None)
@given(
    # Hypothesis favours short lists; the second branch makes sure warm-ups are passed.
    closes=st.one_of(price_series(), price_series(min_size=40, max_size=200)),
    case_index=st.integers(0, len(CLOSE_CASES) - 1),
)
def test_update_matches_vectorized_on_random_series(closes: np.ndarray, case_index: int) -> None:
    _check_same_as_vectorized(CLOSE_CASES[case_index], closes)


@settings(max_examples=40, deadline=None)
@given(closes=price_series(min_size=30), period=st.integers(1, 25))
def test_atr_update_matches_vectorized_on_random_series(closes: np.ndarray, period: int) -> None:
    rng = np.random.default_rng(len(closes))
    high = closes * (1.0 + rng.uniform(0.0, 0.01, len(closes)))
    low = closes * (1.0 - rng.uniform(0.0, 0.01, len(closes)))
    indicator = ATR(period)
    got = np.array([indicator.update(*bar) for bar in zip(high, low, closes, strict=True)])
    assert_series_close(got, atr(high, low, closes, period))


def _state(indicator: Any) -> Any:
    """Everything an indicator holds, as comparable plain data."""
    slots: list[str] = []
    for cls in type(indicator).__mro__:
        slots.extend(getattr(cls, "__slots__", ()))
    state = {}
    for name in slots:
        value = getattr(indicator, name)
        state[name] = _state(value) if hasattr(value, "__slots__") else copy.deepcopy(value)
    return repr(state)


@settings(max_examples=60, deadline=None)
@given(
    closes=price_series(min_size=40),
    probes=st.lists(st.floats(1e-4, 1e6), min_size=1, max_size=5),
    case_index=st.integers(0, len(CLOSE_CASES) - 1),
)
def test_peek_does_not_mutate_and_equals_next_update(
    closes: np.ndarray, probes: list[float], case_index: int
) -> None:
    _, make, _ = CLOSE_CASES[case_index]
    peeked, plain = make(), make()
    for close in closes.tolist():
        before = _state(peeked)
        for probe in probes:
            peeked.peek(probe)
        assert _state(peeked) == before
        expected = peeked.peek(close)
        result = peeked.update(close)
        assert repr(result) == repr(expected)  # repr: NaN == NaN, and exact equality
        assert repr(plain.update(close)) == repr(result)


@settings(max_examples=40, deadline=None)
@given(closes=price_series(min_size=10), probe=st.floats(1e-4, 1e6))
def test_atr_peek_does_not_mutate(closes: np.ndarray, probe: float) -> None:
    peeked, plain = ATR(5), ATR(5)
    for close in closes.tolist():
        bar = (close * 1.01, close * 0.99, close)
        before = _state(peeked)
        peeked.peek(probe * 1.01, probe * 0.99, probe)
        assert _state(peeked) == before
        expected = peeked.peek(*bar)
        assert repr(peeked.update(*bar)) == repr(expected) == repr(plain.update(*bar))


def test_peek_is_ready_one_candle_before_update() -> None:
    bands = BollingerBands(3)
    assert all(math.isnan(v) for v in bands.peek(1.0))
    bands.update(1.0)
    assert all(math.isnan(v) for v in bands.peek(2.0))
    bands.update(2.0)
    assert not bands.ready
    # window 1, 2, 3: mean 2, population variance (1 + 0 + 1) / 3
    mid, up, dn = bands.peek(3.0)
    assert (mid, up - mid) == pytest.approx((2.0, 2.0 * math.sqrt(2.0 / 3.0)))
    bands.update(3.0)
    assert bands.ready
    assert bands.value == (mid, up, dn)


def test_flat_window_has_exactly_zero_width() -> None:
    bands = BollingerBands(20)
    for _ in range(25):
        bands.update(0.2413)
    assert bands.peek(0.2413) == (0.2413, 0.2413, 0.2413)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_update_rejects_non_finite(bad: float) -> None:
    for indicator in (SMA(3), EMA(3), RollingStd(3), BollingerBands(3), RSI(3), MACD(2, 3, 2)):
        with pytest.raises(ValueError, match="finite"):
            indicator.update(bad)
    with pytest.raises(ValueError, match="finite"):
        ATR(3).update(1.0, bad, 1.0)
