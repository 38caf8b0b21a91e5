"""RSI strategy: every rule on constructed closes, parameters, and random walks against the
reference."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pytest

from binbot.domain.market import Market
from binbot.indicators import rsi, sma
from binbot.strategy import StrategyParamsError, load_strategy
from binbot.strategy.builtin.rsi import Rsi
from tests.unit.strategy import references as ref
from tests.unit.strategy.conftest import Harness
from tests.unit.strategy.engine_run import random_bars, run

# An uptrend, a dip that stays above SMA(10), a rally, a crash below it, a bounce, a fall.
CLOSES = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 140, 100, 120, 150, 130, 60, 50, 40, 30,
          60, 70, 30]
PARAMS = {"period": 2, "oversold": 31, "overbought": 70, "trend_period": 10, "quantity": "1"}


def feed(h: Harness, closes: Sequence[float]) -> None:
    """Each close as the last real-time price of its candle, then the candle closes."""
    for close in closes:
        h.price(close)
        h.close_candles(close)


def test_the_walk_meets_each_rule_where_expected() -> None:
    c = np.array(CLOSES, dtype=float)
    r, trend = rsi(c, 2), sma(c, 10)
    assert np.isnan(trend[8])
    assert not np.isnan(trend[9])
    assert all(r[i] > 70 and c[i] > trend[i] for i in (9, 10, 11))  # overbought, uptrend
    assert r[12] < 31
    assert c[12] > trend[12]
    assert r[14] > 70
    assert c[14] > trend[14]
    assert all(r[i] < 31 and c[i] < trend[i] for i in (16, 17, 18, 19))  # oversold, downtrend
    assert r[21] > 70
    assert c[21] < trend[21]
    assert r[22] < 31
    assert c[22] < trend[22]


def test_entries_follow_the_trend_and_exits_do_not() -> None:
    h = Harness(Rsi(PARAMS))
    feed(h, CLOSES)
    assert h.trades() == [("open_long", 100.0), ("close_long", 150.0), ("open_short", 70.0),
                          ("close_short", 30.0)]
    assert h.bot.position.is_flat


def test_spot_is_long_only() -> None:
    h = Harness(Rsi(PARAMS), market=Market.SPOT)
    feed(h, CLOSES)
    assert h.trades() == [("open_long", 100.0), ("close_long", 150.0)]


def test_without_the_filter_levels_alone_decide() -> None:
    closes = [100, 103, 106, 96, 90, 95, 104, 108, 100, 92, 97]
    r = rsi(np.array(closes, dtype=float), 2)
    assert r[2] > 70
    assert r[3] < 31
    assert r[4] < 31
    assert r[6] > 70
    assert r[7] > 70
    assert r[9] < 31
    assert all(31 <= r[i] <= 70 for i in (5, 8, 10))
    h = Harness(Rsi({**PARAMS, "trend_period": 0}))
    feed(h, closes)
    assert h.trades() == [
        ("open_short", 106.0), ("close_short", 96.0), ("open_long", 96.0), ("close_long", 104.0),
        ("open_short", 104.0), ("close_short", 92.0), ("open_long", 92.0)]


def test_a_held_position_is_not_added_to() -> None:
    h = Harness(Rsi({**PARAMS, "trend_period": 0}))
    feed(h, [10, 20, 30, 40, 50])  # overbought on every candle from the third
    assert h.trades() == [("open_short", 30.0)]


def test_an_rsi_within_a_tie_of_the_level_is_not_beyond_it() -> None:
    # Changes +3 then -7: RSI(2) seeds at 100 * 1.5 / (1.5 + 3.5) = 30.
    c = [100, 103, 96]
    assert rsi(np.array(c, dtype=float), 2)[2] == 30.0
    for level in (30.0, 30.000000001):  # the second is above 30, but by less than 1e-9 of it
        h = Harness(Rsi({**PARAMS, "oversold": level, "trend_period": 0}))
        feed(h, c)
        assert h.trades() == []
    h = Harness(Rsi({**PARAMS, "oversold": 30.001, "trend_period": 0}))
    feed(h, c)
    assert h.trades() == [("open_long", 96.0)]


def test_sizing_by_quote_amount_and_by_equity_share() -> None:
    h = Harness(Rsi({**PARAMS, "trend_period": 0, "quantity": None, "quote_amount": "300"}))
    feed(h, [10, 20, 30])
    assert h.bot.position.quantity == Decimal(-10)
    h = Harness(Rsi({**PARAMS, "trend_period": 0, "quantity": None, "capital_share": 0.5}),
                capital=Decimal(6000))
    feed(h, [10, 20, 30])
    assert h.bot.position.quantity == Decimal(-100)


def test_parameters_are_validated_by_name() -> None:
    assert isinstance(load_strategy("rsi"), Rsi)
    p = Rsi().params
    assert (p.period, p.oversold, p.overbought, p.trend_period) == (14, 30.0, 70.0, 200)
    with pytest.raises(StrategyParamsError, match="oversold must be < overbought"):
        Rsi({"oversold": 70, "overbought": 30})
    with pytest.raises(StrategyParamsError, match="'period'"):
        Rsi({"period": 0})
    with pytest.raises(StrategyParamsError, match="unknown parameter 'periods'"):
        Rsi({"periods": 3})
    with pytest.raises(StrategyParamsError, match="quantity or quote_amount"):
        Rsi({"quantity": 1, "quote_amount": 10})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walks_match_the_reference(seed: int) -> None:
    bars = random_bars(seed, 500)
    params = {"period": 6, "oversold": 35, "overbought": 65, "trend_period": 40,
              "quantity": "1"}
    actual = run(Rsi(params), bars).trades()
    expected = ref.rsi_actions(bars, 6, 35, 65, 40)
    assert len(expected) >= 6
    assert actual == expected
    spot = run(Rsi(params), random_bars(seed, 500, market=Market.SPOT), market=Market.SPOT)
    assert spot.trades() == ref.rsi_actions(bars, 6, 35, 65, 40, shorts=False)
