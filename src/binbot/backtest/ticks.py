"""The real-time prices a backtest replays inside each lower-timeframe candle.

- ``close``: one price per candle, its close, at its close time (open time + length - 1). This
  is DESIGN.md's "the close of each lower-timeframe candle".
- ``ohlc``: the candle's plausible trade path, ``binbot.domain.price_path.intrabar_ticks``,
  vectorised here: the prices the local exchange streams as aggTrades, at the very same
  milliseconds, so a backtest can be compared with paper trading through it trade for trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from binbot.backtest.bars import Bars

PricePath = Literal["close", "ohlc"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Ticks:
    """Flat tick arrays; the ticks of lower candle ``i`` are ``ends[i-1]:ends[i]``."""

    time: IntArray
    price: FloatArray
    ends: IntArray

    def __len__(self) -> int:
        return int(self.time.shape[0])


def make_ticks(bars: Bars, path: PricePath) -> Ticks:
    if path == "close":
        return Ticks(bars.close_time, bars.close, np.arange(1, len(bars) + 1, dtype=np.int64))
    if path == "ohlc":
        return ohlc_ticks(bars)
    raise ValueError(f"unknown price path, was {path!r}; use 'close' or 'ohlc'")


def ohlc_ticks(bars: Bars) -> Ticks:
    """``intrabar_ticks`` of every candle, vectorised (a rising candle dips first, a falling
    one rallies first, repeated prices dropped, the k-th of n at ``open + k * length // n``)."""
    o, h, lo, c = bars.open, bars.high, bars.low, bars.close
    rising = c >= o
    points = np.stack([o, np.where(rising, lo, h), np.where(rising, h, lo), c], axis=1)
    keep = np.ones(points.shape, dtype=np.bool_)
    # Dropping a repeat of the previous kept price equals dropping a repeat of the previous
    # point: a dropped point equals the one before it.
    keep[:, 1:] = points[:, 1:] != points[:, :-1]
    counts = keep.sum(axis=1).astype(np.int64)
    ranks = np.cumsum(keep, axis=1) - 1  # index of each kept point inside its path
    rows = np.repeat(np.arange(len(bars)), counts)
    kept_rank = ranks[keep].astype(np.int64)
    times = bars.open_time[rows] + kept_rank * bars.length_ms // counts[rows]
    prices = points[keep]
    return Ticks(np.ascontiguousarray(times, dtype=np.int64),
                 np.ascontiguousarray(prices, dtype=np.float64), np.cumsum(counts))
