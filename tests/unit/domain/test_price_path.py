from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from binbot.domain.price_path import intrabar_path, intrabar_ticks


def test_rising_candle_dips_first_and_falling_candle_rallies_first() -> None:
    assert intrabar_path(10, 12, 9, 11) == (10, 9, 12, 11)
    assert intrabar_path(10, 12, 9, 9.5) == (10, 12, 9, 9.5)


def test_repeated_prices_are_dropped() -> None:
    assert intrabar_path(10, 10, 10, 10) == (10,)
    assert intrabar_path(10, 12, 10, 12) == (10, 12)


prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)


@given(prices, prices, prices, prices)
def test_ticks_lie_inside_the_candle_in_order_and_end_with_the_close(
    a: float, b: float, c: float, d: float
) -> None:
    low, high = min(a, b, c, d), max(a, b, c, d)
    ticks = intrabar_ticks(60_000, 60_000, a, high, low, d)
    times = [t for t, _ in ticks]
    assert times == sorted(set(times))
    assert times[0] == 60_000
    assert times[-1] < 120_000
    assert ticks[-1][1] == d
    assert all(low <= p <= high for _, p in ticks)
