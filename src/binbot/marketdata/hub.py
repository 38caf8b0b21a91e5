"""MarketDataHub: shares one live subscription per (market, symbol, stream) between consumers.

Guarantees to each consumer of a kline series: closed candles arrive in open-time order with none
missing and none repeated, whatever the stream does (drops, reconnects, silence). Gaps are repaired
from REST on start, after every ``Reconnected`` and whenever a closed candle skips ahead. While a
series is being repaired, its live kline events are held back and released after the repair, so
the order is kept. Unclosed candles are upserted into the store as they change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from binbot.domain.candle import Candle
from binbot.domain.market import Market, interval_ms, interval_start
from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarketEvent,
    MarkPriceEvent,
    Reconnected,
    StaleData,
    TradeEvent,
)
from binbot.domain.streams import StreamKey, StreamKind
from binbot.marketdata.mailbox import Mailbox
from binbot.ports.candle_store import CandleStore
from binbot.ports.market_data import MarketDataRest, MarketStream

log = logging.getLogger(__name__)

Handler = Callable[[list[MarketEvent]], Awaitable[None]]
SeriesKey = tuple[Market, str, str]  # (market, symbol, interval)

_KLINE_KINDS = (StreamKind.KLINE, StreamKind.CONTINUOUS_KLINE)


def _series(key: StreamKey) -> SeriesKey | None:
    if key.kind in _KLINE_KINDS and key.interval is not None:
        return (key.market, key.symbol, key.interval)
    return None


def route_key(event: MarketEvent) -> tuple[Market, str, StreamKind | None, str | None] | None:
    """The (market, symbol, kind, interval) an event belongs to; kind None means any kline kind."""
    if isinstance(event, KlineEvent):
        c = event.candle
        return (c.market, c.symbol, None, c.interval)
    if isinstance(event, TradeEvent):
        return (event.market, event.symbol, StreamKind.AGG_TRADE, None)
    if isinstance(event, BookTickerEvent):
        return (event.market, event.symbol, StreamKind.BOOK_TICKER, None)
    if isinstance(event, MarkPriceEvent):
        return (event.market, event.symbol, StreamKind.MARK_PRICE, None)
    if isinstance(event, DepthUpdateEvent):
        return (event.market, event.symbol, StreamKind.DEPTH, None)
    return None


@dataclass
class _Consumer:
    name: str
    keys: frozenset[StreamKey]
    handler: Handler
    mailbox: Mailbox
    task: asyncio.Task[None] | None = None
    errors: int = 0


@dataclass
class _SeriesState:
    last_closed: int | None = None  # open time of the last closed candle delivered
    repairing: bool = False
    held: list[KlineEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HubHistory:
    """How much history to fetch for a series the store has never seen."""

    candles: int = 50
    days: float | None = None


class MarketDataHub:
    """Consumes the market stream; each consumer gets batches of events on its own task."""

    def __init__(
        self,
        stream: MarketStream,
        rest: MarketDataRest,
        store: CandleStore | None,
        history: HubHistory = HubHistory(),
        mailbox_limit: int = 10_000,
    ) -> None:
        self._stream = stream
        self._rest = rest
        self._store = store
        self._history = history
        self._mailbox_limit = mailbox_limit
        self._consumers: dict[str, _Consumer] = {}
        self._refcount: defaultdict[StreamKey, int] = defaultdict(int)
        self._series: dict[SeriesKey, _SeriesState] = {}
        self._last_event_ms: dict[StreamKey, int] = {}
        self._stale: set[StreamKey] = set()
        self._pump_task: asyncio.Task[None] | None = None
        self._repairs: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump(), name="market-data-hub")

    async def stop(self) -> None:
        tasks = [c.task for c in self._consumers.values() if c.task is not None]
        tasks.extend(self._repairs)
        if self._pump_task is not None:
            tasks.append(self._pump_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pump_task = None
        await self._stream.close()

    # -- consumers -------------------------------------------------------------------------

    async def add_consumer(self, name: str, keys: Iterable[StreamKey], handler: Handler) -> None:
        """Register a consumer; new series get their history and gaps filled before live data."""
        async with self._lock:
            if name in self._consumers:
                raise ValueError(f"consumer {name!r} already registered")
            wanted = frozenset(keys)
            consumer = _Consumer(name, wanted, handler, Mailbox(self._mailbox_limit))
            consumer.task = asyncio.create_task(self._deliver(consumer), name=f"hub->{name}")
            self._consumers[name] = consumer
            new_keys = [key for key in sorted(wanted) if self._refcount[key] == 0]
            for key in wanted:
                self._refcount[key] += 1
            new_series = {s for s in map(_series, new_keys) if s is not None}
            for series in new_series:
                self._series.setdefault(series, _SeriesState(repairing=True))
            if new_keys:
                await self._stream.subscribe(new_keys)
        for series in new_series:
            await self._repair(series, initial=True)

    async def remove_consumer(self, name: str) -> None:
        async with self._lock:
            consumer = self._consumers.pop(name, None)
            if consumer is None:
                return
            gone: list[StreamKey] = []
            for key in consumer.keys:
                self._refcount[key] -= 1
                if self._refcount[key] <= 0:
                    del self._refcount[key]
                    gone.append(key)
            still = {s for s in map(_series, self._refcount) if s is not None}
            for series in {s for s in map(_series, gone) if s is not None} - still:
                self._series.pop(series, None)
            if gone:
                await self._stream.unsubscribe(gone)
        if consumer.task is not None:
            consumer.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer.task

    # -- status ----------------------------------------------------------------------------

    def stale_keys(self) -> frozenset[StreamKey]:
        return frozenset(self._stale)

    def last_event_ms(self) -> dict[StreamKey, int]:
        return dict(self._last_event_ms)

    def dropped(self) -> dict[str, int]:
        return {name: c.mailbox.dropped for name, c in self._consumers.items()}

    # -- internals -------------------------------------------------------------------------

    async def _pump(self) -> None:
        async for event in self._stream.events():
            try:
                self._on_event(event)
            except Exception:
                log.exception("market data hub failed to route %r", type(event).__name__)

    def _on_event(self, event: MarketEvent) -> None:
        if isinstance(event, Reconnected):
            self._on_reconnected(event)
            return
        if isinstance(event, StaleData):
            self._stale.update(event.streams)
            log.warning("market data stale for %.1fs on %d stream(s)", event.silent_for_s,
                        len(event.streams))
            self._broadcast(event, event.streams)
            return
        if isinstance(event, KlineEvent):
            self._on_kline(event)
            return
        self._route(event)

    def _on_reconnected(self, event: Reconnected) -> None:
        self._broadcast(event, event.streams)
        for series in {s for s in map(_series, event.streams) if s is not None}:
            state = self._series.get(series)
            if state is not None and not state.repairing:
                state.repairing = True
                self._spawn_repair(series)

    def _on_kline(self, event: KlineEvent) -> None:
        candle = event.candle
        series = (candle.market, candle.symbol, candle.interval)
        state = self._series.get(series)
        if state is None:
            return
        if state.repairing:
            state.held.append(event)
            return
        if candle.closed and state.last_closed is not None:
            expected = state.last_closed + interval_ms(candle.interval)
            if candle.open_time < expected:
                return  # a duplicate or an overlap after reconnect
            if candle.open_time > expected:
                log.warning("gap in %s %s %s before %d; repairing from REST", *series,
                            candle.open_time)
                state.repairing = True
                state.held.append(event)
                self._spawn_repair(series)
                return
        self._accept_kline(series, state, event)

    def _accept_kline(self, series: SeriesKey, state: _SeriesState, event: KlineEvent) -> None:
        candle = event.candle
        if candle.closed:
            state.last_closed = candle.open_time
        elif state.last_closed is not None and candle.open_time <= state.last_closed:
            return  # a late update of a candle already closed
        if self._store is not None:
            self._store_later([candle])
        self._route(event)

    def _store_later(self, candles: list[Candle]) -> None:
        if self._store is None:
            return
        task = asyncio.ensure_future(self._store.upsert(candles))
        task.add_done_callback(_log_failure)

    def _route(self, event: MarketEvent) -> None:
        target = route_key(event)
        if target is None:
            return
        market, symbol, kind, interval = target
        for consumer in self._consumers.values():
            for key in consumer.keys:
                if key.market is market and key.symbol == symbol and (
                    key.kind is kind if kind is not None
                    else key.kind in _KLINE_KINDS and key.interval == interval
                ):
                    consumer.mailbox.put(event)
                    self._mark_live(key, event)
                    break

    def _mark_live(self, key: StreamKey, event: MarketEvent) -> None:
        event_time = getattr(event, "event_time", 0)
        self._last_event_ms[key] = event_time
        if self._stale:
            self._stale.discard(key)

    def _broadcast(self, event: MarketEvent, keys: Iterable[StreamKey]) -> None:
        wanted = set(keys)
        for consumer in self._consumers.values():
            if consumer.keys & wanted:
                consumer.mailbox.put(event)

    def _spawn_repair(self, series: SeriesKey) -> None:
        task = asyncio.create_task(self._repair(series, initial=False), name=f"repair-{series}")
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    async def _repair(self, series: SeriesKey, *, initial: bool) -> None:
        """Fill the series from REST up to now, then release held live events in order."""
        state = self._series.get(series)
        if state is None:
            return
        market, symbol, interval = series
        delay = 1.0
        while True:
            try:
                start = await self._repair_start(series, state, initial)
                fetched: list[Candle] = []
                async for page in self._rest.kline_history(market, symbol, interval, start):
                    fetched.extend(page)
                break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("backfill of %s %s %s failed (%s); retrying in %.0fs",
                            market, symbol, interval, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self._release(series, state, fetched)

    async def _repair_start(self, series: SeriesKey, state: _SeriesState, initial: bool) -> int:
        market, symbol, interval = series
        step = interval_ms(interval)
        # REST klines carry no "closed" flag: the client decides it from the server's time.
        # Ask for it before every repair, so the forming candle is never taken for closed.
        now = await self._rest.server_time(market)
        if state.last_closed is None and self._store is not None:
            state.last_closed = await self._store.last_closed_open_time(market, symbol, interval)
            if state.last_closed is not None and initial:
                log.info("%s %s %s: store has candles up to %d", market, symbol, interval,
                         state.last_closed)
        if state.last_closed is not None:
            return state.last_closed + step
        if self._history.days is not None:
            span = int(self._history.days * 86_400_000)
        else:
            span = self._history.candles * step
        return interval_start(now, interval) - span

    def _release(self, series: SeriesKey, state: _SeriesState, fetched: list[Candle]) -> None:
        closed = [c for c in fetched if c.closed]
        stored: list[Candle] = []
        for candle in closed:
            if state.last_closed is not None and candle.open_time <= state.last_closed:
                continue
            state.last_closed = candle.open_time
            stored.append(candle)
            self._route(KlineEvent(event_time=candle.close_time, candle=candle))
        if self._store is not None and stored:
            self._store_later(stored)
        held, state.held = state.held, []
        state.repairing = False
        for event in held:
            self._on_kline(event)
        if closed:
            log.info("%s %s %s: %d closed candle(s) filled from REST", *series, len(stored))

    async def _deliver(self, consumer: _Consumer) -> None:
        while True:
            batch = await consumer.mailbox.get_batch()
            try:
                await consumer.handler(batch)
                consumer.errors = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                consumer.errors += 1
                log.exception("consumer %s failed on a batch of %d event(s)", consumer.name,
                              len(batch))


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("candle store write failed", exc_info=task.exception())
