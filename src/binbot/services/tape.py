"""Replaying missed market time into a bot: the "tape" of 1m candles.

A bot's decisions are a pure function of its restored snapshot and the prices after it. When
prices were missed (the process was down, or the trade stream reconnected), the runner replays
them from closed 1m candles along the same intrabar ticks the local exchange trades and the
backtester replays (``domain.price_path.intrabar_ticks``), and closes the bot's interval candles
from the 1m aggregate exactly where they closed. ``TapeReplayer`` is sans-I/O: the runner fetches
candles and feeds them in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from binbot.domain.candle import Candle
from binbot.domain.market import MINUTE_MS, interval_ms, interval_start
from binbot.domain.price_path import intrabar_ticks

PriceSink = Callable[[int, float], None]
CandleSink = Callable[[Candle], None]


@dataclass
class _Forming:
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_volume: float
    taker_buy_quote_volume: float


class TapeReplayer:
    """Feeds 1m candles as ticks after ``after_ms`` and closes interval candles on boundaries."""

    def __init__(self, interval: str, after_ms: int, on_price: PriceSink,
                 on_candle_closed: CandleSink) -> None:
        self._interval = interval
        self._length = interval_ms(interval)
        self.tape_ms = after_ms
        self.replayed_through: int | None = None  # open time of the last 1m candle replayed
        self._on_price = on_price
        self._on_candle_closed = on_candle_closed
        self._forming: _Forming | None = None

    @staticmethod
    def fetch_start(after_ms: int, interval: str) -> int:
        """Where 1m candles must start so the first interval candle can be aggregated whole."""
        return interval_start(after_ms, interval)

    def feed(self, minutes: Iterable[Candle]) -> int:
        """Replay closed 1m candles in order (older or repeated ones are skipped)."""
        count = 0
        for candle in minutes:
            if not candle.closed:
                continue
            if self.replayed_through is not None and candle.open_time <= self.replayed_through:
                continue
            self._aggregate(candle)
            for time_ms, price in intrabar_ticks(candle.open_time, MINUTE_MS, candle.open,
                                                 candle.high, candle.low, candle.close):
                if time_ms > self.tape_ms:
                    self.tape_ms = time_ms
                    self._on_price(time_ms, price)
            self.replayed_through = candle.open_time
            count += 1
            end = candle.open_time + MINUTE_MS
            if interval_start(end, self._interval) == end:
                self._close(candle)
        return count

    def _aggregate(self, c: Candle) -> None:
        start = interval_start(c.open_time, self._interval)
        f = self._forming
        if f is None or f.open_time != start:
            self._forming = _Forming(start, c.open, c.high, c.low, c.close, c.volume,
                                     c.quote_volume, c.trades, c.taker_buy_volume,
                                     c.taker_buy_quote_volume)
            return
        f.high = max(f.high, c.high)
        f.low = min(f.low, c.low)
        f.close = c.close
        f.volume += c.volume
        f.quote_volume += c.quote_volume
        f.trades += c.trades
        f.taker_buy_volume += c.taker_buy_volume
        f.taker_buy_quote_volume += c.taker_buy_quote_volume

    def _close(self, last: Candle) -> None:
        f = self._forming
        self._forming = None
        if f is None:
            return
        self._on_candle_closed(Candle(
            last.market, last.symbol, self._interval, f.open_time, f.open_time + self._length - 1,
            f.open, f.high, f.low, f.close, f.volume, f.quote_volume, f.trades,
            f.taker_buy_volume, f.taker_buy_quote_volume, True,
        ))
