"""Aggregation into intervals and the replay engine, checked against the file's own text."""

from __future__ import annotations

import gzip
from decimal import Decimal

import numpy as np
import pytest

from binbot.domain.market import interval_ms, interval_start
from binbot.exchange.aggregate import Bar, aggregate, window_starts
from binbot.exchange.klinedata import SymbolData, TradeTick
from binbot.exchange.market import MarketEngine, SymbolMarket

from .conftest import FIL

MINUTES = 3 * 1440  # three days of the file


def file_windows(interval: str) -> dict[int, dict[str, Decimal | int]]:
    """Aggregate the CSV text with Decimal: an independent reference."""
    out: dict[int, dict[str, Decimal | int]] = {}
    with gzip.open(FIL, "rt") as handle:
        next(handle)
        for _, line in zip(range(MINUTES), handle, strict=False):
            f = line.strip().split(",")
            start = interval_start(int(f[0]), interval)
            o, h, lo, c = (Decimal(x) for x in f[1:5])
            row = out.get(start)
            if row is None:
                out[start] = {"o": o, "h": h, "l": lo, "c": c, "v": Decimal(f[5]),
                              "q": Decimal(f[7]), "n": int(f[8]), "V": Decimal(f[9]),
                              "Q": Decimal(f[10])}
                continue
            row["h"] = max(row["h"], h)  # type: ignore[type-var]
            row["l"] = min(row["l"], lo)  # type: ignore[type-var]
            row["c"] = c
            for key, idx in (("v", 5), ("q", 7), ("V", 9), ("Q", 10)):
                row[key] = row[key] + Decimal(f[idx])  # type: ignore[operator]
            row["n"] = row["n"] + int(f[8])  # type: ignore[operator]
    return out


def as_decimals(data: SymbolData, bar: Bar) -> dict[str, Decimal | int]:
    return {"o": Decimal(data.fmt_price(bar.open)), "h": Decimal(data.fmt_price(bar.high)),
            "l": Decimal(data.fmt_price(bar.low)), "c": Decimal(data.fmt_price(bar.close)),
            "v": Decimal(data.fmt_qty(bar.volume)), "q": Decimal(data.fmt_quote(bar.quote_volume)),
            "n": bar.count, "V": Decimal(data.fmt_qty(bar.taker_buy_volume)),
            "Q": Decimal(data.fmt_quote(bar.taker_buy_quote_volume))}


def test_window_starts_agree_with_the_domain_rule() -> None:
    times = np.array([0, 59_999, 1_743_465_600_000, 1_743_500_123_000, 1_745_000_000_000],
                     dtype=np.int64)
    for interval in ("1m", "3m", "15m", "1h", "4h", "1d", "3d", "1w"):
        assert window_starts(times, interval).tolist() == [
            interval_start(int(t), interval) for t in times]


@pytest.mark.parametrize("interval", ["1m", "5m", "15m", "1h", "4h", "1d"])
def test_aggregation_equals_summing_the_file(fil: SymbolData, interval: str) -> None:
    reference = file_windows(interval)
    bars = aggregate(fil, 0, MINUTES, interval)
    assert [b.open_time for b in bars] == sorted(reference)
    for bar in bars:
        assert as_decimals(fil, bar) == reference[bar.open_time]
        assert bar.close_time == bar.open_time + interval_ms(interval) - 1


class Recorder:
    def __init__(self) -> None:
        self.trades: list[TradeTick] = []
        self.klines: list[tuple[str, Bar, bool, int]] = []
        self.marks: list[int] = []

    def on_trade(self, market: SymbolMarket, trade: TradeTick) -> None:
        self.trades.append(trade)

    def on_kline(self, market: SymbolMarket, interval: str, bar: Bar, closed: bool,
                 event_time: int) -> None:
        b = Bar(bar.open_time, bar.length_ms, bar.open, bar.high, bar.low, bar.close,
                bar.volume, bar.quote_volume, bar.taker_buy_volume,
                bar.taker_buy_quote_volume, bar.count, bar.first_trade_id, bar.last_trade_id)
        self.klines.append((interval, b, closed, event_time))

    def on_mark(self, market: SymbolMarket, event_time: int) -> None:
        self.marks.append(event_time)


def test_stream_closes_carry_the_exact_file_aggregate(fil: SymbolData) -> None:
    start = fil.first_open_time
    engine = MarketEngine({"FILUSDT": fil}, start)
    recorder = Recorder()
    engine.listener = recorder
    for interval in ("1m", "15m", "1h"):
        engine.activate_interval("FILUSDT", interval)
    engine.advance(start + 2 * 86_400_000)
    for interval in ("1m", "15m", "1h"):
        reference = aggregate(fil, 0, 2 * 1440, interval)
        closed = [(b, t) for i, b, c, t in recorder.klines if i == interval and c]
        assert [b for b, _ in closed] == [
            Bar(r.open_time, r.length_ms, r.open, r.high, r.low, r.close, r.volume,
                r.quote_volume, r.taker_buy_volume, r.taker_buy_quote_volume, r.count,
                b.first_trade_id, b.last_trade_id) for r, (b, _) in zip(reference, closed,
                                                                         strict=True)]
        # a close is announced when the window ends, never before
        assert all(t == b.open_time + b.length_ms for b, t in closed)


def test_events_come_in_time_order_with_closes_before_the_next_trade(fil: SymbolData) -> None:
    engine = MarketEngine({"FILUSDT": fil}, fil.first_open_time)
    recorder = Recorder()
    engine.listener = recorder
    engine.activate_interval("FILUSDT", "1m")
    engine.advance(fil.first_open_time + 30 * 60_000)
    prices = [t.price for t in recorder.trades]
    expected: list[int] = []
    for i in range(30):
        expected.extend(fil.path(i)[1 if i == 0 else 0:])  # trade 0 of candle 0 was history
    expected.append(fil.path(30)[0])  # the 31st candle's first trade is at its open time
    assert prices == expected
    times = [t for *_, t in recorder.klines]
    assert times == sorted(times)
    # every forming update reflects the trade just made
    updates = [(b, t) for i, b, c, t in recorder.klines if not c]
    assert [b.close for b, _ in updates] == prices


def test_seek_then_advance_equals_advancing_all_along(fil: SymbolData) -> None:
    """A restart that resumes at the same virtual time sees the same market."""
    start = fil.first_open_time
    middle = start + 777 * 60_000 + 31_000
    end = middle + 90 * 60_000
    continuous, resumed = Recorder(), Recorder()
    a = MarketEngine({"FILUSDT": fil}, start)
    a.advance(middle)
    a.listener = continuous
    a.activate_interval("FILUSDT", "5m")
    a.advance(end)
    b = MarketEngine({"FILUSDT": fil}, middle)
    b.listener = resumed
    b.activate_interval("FILUSDT", "5m")
    b.advance(end)
    assert continuous.trades == resumed.trades
    assert continuous.klines == resumed.klines
    assert continuous.trades[0].time > middle


def test_activation_mid_window_starts_from_the_data(fil: SymbolData) -> None:
    start = fil.first_open_time
    engine = MarketEngine({"FILUSDT": fil}, start + 37 * 60_000 + 20_000)
    recorder = Recorder()
    engine.listener = recorder
    engine.activate_interval("FILUSDT", "1h")
    engine.advance(start + 3600_000)
    closed = [b for i, b, c, _ in recorder.klines if c]
    reference = aggregate(fil, 0, 60, "1h")[0]
    assert len(closed) == 1
    assert (closed[0].open, closed[0].high, closed[0].low, closed[0].close, closed[0].volume,
            closed[0].count) == (reference.open, reference.high, reference.low,
                                 reference.close, reference.volume, reference.count)
    assert closed[0].first_trade_id == int(fil.trade_base[0])


def test_mark_ticks_every_virtual_second_and_stop_when_disabled(fil: SymbolData) -> None:
    start = fil.first_open_time
    engine = MarketEngine({"FILUSDT": fil}, start)
    recorder = Recorder()
    engine.listener = recorder
    engine.set_mark("FILUSDT", True)
    engine.advance(start + 5_000)
    assert recorder.marks == [start + 1000 * k for k in range(1, 6)]
    engine.set_mark("FILUSDT", False)
    engine.advance(start + 10_000)
    assert len(recorder.marks) == 5


def test_budget_limits_one_batch(fil: SymbolData) -> None:
    engine = MarketEngine({"FILUSDT": fil}, fil.first_open_time)
    recorder = Recorder()
    engine.listener = recorder
    assert engine.advance(fil.first_open_time + 3600_000, budget=10) is False
    assert len(recorder.trades) == 10
    assert engine.advance(fil.first_open_time + 3600_000) is True


def test_market_stops_when_the_data_ends(fil: SymbolData) -> None:
    end = fil.last_open_time + 60_000
    engine = MarketEngine({"FILUSDT": fil}, end - 120_000)
    recorder = Recorder()
    engine.listener = recorder
    engine.activate_interval("FILUSDT", "1m")
    engine.advance(end + 86_400_000)
    assert recorder.trades[-1].candle == len(fil) - 1
    assert recorder.klines[-1][2] is True  # the last candle closed
    assert engine.next_event_ms() is None
