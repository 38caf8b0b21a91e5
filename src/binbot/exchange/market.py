"""The market replay engine: turns 1m candles into a time-ordered stream of market events.

Pure and synchronous: ``advance(to_ms)`` emits, in virtual-time order across symbols, every
aggregated trade (along ``intrabar_path``), every forming / closed kline of the *active*
intervals, and mark-price ticks, by calling a listener. Encoding and delivery are the WebSocket
hub's business; the REST handlers read the same state, so what REST shows is what the stream
showed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol

import numpy as np

from binbot.domain.market import MINUTE_MS, interval_ms, interval_start
from binbot.exchange.aggregate import Bar, aggregate
from binbot.exchange.klinedata import SymbolData, TradeTick

_NEVER: Final = 2**62
# Order of simultaneous events: a candle closes before the next candle's first trade, and a
# mark-price tick reports the trade of the same millisecond.
_CLOSE, _TRADE, _MARK = 0, 1, 2
MARK_PERIOD_MS: Final = 1000


class MarketListener(Protocol):
    def on_trade(self, market: SymbolMarket, trade: TradeTick) -> None: ...

    def on_kline(self, market: SymbolMarket, interval: str, bar: Bar, closed: bool,
                 event_time: int) -> None: ...

    def on_mark(self, market: SymbolMarket, event_time: int) -> None: ...


class SymbolMarket:
    """Replay position and live state of one symbol."""

    def __init__(self, data: SymbolData) -> None:
        self.data = data
        self.symbol = data.symbol
        self.i = -1  # current candle
        self.k = 0  # trades of candle i already emitted
        self.path: tuple[int, ...] = ()
        self.last_trade: TradeTick | None = None
        self.minute: Bar | None = None  # candle i as far as it has traded
        self.bid = 0
        self.ask = 0
        self.bars: dict[str, Bar | None] = {}  # active intervals -> forming bar
        self.mark_next: int | None = None
        self._cum: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
        self.end_ms = data.last_open_time + MINUTE_MS

    # -- positioning ---------------------------------------------------------------------------

    def seek(self, now_ms: int) -> None:
        """Jump to ``now_ms`` without emitting: what happened before is history."""
        data = self.data
        i = data.index_at(now_ms)
        if i < 0:
            return
        self._enter(i)
        k = data.trades_until(i, now_ms)
        for j in range(k):
            self._apply(data.trade(i, j, self.path))

    def _enter(self, i: int) -> None:
        data = self.data
        self.i = i
        self.k = 0
        self.path = data.path(i)
        first = self.path[0]
        self.minute = Bar(int(data.open_time[i]), MINUTE_MS, first, first, first, first,
                          0, 0, 0, 0, 0, int(data.trade_base[i]), -1)
        self._cum = (0, 0, 0, 0, 0)

    def _apply(self, trade: TradeTick) -> tuple[int, int, int, int, int]:
        """Apply one trade to the forming 1m candle and book; return the volume deltas."""
        minute = self.minute
        if minute is None:
            raise RuntimeError("a trade outside any candle")
        self.k = trade.k + 1
        self.last_trade = trade
        price = trade.price
        if price > minute.high:
            minute.high = price
        if price < minute.low:
            minute.low = price
        minute.close = price
        minute.last_trade_id = trade.last_id
        cum = self.data.cumulative(self.i, self.k)
        prev = self._cum
        self._cum = cum
        minute.volume, minute.quote_volume, minute.taker_buy_volume = cum[0], cum[1], cum[2]
        minute.taker_buy_quote_volume, minute.count = cum[3], cum[4]
        # One-tick book around the last trade: a sell hit the bid, a buy lifted the ask.
        if trade.buyer_maker:
            self.bid, self.ask = price, price + 1
        else:
            self.bid, self.ask = max(price - 1, 1), price
        return (cum[0] - prev[0], cum[1] - prev[1], cum[2] - prev[2], cum[3] - prev[3],
                cum[4] - prev[4])

    # -- intervals -----------------------------------------------------------------------------

    def activate(self, interval: str, now_ms: int) -> None:
        """Start maintaining ``interval``'s forming bar, initialised exactly from the data."""
        if interval in self.bars:
            return
        interval_ms(interval)
        self.bars[interval] = self._bar_from_data(interval, now_ms)

    def deactivate(self, interval: str) -> None:
        self.bars.pop(interval, None)

    def forming_bars(self, interval: str, lo: int) -> list[Bar]:
        """Aggregate candles ``lo..i`` with the current candle as far as it has traded."""
        if self.i < lo:
            return []
        return aggregate(self.data, lo, self.i + 1, interval, last=self.minute)

    def _bar_from_data(self, interval: str, now_ms: int) -> Bar | None:
        if self.i < 0 or self.last_trade is None:
            return None
        start = interval_start(int(self.data.open_time[self.i]), interval)
        if now_ms >= start + interval_ms(interval):
            return None  # that window has closed already
        lo = int(np.searchsorted(self.data.open_time, start, side="left"))
        bars = self.forming_bars(interval, lo)
        bar = bars[-1]
        bar.first_trade_id = int(self.data.trade_base[lo])
        bar.last_trade_id = self.last_trade.last_id
        return bar

    # -- stepping ------------------------------------------------------------------------------

    def next_trade(self) -> tuple[int, int] | None:
        if self.i >= 0 and self.k < len(self.path):
            return self.i, self.k
        if self.i + 1 < len(self.data):
            return self.i + 1, 0
        return None

    def next_event(self) -> tuple[int, int]:
        """(virtual time, kind) of this symbol's next event; time ``_NEVER`` when none."""
        best = (_NEVER, _MARK)
        for bar in self.bars.values():
            if bar is not None and bar.end < best[0]:
                best = (bar.end, _CLOSE)
        nxt = self.next_trade()
        if nxt is not None:
            t = self.data.trade_time(*nxt)
            if (t, _TRADE) < best:
                best = (t, _TRADE)
        if self.mark_next is not None and (self.mark_next, _MARK) < best:
            best = (self.mark_next, _MARK)
        return best

    def step(self, kind: int, time_ms: int, listener: MarketListener | None) -> None:
        if kind == _CLOSE:
            closing = sorted(
                ((bar.length_ms, name, bar) for name, bar in self.bars.items()
                 if bar is not None and bar.end == time_ms),
                key=lambda item: item[0],
            )
            for _, name, bar in closing:
                self.bars[name] = None
                if listener is not None:
                    listener.on_kline(self, name, bar, True, time_ms)
        elif kind == _TRADE:
            self._trade(listener)
        else:
            if listener is not None and self.last_trade is not None:
                listener.on_mark(self, time_ms)
            nxt = time_ms + MARK_PERIOD_MS
            self.mark_next = nxt if nxt < self.end_ms else None

    def _trade(self, listener: MarketListener | None) -> None:
        nxt = self.next_trade()
        if nxt is None:
            return
        i, k = nxt
        if i != self.i:
            self._enter(i)
        trade = self.data.trade(i, k, self.path)
        deltas = self._apply(trade)
        price = trade.price
        for name, bar in self.bars.items():
            if bar is None:
                start = interval_start(trade.time, name)
                bar = Bar(start, interval_ms(name), price, price, price, price, *deltas,
                          trade.first_id, trade.last_id)
                self.bars[name] = bar
            else:
                if price > bar.high:
                    bar.high = price
                if price < bar.low:
                    bar.low = price
                bar.close = price
                bar.volume += deltas[0]
                bar.quote_volume += deltas[1]
                bar.taker_buy_volume += deltas[2]
                bar.taker_buy_quote_volume += deltas[3]
                bar.count += deltas[4]
                bar.last_trade_id = trade.last_id
        if listener is not None:
            listener.on_trade(self, trade)
            for name, bar in self.bars.items():
                if bar is not None:  # every active bar holds this trade now
                    listener.on_kline(self, name, bar, False, trade.time)


class MarketEngine:
    """Every symbol's replay, merged in virtual-time order."""

    def __init__(self, data: Mapping[str, SymbolData], start_ms: int) -> None:
        self.markets: dict[str, SymbolMarket] = {s: SymbolMarket(d) for s, d in data.items()}
        self.now_ms = start_ms
        self.listener: MarketListener | None = None
        for market in self.markets.values():
            market.seek(start_ms)
        self._next = {s: m.next_event() for s, m in self.markets.items()}

    def activate_interval(self, symbol: str, interval: str) -> None:
        market = self.markets[symbol]
        market.activate(interval, self.now_ms)
        self._next[symbol] = market.next_event()

    def deactivate_interval(self, symbol: str, interval: str) -> None:
        market = self.markets[symbol]
        market.deactivate(interval)
        self._next[symbol] = market.next_event()

    def set_mark(self, symbol: str, on: bool) -> None:
        market = self.markets[symbol]
        if not on:
            market.mark_next = None
        elif market.mark_next is None:
            nxt = (self.now_ms // MARK_PERIOD_MS + 1) * MARK_PERIOD_MS
            market.mark_next = nxt if nxt < market.end_ms else None
        self._next[symbol] = market.next_event()

    def next_event_ms(self) -> int | None:
        t = min((when for when, _ in self._next.values()), default=_NEVER)
        return None if t >= _NEVER else t

    def advance(self, to_ms: int, budget: int | None = None) -> bool:
        """Emit every event up to ``to_ms`` inclusive; False if ``budget`` steps ran out first."""
        steps = 0
        nexts = self._next
        markets = self.markets
        listener = self.listener
        while True:
            symbol, (when, kind) = min(nexts.items(), key=lambda item: item[1])
            if when > to_ms:
                break
            if budget is not None and steps >= budget:
                self.now_ms = max(self.now_ms, when - 1)
                return False
            market = markets[symbol]
            market.step(kind, when, listener)
            nexts[symbol] = market.next_event()
            steps += 1
        self.now_ms = max(self.now_ms, to_ms)
        return True
