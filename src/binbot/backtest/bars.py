"""Candle columns for replay, and aggregation of lower-timeframe candles into an interval.

``Bars`` is the backtester's in-memory series: parallel numpy columns in open-time order.
``aggregate`` builds interval candles from lower-timeframe ones exactly as Binance does: each
candle covers ``[interval_start, interval_start + length)`` aligned to the Unix epoch (Monday
for ``1w``); open = first open, high = max, low = min, close = last close, volume = sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from binbot.domain.candle import Candle
from binbot.domain.market import MINUTE_MS, Market, interval_ms
from binbot.domain.values import builder

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_WEEK_OFFSET_MS = 4 * 1440 * MINUTE_MS


@dataclass(frozen=True, slots=True, eq=False)
class Bars:
    """Candles of one series as numpy columns (``open_time`` strictly increasing)."""

    interval: str
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    @property
    def length_ms(self) -> int:
        return interval_ms(self.interval)

    @property
    def close_time(self) -> IntArray:
        """Binance's close time: open time + length - 1."""
        result: IntArray = self.open_time + (self.length_ms - 1)
        return result

    def slice(self, start: int, stop: int) -> Bars:
        return Bars(self.interval, self.open_time[start:stop], self.open[start:stop],
                    self.high[start:stop], self.low[start:stop], self.close[start:stop],
                    self.volume[start:stop])

    def between(self, start_ms: int | None, end_ms: int | None) -> Bars:
        """The bars with ``start_ms <= open_time < end_ms`` (``None``: unbounded)."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.open_time, start_ms, "left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.open_time, end_ms, "left"))
        return self.slice(lo, max(lo, hi))

    def candles(self, market: Market, symbol: str, closed: bool = True) -> list[Candle]:
        """Domain candles (volume only; the other amounts are not carried)."""
        last = self.length_ms - 1
        interval = self.interval
        make = builder(Candle)  # Candle(...) without the type call: tens of thousands here
        return [make(market, symbol, interval, t, t + last, o, h, lo, c, v, 0.0, 0, 0.0, 0.0,
                     closed)
                for t, o, h, lo, c, v in zip(self.open_time.tolist(), self.open.tolist(),
                                             self.high.tolist(), self.low.tolist(),
                                             self.close.tolist(), self.volume.tolist(),
                                             strict=True)]

    @classmethod
    def from_columns(cls, interval: str, columns: Any) -> Bars:
        """From anything with ``open_time, open, high, low, close, volume`` attributes."""
        return cls(interval, np.ascontiguousarray(columns.open_time, dtype=np.int64),
                   *(np.ascontiguousarray(getattr(columns, name), dtype=np.float64)
                     for name in ("open", "high", "low", "close", "volume")))

    @classmethod
    def concat(cls, parts: list[Bars]) -> Bars:
        """Join series of one interval; sorted by open time, the first of duplicates kept."""
        if not parts:
            raise ValueError("no bars to join")
        interval = parts[0].interval
        if any(p.interval != interval for p in parts):
            raise ValueError("cannot join bars of different intervals: "
                             + ", ".join(sorted({p.interval for p in parts})))
        open_time = np.concatenate([p.open_time for p in parts])
        order = np.argsort(open_time, kind="stable")
        _, first = np.unique(open_time[order], return_index=True)
        keep = order[first]
        return cls(interval, open_time[keep],
                   *(np.concatenate([getattr(p, name) for p in parts])[keep]
                     for name in ("open", "high", "low", "close", "volume")))


def interval_starts(open_time: IntArray, interval: str) -> IntArray:
    """Vectorised ``interval_start``: the open time of the ``interval`` candle of each time."""
    length = interval_ms(interval)
    offset = _WEEK_OFFSET_MS if interval == "1w" else 0
    # Floor division then a product: the same numbers as ``t - (t - offset) % length``, but
    # numpy divides int64 by a scalar quickly (libdivide) and takes remainders slowly (8x).
    starts: IntArray = (open_time - offset) // length * length + offset
    return starts


@dataclass(frozen=True, slots=True, eq=False)
class Aggregated:
    """Interval candles built from lower ones; ``ends[j]`` is one past the index of the last
    lower candle of interval ``j`` (so interval ``j`` holds lower ``ends[j-1]:ends[j]``) and
    ``complete[j]`` tells whether the lower candles reach the end of the interval."""

    bars: Bars
    ends: IntArray
    complete: npt.NDArray[np.bool_]


def aggregate(lower: Bars, interval: str) -> Aggregated:
    """Aggregate ``lower`` into ``interval`` candles (see the module docstring)."""
    length = interval_ms(interval)
    step = lower.length_ms
    if length % step or length < step:
        raise ValueError(f"{interval} is not a multiple of {lower.interval}")
    if len(lower) == 0:
        nothing = np.empty(0, dtype=np.float64)
        empty = Bars(interval, np.empty(0, dtype=np.int64), nothing, nothing, nothing, nothing,
                     nothing)
        return Aggregated(empty, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.bool_))
    keys = interval_starts(lower.open_time, interval)
    firsts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
    ends = np.concatenate((firsts[1:], [len(lower)])).astype(np.int64)
    bars = Bars(
        interval,
        keys[firsts],
        lower.open[firsts],
        np.maximum.reduceat(lower.high, firsts),
        np.minimum.reduceat(lower.low, firsts),
        lower.close[ends - 1],
        np.add.reduceat(lower.volume, firsts),
    )
    complete = lower.open_time[ends - 1] + step >= keys[firsts] + length
    return Aggregated(bars, ends, complete)
