"""History sync against a fake ``MarketDataRest`` (the port's contract) and a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market, interval_ms
from binbot.services.history import (
    DAY_MS,
    backfill_gap,
    download,
    ensure_history,
    history_start,
    merge_ranges,
)
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.migrate import upgrade
from binbot.storage.writer import Writer

M = 60_000
BASE = 1_700_000_000_000 - 1_700_000_000_000 % M
NOW = BASE + 25_000  # 25 s into a minute


class FakeRest:
    """Serves a deterministic market up to ``now``; pages of at most ``page`` candles."""

    def __init__(self, now: int, page: int = 1000, listed_from: int = 0) -> None:
        self.now = now
        self.page = page
        self.listed_from = listed_from
        self.requests: list[tuple[int, int | None]] = []

    def price(self, t: int) -> float:
        return 100.0 + (t // M) % 50 + (0.5 if t + M > self.now else 0.0)

    def candle(self, symbol: str, interval: str, t: int) -> Candle:
        step = interval_ms(interval)
        p = self.price(t)
        return Candle(Market.USDM, symbol, interval, t, t + step - 1, p, p + 1, p - 1, p,
                      10.0, 10.0 * p, 3, 5.0, 5.0 * p, t + step <= self.now)

    async def server_time(self, market: Market) -> int:
        return self.now

    async def instruments(self, market: Market) -> list[Instrument]:
        return []

    async def kline_history(self, market: Market, symbol: str, interval: str, start_ms: int,
                            end_ms: int | None = None) -> AsyncIterator[list[Candle]]:
        self.requests.append((start_ms, end_ms))
        step = interval_ms(interval)
        end = min(self.now if end_ms is None else end_ms, self.now)
        t = max(start_ms, self.listed_from)
        t += (-t) % step
        while t <= end:
            page = []
            while t <= end and len(page) < self.page:
                page.append(self.candle(symbol, interval, t))
                t += step
            yield page


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlCandleStore]:
    engine = make_engine(sqlite_url(tmp_path / "h.db"))
    upgrade(engine)
    yield SqlCandleStore(engine)
    engine.dispose()


async def stored_times(store: SqlCandleStore, interval: str = "1m") -> list[int]:
    return (await store.arrays(Market.USDM, "BTCUSDT", interval)).open_time.tolist()


def test_history_start() -> None:
    current = NOW - NOW % M
    assert history_start(NOW, "1m", candles=50) == current - 49 * M
    assert history_start(NOW, "1m", days=1) == current - DAY_MS + M
    assert history_start(NOW - 25_000, "1m", days=1) == current - DAY_MS
    assert history_start(NOW, "15m", candles=1) == NOW - NOW % (15 * M)
    with pytest.raises(ValueError, match="days must be positive"):
        history_start(NOW, "1m", days=0)


def test_merge_ranges() -> None:
    assert merge_ranges([(5 * M, 6 * M), (0, M), (2 * M, 3 * M), (3 * M, 4 * M)], M) == [
        (0, 6 * M)]
    assert merge_ranges([(0, M), (3 * M, 4 * M)], M) == [(0, M), (3 * M, 4 * M)]


async def test_empty_store_gets_the_last_candles_including_the_forming_one(
        store: SqlCandleStore) -> None:
    rest = FakeRest(NOW)
    async with Writer(store.engine) as writer:
        live = SqlCandleStore(store.engine, writer)
        result = await ensure_history(live, rest, Market.USDM, "BTCUSDT", "1m", candles=50,
                                      now_ms=NOW)
    current = NOW - NOW % M
    assert result.fetched == 50
    assert await stored_times(store) == [current - i * M for i in range(49, -1, -1)]
    assert await store.last_closed_open_time(Market.USDM, "BTCUSDT", "1m") == current - M
    arrays = await store.arrays(Market.USDM, "BTCUSDT", "1m")
    assert arrays.closed.tolist() == [True] * 49 + [False]


async def test_second_start_fetches_only_the_tail(store: SqlCandleStore) -> None:
    rest = FakeRest(NOW)
    await ensure_history(store, rest, Market.USDM, "BTCUSDT", "1m", candles=50, now_ms=NOW)
    later = NOW + 10 * M
    rest.now = later
    rest.requests.clear()
    result = await ensure_history(store, rest, Market.USDM, "BTCUSDT", "1m", candles=50,
                                  now_ms=later)
    current = NOW - NOW % M
    # The forming candle of the first run is refreshed; the ten new ones are added.
    assert rest.requests == [(current, later - later % M)]
    assert result.fetched == 11
    times = await stored_times(store)
    assert times == list(range(times[0], later - later % M + 1, M))
    arrays = await store.arrays(Market.USDM, "BTCUSDT", "1m", current, current + 1)
    assert arrays.closed.tolist() == [True]
    assert arrays.close.tolist() == [rest.price(current)]


async def test_interior_gap_is_filled(store: SqlCandleStore) -> None:
    rest = FakeRest(NOW)
    await ensure_history(store, rest, Market.USDM, "BTCUSDT", "1m", candles=100, now_ms=NOW)
    current = NOW - NOW % M
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM candles WHERE open_time BETWEEN ? AND ?",
                                   (current - 60 * M, current - 50 * M))
    rest.requests.clear()
    result = await ensure_history(store, rest, Market.USDM, "BTCUSDT", "1m", candles=100,
                                  now_ms=NOW)
    assert (current - 60 * M, current - 50 * M) in rest.requests
    assert result.fetched == 11 + 1  # the hole and the forming candle
    assert len(await stored_times(store)) == 100


async def test_days_download_pages_and_resumes(store: SqlCandleStore) -> None:
    rest = FakeRest(NOW, page=500)
    progress: list[tuple[int, int]] = []
    first = await download(store, rest, Market.USDM, "BTCUSDT", "1m", days=2, now_ms=NOW,
                           on_progress=lambda done, total: progress.append((done, total)))
    assert first.fetched == 2 * 1440
    assert progress[-1] == (2880, 2880)
    assert progress[0] == (500, 2880)
    # An interrupted download: drop the newest half, then run again.
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM candles WHERE open_time > ?", (NOW - DAY_MS,))
    rest.requests.clear()
    again = await download(store, rest, Market.USDM, "BTCUSDT", "1m", days=2, now_ms=NOW)
    assert len(rest.requests) == 1
    assert rest.requests[0][0] > NOW - DAY_MS
    assert again.fetched == 1440
    times = await stored_times(store)
    assert len(times) == 2880
    assert times == list(range(times[0], times[-1] + 1, M))


async def test_download_before_listing_stores_what_exists(store: SqlCandleStore) -> None:
    listed = NOW - NOW % M - 100 * M
    rest = FakeRest(NOW, listed_from=listed)
    result = await download(store, rest, Market.USDM, "BTCUSDT", "1m", days=1, now_ms=NOW)
    assert result.fetched == 101
    assert (await stored_times(store))[0] == listed


async def test_backfill_gap_after_reconnect(store: SqlCandleStore) -> None:
    rest = FakeRest(NOW)
    assert await backfill_gap(store, rest, Market.USDM, "BTCUSDT", "1m", now_ms=NOW) == 0
    await ensure_history(store, rest, Market.USDM, "BTCUSDT", "1m", candles=10, now_ms=NOW)
    later = NOW + 5 * M
    rest.now = later
    rest.requests.clear()
    fetched = await backfill_gap(store, rest, Market.USDM, "BTCUSDT", "1m", now_ms=later)
    current = NOW - NOW % M
    assert rest.requests == [(current, later - later % M)]
    assert fetched == 6
    assert (await stored_times(store))[-1] == later - later % M
    assert await store.last_closed_open_time(Market.USDM, "BTCUSDT", "1m") == (
        later - later % M - M)


async def test_other_intervals(store: SqlCandleStore) -> None:
    rest = FakeRest(NOW)
    await ensure_history(store, rest, Market.USDM, "BTCUSDT", "15m", candles=20, now_ms=NOW)
    times = await stored_times(store, "15m")
    assert len(times) == 20
    assert all(t % (15 * M) == 0 for t in times)
