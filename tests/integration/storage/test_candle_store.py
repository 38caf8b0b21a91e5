"""SqlCandleStore on SQLite and PostgreSQL: upserts, reads, gaps."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.storage import candles as candles_module
from binbot.storage.candles import SqlCandleStore
from binbot.storage.writer import Writer

M = 60_000


def candle(i: int, close: float = 10.0, *, closed: bool = True, symbol: str = "BTCUSDT",
           market: Market = Market.USDM) -> Candle:
    t = i * M
    return Candle(market, symbol, "1m", t, t + M - 1, close - 1, close + 2, close - 2, close,
                  100.0 + i, 1000.0 + i, 7 + i, 40.0, 400.0, closed)


async def test_upsert_then_read_back_every_field(engine: Engine) -> None:
    async with Writer(engine, max_rows=1000, max_delay_s=10) as writer:
        store = SqlCandleStore(engine, writer)
        written = [candle(i, 10.0 + i * 0.125) for i in range(5)]
        await store.upsert(written)
        await store.flush()
        assert await store.candles(Market.USDM, "BTCUSDT", "1m") == written
        assert await store.count(Market.USDM, "BTCUSDT", "1m") == 5


async def test_unclosed_candle_is_replaced_by_later_update(engine: Engine) -> None:
    async with Writer(engine, max_rows=1000, max_delay_s=10) as writer:
        store = SqlCandleStore(engine, writer)
        await store.upsert([candle(0), candle(1, 11.0, closed=False)])
        await store.flush()
        assert await store.last_closed_open_time(Market.USDM, "BTCUSDT", "1m") == 0
        assert await store.last_open_time(Market.USDM, "BTCUSDT", "1m") == M
        await store.upsert([candle(1, 12.0, closed=False)])
        await store.upsert([candle(1, 12.5, closed=True)])
        await store.flush()
        arrays = await store.arrays(Market.USDM, "BTCUSDT", "1m")
        assert arrays.close.tolist() == [10.0, 12.5]
        assert arrays.closed.tolist() == [True, True]
        assert await store.last_closed_open_time(Market.USDM, "BTCUSDT", "1m") == M
        assert await store.count(Market.USDM, "BTCUSDT", "1m") == 2


async def test_series_are_kept_apart(engine: Engine) -> None:
    store = SqlCandleStore(engine)
    await store.upsert([candle(0, symbol="BTCUSDT"), candle(0, symbol="ETHUSDT", close=20.0),
                        candle(0, market=Market.SPOT, close=30.0)])
    assert store.read_count(Market.USDM, "BTCUSDT", "1m") == 1
    assert store.read_arrays(Market.USDM, "ETHUSDT", "1m").close.tolist() == [20.0]
    assert store.read_arrays(Market.SPOT, "BTCUSDT", "1m").close.tolist() == [30.0]
    assert store.read_arrays(Market.SPOT, "BTCUSDT", "5m").open_time.size == 0
    assert [(s.market, s.symbol, s.count) for s in store.read_series()] == [
        (Market.SPOT, "BTCUSDT", 1), (Market.USDM, "BTCUSDT", 1), (Market.USDM, "ETHUSDT", 1)]


def test_read_arrays_range_is_half_open_and_typed(engine: Engine) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i) for i in range(10)])
    arrays = store.read_arrays(Market.USDM, "BTCUSDT", "1m", 2 * M, 5 * M)
    assert arrays.open_time.tolist() == [2 * M, 3 * M, 4 * M]
    assert arrays.open_time.dtype == np.int64
    assert arrays.close.dtype == np.float64
    assert arrays.trades.dtype == np.int64
    assert arrays.closed.dtype == np.bool_
    frame = store.read_frame(Market.USDM, "BTCUSDT", "1m", start_ms=8 * M)
    assert frame["open_time"].tolist() == [8 * M, 9 * M]
    assert frame["volume"].tolist() == [108.0, 109.0]
    assert store.read_bounds(Market.USDM, "BTCUSDT", "1m") == (0, 9 * M, 10)
    assert store.read_bounds(Market.USDM, "BTCUSDT", "1m", 20 * M) is None


def test_parallel_slices_return_the_same_arrays(engine: Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i, 10.0 + i) for i in range(0, 3000, 1) if i % 7])
    whole = store.read_arrays(Market.USDM, "BTCUSDT", "1m", 5 * M)
    monkeypatch.setattr(candles_module, "_PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(candles_module.os, "cpu_count", lambda: 4)
    sliced = store.read_arrays(Market.USDM, "BTCUSDT", "1m", 5 * M)
    for name, column in whole.as_dict().items():
        assert np.array_equal(column, sliced.as_dict()[name]), name
    assert len(sliced) == len([i for i in range(5, 3000) if i % 7])


def test_missing_ranges(engine: Engine) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i) for i in (3, 4, 5, 8, 9, 15)])
    missing = store.read_missing_ranges(Market.USDM, "BTCUSDT", "1m", 0, 20 * M)
    assert missing == [(0, 2 * M), (6 * M, 7 * M), (10 * M, 14 * M), (16 * M, 19 * M)]
    # Unaligned bounds: the first whole candle after start, the one containing end - 1.
    assert store.read_missing_ranges(Market.USDM, "BTCUSDT", "1m", 3 * M + 1, 9 * M + 5) == [
        (6 * M, 7 * M)]
    assert store.read_missing_ranges(Market.USDM, "BTCUSDT", "1m", 3 * M, 6 * M) == []
    assert store.read_missing_ranges(Market.USDM, "ETHUSDT", "1m", 0, 3 * M) == [(0, 2 * M)]


def test_read_columns_subset(engine: Engine) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i, 10.0 + i) for i in range(4)])
    columns = store.read_columns(Market.USDM, "BTCUSDT", "1m", start_ms=M)
    assert list(columns) == ["open_time", "open", "high", "low", "close", "volume"]
    assert columns["close"].tolist() == [11.0, 12.0, 13.0]
    assert store.read_columns(Market.USDM, "BTCUSDT", "1m", ("closed",))["closed"].all()
    with pytest.raises(ValueError, match="unknown candle columns"):
        store.read_columns(Market.USDM, "BTCUSDT", "1m", ("price",))
