"""The replay clock: what the live strategy class sees at every step, in both modes.

A probe subclasses the real ``Boll`` and records, at every real-time price, the bands it is
about to decide on, the forming candle and the closed candles it can see; the tests recompute
all of it directly from the 1m data (np.mean / np.std over the explicit window).
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from binbot.backtest import BacktestConfig, run_backtest
from binbot.backtest.bars import aggregate
from binbot.backtest.data import MarketData
from binbot.domain.candle import Candle
from binbot.domain.market import interval_start
from binbot.domain.price_path import intrabar_ticks
from binbot.strategy.base import Strategy
from binbot.strategy.builtin.boll import Boll

FIL_FEB = (Path(__file__).resolve().parents[3].parent / "shared" / "data" / "klines"
           / "binance-um-1m" / "FILUSDT-1m-2024-02.csv.gz")
MIN = 60_000
FIFTEEN = 15 * MIN
FEB_1 = 1_706_745_600_000
DAY = 86_400_000


class Probe(Boll):
    """BOLL, recording what it sees before each decision."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self.seen: list[dict[str, Any]] = []

    def on_price(self, price: float) -> None:
        forming = self.forming
        candles = self.candles
        before = self.intended_position
        record = {
            "time": self.time, "price": price, "bands": self.bands, "forming": forming,
            "closed": len(candles),
            "last_open": int(candles.open_time[-1]) if len(candles) else None,
        }
        super().on_price(price)
        record["changed"] = self.intended_position != before
        self.seen.append(record)


def config(fil: Any, **kwargs: Any) -> BacktestConfig:
    base: dict[str, Any] = {"data_files": (fil,), "end_ms": FEB_1 + 3 * DAY, "warmup_candles": 0}
    base.update(kwargs)
    return BacktestConfig(**base)


@pytest.fixture(scope="module")
def fifteen(fil_feb: MarketData) -> dict[int, tuple[float, float, float, float, float]]:
    """Direct 15m candles keyed by open time (plain loop, independent of ``aggregate``)."""
    out: dict[int, list[float]] = {}
    b = fil_feb.bars
    for t, o, h, lo, c, v in zip(b.open_time.tolist(), b.open.tolist(), b.high.tolist(),
                                 b.low.tolist(), b.close.tolist(), b.volume.tolist(),
                                 strict=True):
        key = interval_start(t, "15m")
        if key not in out:
            out[key] = [o, h, lo, c, v]
        else:
            row = out[key]
            row[1], row[2], row[3], row[4] = max(row[1], h), min(row[2], lo), c, row[4] + v
    return {k: (r[0], r[1], r[2], r[3], r[4]) for k, r in out.items()}


def direct_bands(closed: list[float], price: float, period: int = 20,
                 k: float = 2.0) -> tuple[float, float, float]:
    window = np.array([*closed[-(period - 1):], price])
    mid = float(np.mean(window))
    std = float(np.std(window))
    return mid, mid + k * std, mid - k * std


def test_intrabar_bands_at_every_1m_step_equal_a_direct_computation(
        fil_feb: MarketData, fifteen: dict[int, tuple[float, ...]]) -> None:
    probe = Probe()
    result = run_backtest(config(FIL_FEB), data=fil_feb, strategy=probe)
    minutes = fil_feb.bars.between(FEB_1, FEB_1 + 3 * DAY)
    assert len(probe.seen) == len(minutes) == result.ticks == 3 * 1440
    opens = sorted(fifteen)
    compared = 0
    for step, record in enumerate(probe.seen):
        t, p = record["time"], record["price"]
        assert t == int(minutes.open_time[step]) + MIN - 1  # the 1m close time
        assert p == float(minutes.close[step])  # the 1m close
        start = interval_start(t, "15m")
        j = opens.index(start)
        # no look-ahead: exactly the candles closed before this one are visible
        assert record["closed"] == j
        assert record["last_open"] == (opens[j - 1] if j else None)
        # the forming candle: this interval's 1m candles so far, closing at the price
        forming: Candle = record["forming"]
        first = int(np.searchsorted(minutes.open_time, start))
        assert (forming.open_time, forming.closed) == (start, False)
        assert forming.open == float(minutes.open[first])
        assert forming.high == float(minutes.high[first:step + 1].max())
        assert forming.low == float(minutes.low[first:step + 1].min())
        assert forming.close == p
        assert forming.volume == pytest.approx(float(minutes.volume[first:step + 1].sum()))
        mid, up, dn = record["bands"]
        if j < 19:
            assert math.isnan(up)  # the first evaluation needs period - 1 closed candles
            continue
        closes = [fifteen[o][3] for o in opens[:j]]
        assert (mid, up, dn) == pytest.approx(direct_bands(closes, p), rel=1e-12, abs=1e-12)
        compared += 1
    assert compared == len(probe.seen) - 19 * 15


def test_bar_close_sees_each_closed_candle_once_at_its_close(
        fil_feb: MarketData, fifteen: dict[int, tuple[float, ...]]) -> None:
    probe = Probe()
    result = run_backtest(config(FIL_FEB, mode="bar_close"), data=fil_feb, strategy=probe)
    opens = sorted(o for o in fifteen if FEB_1 <= o < FEB_1 + 3 * DAY)
    assert result.ticks == result.bars == len(probe.seen) == len(opens) == 288
    for j, record in enumerate(probe.seen):
        assert record["time"] == opens[j] + FIFTEEN - 1
        assert record["price"] == fifteen[opens[j]][3]
        assert record["forming"] is None  # closed candles only
        assert record["closed"] == j  # the candle is appended right after its price
        if j >= 19:
            # the real-time band at the close is the closed-candle band including it
            closes = [fifteen[o][3] for o in opens[:j + 1]]
            expected = direct_bands(closes[:-1], closes[-1])
            assert record["bands"] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_intrabar_on_the_interval_itself_equals_bar_close(fil_feb: MarketData) -> None:
    """Replaying 15m candles 'intrabar' (one close each) makes exactly the bar-close trades."""
    agg = aggregate(fil_feb.bars, "15m")
    data15 = MarketData(fil_feb.market, fil_feb.symbol, agg.bars, fil_feb.price_decimals,
                        fil_feb.qty_decimals)
    a = run_backtest(config(FIL_FEB, mode="bar_close", end_ms=FEB_1 + 10 * DAY), data=fil_feb)
    b = run_backtest(config(FIL_FEB, end_ms=FEB_1 + 10 * DAY), data=data15)
    assert a.trades
    assert a.trades == b.trades
    assert a.metrics == b.metrics


def test_ohlc_trades_happen_at_the_tick_that_triggered_them(fil_feb: MarketData) -> None:
    probe = Probe()
    result = run_backtest(config(FIL_FEB, price_path="ohlc"), data=fil_feb, strategy=probe)
    minutes = fil_feb.bars.between(FEB_1, FEB_1 + 3 * DAY)
    ticks = [tick for i in range(len(minutes)) for tick in intrabar_ticks(
        int(minutes.open_time[i]), MIN, float(minutes.open[i]), float(minutes.high[i]),
        float(minutes.low[i]), float(minutes.close[i]))]
    assert [(r["time"], r["price"]) for r in probe.seen] == ticks
    decisions = {(r["time"], r["price"]) for r in probe.seen if r["changed"]}
    assert decisions, "BOLL should trade in three days of FIL"
    assert {(t.time_ms, t.price) for t in result.trades} == decisions
    # by default a fill is at the triggering price, taker fee, no slippage
    for trade in result.trades:
        assert trade.fee == pytest.approx(trade.price * trade.qty * 0.0005, rel=1e-9)
    # a reversal is a close then an open at the same time
    times = [t.time_ms for t in result.trades]
    assert times == sorted(times)
    for before, after in zip(result.trades, result.trades[1:], strict=False):
        if before.time_ms == after.time_ms:
            assert before.action.startswith("close_")
            assert after.action.startswith("open_")


def test_ohlc_forming_candle_includes_the_path_so_far(fil_feb: MarketData) -> None:
    probe = Probe()
    run_backtest(config(FIL_FEB, price_path="ohlc", end_ms=FEB_1 + DAY // 4), data=fil_feb,
                 strategy=probe)
    minutes = fil_feb.bars.between(FEB_1, FEB_1 + DAY // 4)
    high = low = math.nan
    volume = 0.0
    record_index = 0
    for i in range(len(minutes)):
        t0 = int(minutes.open_time[i])
        if t0 % FIFTEEN == 0:
            high, low, volume = -math.inf, math.inf, 0.0
        path = intrabar_ticks(t0, MIN, float(minutes.open[i]), float(minutes.high[i]),
                              float(minutes.low[i]), float(minutes.close[i]))
        for k, (_t, price) in enumerate(path):
            high, low = max(high, price), min(low, price)
            last = k == len(path) - 1
            forming: Candle = probe.seen[record_index]["forming"]
            record_index += 1
            assert (forming.high, forming.low, forming.close) == (high, low, price)
            assert forming.volume == pytest.approx(volume + (float(minutes.volume[i])
                                                             if last else 0.0))
        volume += float(minutes.volume[i])
    assert record_index == len(probe.seen)


def test_history_before_from_is_loaded_as_warm_up(fil_feb: MarketData) -> None:
    probe = Probe()
    start = FEB_1 + 10 * DAY
    result = run_backtest(config(FIL_FEB, start_ms=start, end_ms=start + DAY,
                                 warmup_candles=50), data=fil_feb, strategy=probe)
    first = probe.seen[0]
    assert first["closed"] == 50
    assert first["last_open"] == start - FIFTEEN
    assert not math.isnan(first["bands"][1])  # evaluating from the very first price
    assert result.equity_time[0] == start
    assert result.metrics.start_ms == start


class Hold(Strategy):
    """Buys 100 at the first price and holds."""

    name = "hold"

    def on_price(self, price: float) -> None:
        if self.position.is_flat and not self.open_orders() and not self.state.get("done"):
            self.state["done"] = True
            self.buy(Decimal(100))


def test_funding_is_paid_on_the_position_at_the_last_price(fil_feb: MarketData) -> None:
    minutes = fil_feb.bars.between(FEB_1, FEB_1 + DAY)
    funding_times = [FEB_1 + 8 * 3_600_000, FEB_1 + 16 * 3_600_000]
    rate = Decimal("0.0001")
    result = run_backtest(config(FIL_FEB, end_ms=FEB_1 + DAY,
                                 funding=tuple((t, rate) for t in funding_times)),
                          data=fil_feb, strategy=Hold())
    expected = 0.0
    for t in funding_times:
        before = int(np.searchsorted(minutes.open_time + MIN - 1, t, "left")) - 1
        expected -= 100 * float(minutes.close[before]) * 0.0001
    assert result.funding == pytest.approx(expected, rel=1e-12)
    entry = result.trades[0]
    assert (entry.action, entry.qty) == ("open_long", 100.0)
    final_price = float(minutes.close[-1])
    assert result.equity[-1] == pytest.approx(
        10_000 - entry.fee + 100 * (final_price - entry.price) + expected, rel=1e-12)


def test_slippage_worsens_market_fills(fil_feb: MarketData) -> None:
    from binbot.config.settings import PaperSettings

    paper = PaperSettings(slippage_bps=Decimal(10))
    result = run_backtest(config(FIL_FEB, end_ms=FEB_1 + DAY, paper=paper), data=fil_feb,
                          strategy=Hold())
    minutes = fil_feb.bars.between(FEB_1, FEB_1 + DAY)
    first_price = Decimal(repr(float(minutes.close[0])))
    # a buy fills 0.1 % higher, rounded against the trader (up) to the 0.001 tick
    worse = (first_price * Decimal("1.001")).quantize(Decimal("0.001"), rounding="ROUND_CEILING")
    assert worse > first_price
    assert result.trades[0].price == float(worse)
