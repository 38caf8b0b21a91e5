"""Keep stored candle history complete: on start, after a reconnect, and on request (download).

Everything is driven by what the store lacks: the requested span is compared with the stored
open times, and only the missing runs (plus the forming candle at the end) are fetched over
REST and upserted. That makes every operation idempotent and resumable: an interrupted
download continues where the stored candles stop, and running it twice fetches nothing twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from binbot.domain.market import Market, interval_ms, interval_start
from binbot.ports.candle_store import CandleStore
from binbot.ports.market_data import MarketDataRest

DAY_MS: Final = 86_400_000

Progress = Callable[[int, int], None]
"""Called with (candles fetched so far, candles expected in total)."""


class HistoryStore(CandleStore, Protocol):
    """A candle store that can tell which open times it lacks (``SqlCandleStore`` does)."""

    async def missing_ranges(self, market: Market, symbol: str, interval: str, start_ms: int,
                             end_ms: int) -> list[tuple[int, int]]:
        """Missing open times in ``[start_ms, end_ms)`` as inclusive ``(first, last)`` runs."""
        ...


@dataclass(frozen=True, slots=True)
class HistoryResult:
    start_ms: int
    end_ms: int
    ranges: tuple[tuple[int, int], ...]
    fetched: int


def history_start(now_ms: int, interval: str, candles: int | None = None,
                  days: float | None = None) -> int:
    """Open time of the oldest candle wanted: ``days`` back, else the last ``candles``."""
    step = interval_ms(interval)
    if days is not None:
        if days <= 0:
            raise ValueError(f"days must be positive, was {days}")
        earliest = now_ms - math.ceil(days * DAY_MS)
        start = interval_start(earliest, interval)
        return start if start >= earliest else start + step
    count = 50 if candles is None else candles
    if count < 1:
        raise ValueError(f"candles must be >= 1, was {count}")
    return interval_start(now_ms, interval) - (count - 1) * step


def merge_ranges(ranges: Sequence[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """Sort inclusive runs and merge those that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + step:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def expected_candles(ranges: Sequence[tuple[int, int]], step: int) -> int:
    return sum((last - first) // step + 1 for first, last in ranges)


async def fetch_ranges(
    store: CandleStore,
    rest: MarketDataRest,
    market: Market,
    symbol: str,
    interval: str,
    ranges: Sequence[tuple[int, int]],
    on_progress: Progress | None = None,
) -> int:
    """Fetch each inclusive run over REST, upsert page by page, flush; return candles fetched."""
    total = expected_candles(ranges, interval_ms(interval))
    fetched = 0
    for first, last in ranges:
        async for page in rest.kline_history(market, symbol, interval, first, last):
            if not page:
                continue
            await store.upsert(page)
            fetched += len(page)
            if on_progress is not None:
                on_progress(fetched, max(total, fetched))
    await store.flush()
    if on_progress is not None:
        on_progress(fetched, fetched)
    return fetched


async def plan(store: HistoryStore, market: Market, symbol: str, interval: str, start_ms: int,
               now_ms: int) -> list[tuple[int, int]]:
    """The runs to fetch so ``[start_ms, now_ms]`` is complete and the newest candle fresh."""
    step = interval_ms(interval)
    current = interval_start(now_ms, interval)
    missing = await store.missing_ranges(market, symbol, interval, start_ms, now_ms + 1)
    # Candles after the last closed one may be stale forming candles: always refresh them.
    last_closed = await store.last_closed_open_time(market, symbol, interval)
    tail_from = start_ms if last_closed is None else max(start_ms, last_closed + step)
    runs = list(missing)
    if tail_from <= current:
        runs.append((tail_from, current))
    return merge_ranges(runs, step)


async def ensure_history(
    store: HistoryStore,
    rest: MarketDataRest,
    market: Market,
    symbol: str,
    interval: str,
    candles: int = 50,
    days: float | None = None,
    *,
    now_ms: int,
    on_progress: Progress | None = None,
) -> HistoryResult:
    """Make sure the last ``candles`` candles (or ``days`` days) up to now are stored."""
    start = history_start(now_ms, interval, candles, days)
    runs = await plan(store, market, symbol, interval, start, now_ms)
    fetched = await fetch_ranges(store, rest, market, symbol, interval, runs, on_progress)
    return HistoryResult(start, now_ms, tuple(runs), fetched)


async def backfill_gap(
    store: CandleStore,
    rest: MarketDataRest,
    market: Market,
    symbol: str,
    interval: str,
    *,
    now_ms: int,
) -> int:
    """After a reconnect: fetch from the last stored closed candle up to now.

    Returns the candles fetched; does nothing for a series with no closed candle yet (that is
    ``ensure_history``'s job).
    """
    last_closed = await store.last_closed_open_time(market, symbol, interval)
    if last_closed is None:
        return 0
    first = last_closed + interval_ms(interval)
    if first > now_ms:
        return 0
    return await fetch_ranges(store, rest, market, symbol, interval,
                              [(first, interval_start(now_ms, interval))])


async def download(
    store: HistoryStore,
    rest: MarketDataRest,
    market: Market,
    symbol: str,
    interval: str,
    days: float,
    *,
    now_ms: int,
    on_progress: Progress | None = None,
) -> HistoryResult:
    """``binbot data download``: the last ``days`` days, fetching only what is missing."""
    return await ensure_history(store, rest, market, symbol, interval, days=days,
                                now_ms=now_ms, on_progress=on_progress)
