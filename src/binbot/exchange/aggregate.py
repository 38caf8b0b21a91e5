"""Exact aggregation of 1m candles into any Binance interval, aligned like Binance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from binbot.domain.market import MINUTE_MS, interval_ms
from binbot.exchange.klinedata import IntArray, SymbolData

_WEEK_OFFSET_MS = 4 * 1440 * MINUTE_MS  # the epoch was a Thursday; Binance weeks start Monday


def window_starts(open_time: IntArray, interval: str) -> IntArray:
    """Vectorised ``binbot.domain.market.interval_start``."""
    length = interval_ms(interval)
    if interval == "1w":
        return open_time - ((open_time - _WEEK_OFFSET_MS) % length)
    return open_time - (open_time % length)


@dataclass(slots=True)
class Bar:
    """One candle of some interval; prices and volumes scaled like the symbol's data."""

    open_time: int
    length_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    taker_buy_volume: int
    taker_buy_quote_volume: int
    count: int
    # Trade id range (kline ``f``/``L``); only the stream's bars track them.
    first_trade_id: int = -1
    last_trade_id: int = -1

    @property
    def close_time(self) -> int:
        return self.open_time + self.length_ms - 1

    @property
    def end(self) -> int:
        return self.open_time + self.length_ms


def aggregate(data: SymbolData, lo: int, hi: int, interval: str,
              last: Bar | None = None) -> list[Bar]:
    """Aggregate 1m candles ``lo..hi-1`` into ``interval`` bars.

    ``last``, when given, replaces the values of candle ``hi-1`` (the forming candle, of which
    only some trades have happened).
    """
    if hi <= lo:
        return []
    length = interval_ms(interval)
    starts = window_starts(data.open_time[lo:hi], interval)
    high = data.high[lo:hi]
    low = data.low[lo:hi]
    close = data.close[lo:hi]
    sums = [data.volume[lo:hi], data.quote_volume[lo:hi], data.taker_buy_volume[lo:hi],
            data.taker_buy_quote_volume[lo:hi], data.count[lo:hi]]
    if last is not None:
        high, low, close = high.copy(), low.copy(), close.copy()
        high[-1], low[-1], close[-1] = last.high, last.low, last.close
        sums = [column.copy() for column in sums]
        values = (last.volume, last.quote_volume, last.taker_buy_volume,
                  last.taker_buy_quote_volume, last.count)
        for column, value in zip(sums, values, strict=True):
            column[-1] = value
    first = np.flatnonzero(np.concatenate(([True], starts[1:] != starts[:-1])))
    final = np.concatenate((first[1:] - 1, [hi - lo - 1]))
    columns = [
        starts[first].tolist(),
        data.open[lo:hi][first].tolist(),
        np.maximum.reduceat(high, first).tolist(),
        np.minimum.reduceat(low, first).tolist(),
        close[final].tolist(),
        *(np.add.reduceat(column, first).tolist() for column in sums),
    ]
    return [
        Bar(t, length, o, h, lw, c, v, q, bv, bq, n)
        for t, o, h, lw, c, v, q, bv, bq, n in zip(*columns, strict=True)
    ]
