"""Candle reads for charts and the market list, with aggregation from finer stored candles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, func, select

from binbot.api.schemas.market import CandleSeries, MarketOut
from binbot.domain.market import INTERVALS, interval_ms
from binbot.storage.candle_table import candles

DAY_MS = 86_400_000
# Most source rows one chart request may aggregate (bounds memory and time of a request).
MAX_SOURCE_ROWS = 600_000


class RangeTooLarge(ValueError):
    """The request would read more candles than one request may."""


@dataclass(frozen=True, slots=True)
class Bars:
    interval: str
    source_interval: str
    time_ms: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.time_ms.size)

    def window(self, start: int, stop: int) -> Bars:
        return Bars(self.interval, self.source_interval, self.time_ms[start:stop],
                    self.open[start:stop], self.high[start:stop], self.low[start:stop],
                    self.close[start:stop], self.volume[start:stop])

    def tail(self, count: int) -> Bars:
        return self.window(max(0, len(self) - count), len(self))

    def series(self) -> CandleSeries:
        return CandleSeries(time_ms=self.time_ms.tolist(), open=self.open.tolist(),
                            high=self.high.tolist(), low=self.low.tolist(),
                            close=self.close.tolist(), volume=self.volume.tolist())


def stored_intervals(engine: Engine, market: str, symbol: str) -> list[str]:
    query = (select(candles.c.interval).where(candles.c.market == market,
                                              candles.c.symbol == symbol)
             .group_by(candles.c.interval))
    with engine.connect() as conn:
        found = {row[0] for row in conn.execute(query)}
    return [i for i in INTERVALS if i in found]


def _latest_open(engine: Engine, market: str, symbol: str, interval: str) -> int | None:
    query = select(func.max(candles.c.open_time)).where(
        candles.c.market == market, candles.c.symbol == symbol, candles.c.interval == interval)
    with engine.connect() as conn:
        value = conn.execute(query).scalar_one_or_none()
    return None if value is None else int(value)


def _read(engine: Engine, market: str, symbol: str, interval: str, from_ms: int, to_ms: int
          ) -> list[Any]:
    c = candles.c
    query = (select(c.open_time, c.open, c.high, c.low, c.close, c.volume)
             .where(c.market == market, c.symbol == symbol, c.interval == interval,
                    c.open_time >= from_ms, c.open_time <= to_ms)
             .order_by(c.open_time))
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def _arrays(interval: str, source: str, rows: list[Any]) -> Bars:
    data = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return Bars(interval, source, data[:, 0].astype(np.int64), data[:, 1].copy(),
                data[:, 2].copy(), data[:, 3].copy(), data[:, 4].copy(), data[:, 5].copy())


def aggregate(bars: Bars, interval: str) -> Bars:
    """Group finer bars into ``interval`` bars aligned like Binance's (epoch; weeks on Monday)."""
    if len(bars) == 0:
        return Bars(interval, bars.source_interval, bars.time_ms, bars.open, bars.high,
                    bars.low, bars.close, bars.volume)
    length = interval_ms(interval)
    offset = 4 * DAY_MS if interval == "1w" else 0  # the epoch was a Thursday
    buckets = (bars.time_ms + offset) // length * length - offset
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(bars)] - 1
    return Bars(
        interval, bars.source_interval, buckets[starts], bars.open[starts],
        np.maximum.reduceat(bars.high, starts), np.minimum.reduceat(bars.low, starts),
        bars.close[ends], np.add.reduceat(bars.volume, starts),
    )


def load_bars(engine: Engine, market: str, symbol: str, interval: str, *,
              from_ms: int | None, to_ms: int | None, limit: int, warmup: int) -> Bars | None:
    """Up to ``limit`` bars (plus ``warmup`` earlier ones for indicators), newest last.

    Reads ``interval`` if stored, else aggregates the finest stored interval that divides it.
    ``None`` when the store has no candles for the symbol.
    """
    available = stored_intervals(engine, market, symbol)
    if not available:
        return None
    target_ms = interval_ms(interval)
    if interval in available:
        source = interval
    else:
        finer = [i for i in available if interval_ms(i) < target_ms and target_ms % interval_ms(i)
                 == 0]
        if not finer:
            return None
        source = finer[0]
    source_ms = interval_ms(source)
    latest = _latest_open(engine, market, symbol, source)
    if latest is None:
        return None
    end = latest if to_ms is None else min(to_ms, latest)
    wanted = limit + warmup
    if from_ms is None:
        start = end - wanted * target_ms
    else:
        start = from_ms - warmup * target_ms
    rows_needed = (end - start) // source_ms + 1
    if rows_needed > MAX_SOURCE_ROWS:
        raise RangeTooLarge(
            f"the range covers about {rows_needed} stored {source} candles; at most "
            f"{MAX_SOURCE_ROWS} per request: narrow from_ms/to_ms or use a larger interval")
    bars = _arrays(interval, source, _read(engine, market, symbol, source, start, end))
    if source != interval:
        bars = aggregate(bars, interval)
    if from_ms is None:
        return bars.tail(wanted)
    return bars


def markets(engine: Engine) -> list[MarketOut]:
    """Each stored symbol's last price, and its change, range and volume over the last 24 h."""
    c = candles.c
    with engine.connect() as conn:
        series = conn.execute(
            select(c.market, c.symbol, c.interval, func.max(c.open_time))
            .group_by(c.market, c.symbol, c.interval)).all()
        by_symbol: dict[tuple[str, str], dict[str, int]] = {}
        for market, symbol, interval, last in series:
            if interval in INTERVALS:
                by_symbol.setdefault((market, symbol), {})[interval] = int(last)
        result = []
        for (market, symbol), intervals in sorted(by_symbol.items()):
            finest = min(intervals, key=interval_ms)
            last_open = intervals[finest]
            since = last_open + interval_ms(finest) - DAY_MS
            window = (c.market == market, c.symbol == symbol, c.interval == finest,
                      c.open_time >= since)
            high, low, volume, quote, first_t = conn.execute(
                select(func.max(c.high), func.min(c.low), func.sum(c.volume),
                       func.sum(c.quote_volume), func.min(c.open_time)).where(*window)).one()
            first_open = conn.execute(select(c.open).where(*window, c.open_time == first_t)
                                      ).scalar_one()
            last_close = conn.execute(select(c.close).where(
                c.market == market, c.symbol == symbol, c.interval == finest,
                c.open_time == last_open)).scalar_one()
            change = (last_close - first_open) / first_open * 100 if first_open else None
            result.append(MarketOut(
                market=market, symbol=symbol, last_price=float(last_close),
                last_time_ms=last_open + interval_ms(finest) - 1,
                change_24h_pct=None if change is None else float(change),
                high_24h=float(high), low_24h=float(low), volume_24h=float(volume),
                quote_volume_24h=float(quote),
                intervals=[i for i in INTERVALS if i in intervals],
            ))
    return result


def latest_candle_ms(engine: Engine) -> int | None:
    with engine.connect() as conn:
        value = conn.execute(select(func.max(candles.c.close_time))).scalar_one_or_none()
    return None if value is None else int(value)
