"""Interval candles aggregated from 1m, and the intrabar tick paths replayed inside them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from binbot.backtest.bars import Bars, aggregate, interval_starts
from binbot.backtest.data import MarketData, decimals_of
from binbot.backtest.instrument import derived_instrument
from binbot.backtest.ticks import make_ticks, ohlc_ticks
from binbot.domain.candle import Candle
from binbot.domain.market import Market, interval_start
from binbot.domain.price_path import intrabar_ticks

MIN = 60_000


def minute_bars(rows: list[tuple[int, float, float, float, float, float]]) -> Bars:
    t, o, h, lo, c, v = (np.array(col) for col in zip(*rows, strict=True))
    return Bars("1m", t.astype(np.int64), o, h, lo, c, v)


@pytest.mark.parametrize("interval", ["5m", "15m", "1h", "4h", "1d"])
def test_aggregation_equals_a_direct_groupby(fil_feb: MarketData, interval: str) -> None:
    bars = fil_feb.bars
    agg = aggregate(bars, interval)
    frame = pd.DataFrame({"t": bars.open_time, "o": bars.open, "h": bars.high, "l": bars.low,
                          "c": bars.close, "v": bars.volume})
    frame["key"] = [interval_start(int(t), interval) for t in frame["t"]]
    g = frame.groupby("key", sort=True)
    expected = pd.DataFrame({"o": g["o"].first(), "h": g["h"].max(), "l": g["l"].min(),
                             "c": g["c"].last(), "v": g["v"].sum()})
    assert agg.bars.open_time.tolist() == expected.index.tolist()
    np.testing.assert_array_equal(agg.bars.open, expected["o"].to_numpy())
    np.testing.assert_array_equal(agg.bars.high, expected["h"].to_numpy())
    np.testing.assert_array_equal(agg.bars.low, expected["l"].to_numpy())
    np.testing.assert_array_equal(agg.bars.close, expected["c"].to_numpy())
    np.testing.assert_allclose(agg.bars.volume, expected["v"].to_numpy(), rtol=1e-12)
    # ends[] delimit each interval's 1m candles
    sizes = np.diff(np.concatenate(([0], agg.ends)))
    assert sizes.tolist() == g.size().tolist()
    assert agg.complete.all()  # a whole month of 1m data completes every interval


def test_aggregation_is_epoch_aligned_and_flags_an_unfinished_last_interval() -> None:
    # 1m candles from 00:07 to 00:31: 15m candles open at 00:00, 00:15 and 00:30 (unfinished).
    start = 1_700_000_000_000 - 1_700_000_000_000 % (15 * MIN) + 7 * MIN
    rows = [(start + i * MIN, 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 1.0) for i in range(25)]
    agg = aggregate(minute_bars(rows), "15m")
    assert (agg.bars.open_time % (15 * MIN) == 0).all()
    assert agg.bars.open_time.tolist() == [start - 7 * MIN, start + 8 * MIN, start + 23 * MIN]
    assert agg.ends.tolist() == [8, 23, 25]
    assert agg.complete.tolist() == [True, True, False]
    assert agg.bars.open[1] == 18.0
    assert agg.bars.close[1] == 10.5 + 22
    assert agg.bars.high[1] == 11.0 + 22
    assert agg.bars.low[1] == 9.0 + 8


def test_weeks_start_on_monday() -> None:
    monday = 1_704_067_200_000  # 2024-01-01T00:00Z, a Monday
    times = np.array([monday + 3 * 86_400_000, monday - 1], dtype=np.int64)
    assert interval_starts(times, "1w").tolist() == [monday, monday - 7 * 86_400_000]


def test_concat_sorts_and_keeps_the_first_of_duplicate_times() -> None:
    a = minute_bars([(2 * MIN, 2, 2, 2, 2, 1), (3 * MIN, 3, 3, 3, 3, 1)])
    b = minute_bars([(MIN, 1, 1, 1, 1, 1), (2 * MIN, 9, 9, 9, 9, 9)])
    joined = Bars.concat([a, b])
    assert joined.open_time.tolist() == [MIN, 2 * MIN, 3 * MIN]
    assert joined.close.tolist() == [1, 2, 3]


def test_ohlc_ticks_equal_the_domain_price_path_on_real_data(fil_feb: MarketData) -> None:
    bars = fil_feb.bars.slice(0, 5000)
    ticks = ohlc_ticks(bars)
    expected = [tick for i in range(len(bars)) for tick in intrabar_ticks(
        int(bars.open_time[i]), MIN, float(bars.open[i]), float(bars.high[i]),
        float(bars.low[i]), float(bars.close[i]))]
    assert list(zip(ticks.time.tolist(), ticks.price.tolist(), strict=True)) == expected
    # ends[i] is one past the last tick of candle i
    assert ticks.ends[-1] == len(expected)
    assert ticks.price[ticks.ends - 1].tolist() == bars.close.tolist()


@pytest.mark.parametrize("ohlc", [
    (5.0, 5.0, 5.0, 5.0),  # flat: one tick
    (5.0, 6.0, 5.0, 6.0),  # open = low, close = high
    (5.0, 6.0, 4.0, 5.0),  # close = open: rising rule, dips first
    (6.0, 6.0, 4.0, 4.0),  # open = high, close = low
    (5.0, 7.0, 4.0, 6.0),
    (5.0, 7.0, 4.0, 4.5),
])
def test_ohlc_ticks_edge_cases(ohlc: tuple[float, float, float, float]) -> None:
    o, h, lo, c = ohlc
    bars = minute_bars([(600 * MIN, o, h, lo, c, 1.0)])
    ticks = ohlc_ticks(bars)
    assert list(zip(ticks.time.tolist(), ticks.price.tolist(), strict=True)) == list(
        intrabar_ticks(600 * MIN, MIN, o, h, lo, c))


def test_close_path_is_each_close_at_its_close_time(fil_feb: MarketData) -> None:
    bars = fil_feb.bars.slice(0, 100)
    ticks = make_ticks(bars, "close")
    assert ticks.time.tolist() == (bars.open_time + MIN - 1).tolist()
    assert ticks.price.tolist() == bars.close.tolist()
    with pytest.raises(ValueError, match="unknown price path"):
        make_ticks(bars, "vwap")  # type: ignore[arg-type]


def test_instrument_filters_follow_the_data_precision(fil_feb: MarketData) -> None:
    # FIL prints prices with 3 decimals and volumes with 1 (e.g. 4.960, 38766.9)
    assert (fil_feb.price_decimals, fil_feb.qty_decimals) == (3, 1)
    assert decimals_of(np.array([1.5, 2.25, 3.0])) == 2
    inst = derived_instrument(Market.USDM, fil_feb.symbol, 3, 1, 7.9)
    assert (str(inst.tick_size), str(inst.step_size), str(inst.min_notional)) == (
        "0.001", "0.1", "5")
    assert (inst.base_asset, inst.quote_asset) == ("FIL", "USDT")


def test_candles_carry_the_bars_values_as_plain_python_numbers(fil_feb: MarketData) -> None:
    bars = aggregate(fil_feb.bars, "15m").bars.slice(0, 300)
    made = bars.candles(Market.USDM, "FILUSDT")
    expected = [Candle(Market.USDM, "FILUSDT", "15m", int(t), int(t) + 899_999, float(o),
                       float(h), float(lo), float(c), float(v), 0.0, 0, 0.0, 0.0, True)
                for t, o, h, lo, c, v in zip(bars.open_time, bars.open, bars.high, bars.low,
                                             bars.close, bars.volume, strict=True)]
    assert made == expected
    assert [hash(c) for c in made] == [hash(c) for c in expected]
    assert all(type(getattr(m, f.name)) is type(getattr(e, f.name))
               for m, e in zip(made, expected, strict=True) for f in dataclasses.fields(Candle))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0].close = 1.0  # type: ignore[misc]
    assert not bars.candles(Market.USDM, "FILUSDT", closed=False)[0].closed
