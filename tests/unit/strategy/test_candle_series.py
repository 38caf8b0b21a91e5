"""``CandleSeries`` writes its columns lazily: whatever mix of appends and reads, every read
sees exactly the last ``capacity`` closed candles, oldest first."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.strategy.candles import COLUMNS, CandleSeries


def _candle(i: int) -> Candle:
    return Candle(Market.USDM, "X", "1m", i * 60_000, i * 60_000 + 59_999, i + 0.1, i + 0.2,
                  i + 0.3, i + 0.4, i + 0.5, 0.0, 0, 0.0, 0.0, True)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 7),
       steps=st.lists(st.one_of(st.integers(1, 20), st.just(0)), max_size=40))
def test_reads_between_any_appends_see_the_last_capacity_candles(capacity: int,
                                                                 steps: list[int]) -> None:
    """``steps``: a positive n appends n candles, 0 reads every column (and the length)."""
    series = CandleSeries(capacity)
    appended: list[Candle] = []
    for step in [*steps, 0]:
        if step:
            for _ in range(step):
                candle = _candle(len(appended))
                assert series.append(candle)
                appended.append(candle)
            assert not series.append(appended[-1])  # not newer: ignored
            continue
        expected = appended[-capacity:]
        assert len(series) == len(expected)
        assert series.last is (expected[-1] if expected else None)
        np.testing.assert_array_equal(series.open_time, [c.open_time for c in expected])
        for name in COLUMNS:
            np.testing.assert_array_equal(getattr(series, name),
                                          [getattr(c, name) for c in expected])
