"""MarketDataHub against in-memory implementations of its three ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence

import pytest

from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.market_events import KlineEvent, MarketEvent, Reconnected, StaleData, TradeEvent
from binbot.domain.streams import StreamKey, StreamKind
from binbot.marketdata.hub import HubHistory, MarketDataHub

M = 60_000
KEY = StreamKey(Market.USDM, "FILUSDT", StreamKind.KLINE, "1m")
TRADES = StreamKey(Market.USDM, "FILUSDT", StreamKind.AGG_TRADE)


def candle(index: int, closed: bool = True, close: float | None = None) -> Candle:
    price = close if close is not None else 100.0 + index
    return Candle(Market.USDM, "FILUSDT", "1m", index * M, index * M + M - 1, price, price, price,
                  price, 1.0, price, 1, 0.5, price / 2, closed)


class FakeStream:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[MarketEvent] = asyncio.Queue()
        self.subscribed: list[StreamKey] = []
        self.unsubscribed: list[StreamKey] = []

    async def subscribe(self, keys: Iterable[StreamKey]) -> None:
        self.subscribed.extend(keys)

    async def unsubscribe(self, keys: Iterable[StreamKey]) -> None:
        self.unsubscribed.extend(keys)

    async def events(self) -> AsyncIterator[MarketEvent]:
        while True:
            yield await self.queue.get()

    async def close(self) -> None:
        pass

    def push(self, *events: MarketEvent) -> None:
        for event in events:
            self.queue.put_nowait(event)


class FakeRest:
    """Serves closed candles 0..last_closed and an unclosed one after, in pages of 3."""

    def __init__(self, last_closed: int) -> None:
        self.last_closed = last_closed
        self.requests: list[int] = []

    async def server_time(self, market: Market) -> int:
        return (self.last_closed + 1) * M + 30_000

    async def instruments(self, market: Market) -> list[Instrument]:
        return []

    async def kline_history(self, market: Market, symbol: str, interval: str, start_ms: int,
                            end_ms: int | None = None) -> AsyncIterator[list[Candle]]:
        self.requests.append(start_ms)
        rows = [candle(i) for i in range(max(start_ms // M, 0), self.last_closed + 1)]
        rows.append(candle(self.last_closed + 1, closed=False))
        for offset in range(0, len(rows), 3):
            yield rows[offset:offset + 3]


class FakeStore:
    def __init__(self, stored: Iterable[Candle] = ()) -> None:
        self.rows = {c.open_time: c for c in stored}

    async def upsert(self, candles: Sequence[Candle]) -> None:
        for c in candles:
            self.rows[c.open_time] = c

    async def flush(self) -> None:
        pass

    async def last_closed_open_time(self, market: Market, symbol: str, interval: str) -> int | None:
        closed = [t for t, c in self.rows.items() if c.closed]
        return max(closed) if closed else None

    async def count(self, market: Market, symbol: str, interval: str) -> int:
        return len(self.rows)


class Recorder:
    def __init__(self) -> None:
        self.events: list[MarketEvent] = []

    async def __call__(self, batch: list[MarketEvent]) -> None:
        self.events.extend(batch)

    def closed_indexes(self) -> list[int]:
        return [e.candle.open_time // M for e in self.events
                if isinstance(e, KlineEvent) and e.candle.closed]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def make_hub(rest: FakeRest, store: FakeStore, stream: FakeStream,
                   candles: int = 5) -> MarketDataHub:
    hub = MarketDataHub(stream, rest, store, HubHistory(candles=candles))
    await hub.start()
    return hub


async def test_empty_store_fetches_history_then_streams_live() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=9), FakeStore()
    hub = await make_hub(rest, store, stream, candles=5)
    seen = Recorder()
    await hub.add_consumer("bot", [KEY], seen)
    stream.push(KlineEvent(0, candle(10, closed=False)), KlineEvent(0, candle(10)))
    await settle()
    assert seen.closed_indexes() == [5, 6, 7, 8, 9, 10]
    assert stream.subscribed == [KEY]
    assert sorted(t // M for t, c in store.rows.items() if c.closed) == list(range(5, 11))
    await hub.stop()


async def test_reconnect_backfills_gap_without_duplicates() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=3), FakeStore()
    hub = await make_hub(rest, store, stream, candles=4)
    seen = Recorder()
    await hub.add_consumer("bot", [KEY], seen)
    stream.push(KlineEvent(0, candle(4)))
    await settle()
    # The connection drops; while it is down candles 5..7 close. The stream then resumes with an
    # overlap (4 again) and the new candle 8.
    rest.last_closed = 7
    stream.push(Reconnected((KEY,), 1), KlineEvent(0, candle(4)), KlineEvent(0, candle(8)))
    await settle()
    assert seen.closed_indexes() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert any(isinstance(e, Reconnected) for e in seen.events)
    await hub.stop()


async def test_closed_candle_skipping_ahead_triggers_repair() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=2), FakeStore()
    hub = await make_hub(rest, store, stream, candles=3)
    seen = Recorder()
    await hub.add_consumer("bot", [KEY], seen)
    rest.last_closed = 5
    stream.push(KlineEvent(0, candle(6)))
    await settle()
    assert seen.closed_indexes() == [0, 1, 2, 3, 4, 5, 6]
    await hub.stop()


async def test_store_with_candles_resumes_from_last_stored() -> None:
    stream, rest = FakeStream(), FakeRest(last_closed=8)
    store = FakeStore([candle(i) for i in range(0, 6)])
    hub = await make_hub(rest, store, stream)
    seen = Recorder()
    await hub.add_consumer("bot", [KEY], seen)
    await settle()
    assert rest.requests == [6 * M]
    assert seen.closed_indexes() == [6, 7, 8]
    await hub.stop()


async def test_subscription_is_shared_and_released_with_the_last_consumer() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=2), FakeStore()
    hub = await make_hub(rest, store, stream)
    first, second = Recorder(), Recorder()
    await hub.add_consumer("a", [KEY, TRADES], first)
    await hub.add_consumer("b", [TRADES], second)
    assert stream.subscribed.count(TRADES) == 1
    stream.push(TradeEvent(Market.USDM, "FILUSDT", 1, 1, 1, 3.5, 2.0, False))
    await settle()
    assert [e for e in first.events if isinstance(e, TradeEvent)] == [
        e for e in second.events if isinstance(e, TradeEvent)]
    await hub.remove_consumer("a")
    assert stream.unsubscribed == [KEY]
    await hub.remove_consumer("b")
    assert stream.unsubscribed == [KEY, TRADES]
    await hub.stop()


async def test_failing_consumer_does_not_hold_up_others() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=2), FakeStore()
    hub = await make_hub(rest, store, stream)
    healthy = Recorder()

    async def broken(batch: list[MarketEvent]) -> None:
        raise RuntimeError("strategy bug")

    await hub.add_consumer("broken", [TRADES], broken)
    await hub.add_consumer("healthy", [TRADES], healthy)
    for i in range(3):
        stream.push(TradeEvent(Market.USDM, "FILUSDT", i, i, i, 3.5, 2.0, False))
    await settle()
    assert len([e for e in healthy.events if isinstance(e, TradeEvent)]) == 3
    await hub.stop()


async def test_stale_notice_reaches_consumers_and_clears_on_data() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=2), FakeStore()
    hub = await make_hub(rest, store, stream)
    seen = Recorder()
    await hub.add_consumer("bot", [TRADES], seen)
    stream.push(StaleData((TRADES,), 12.0))
    await settle()
    assert hub.stale_keys() == {TRADES}
    assert any(isinstance(e, StaleData) for e in seen.events)
    stream.push(TradeEvent(Market.USDM, "FILUSDT", 1, 1, 1, 3.5, 2.0, False))
    await settle()
    assert hub.stale_keys() == frozenset()
    await hub.stop()


async def test_duplicate_consumer_name_is_refused() -> None:
    stream, rest, store = FakeStream(), FakeRest(last_closed=2), FakeStore()
    hub = await make_hub(rest, store, stream)
    await hub.add_consumer("bot", [TRADES], Recorder())
    with pytest.raises(ValueError, match="already registered"):
        await hub.add_consumer("bot", [TRADES], Recorder())
    await hub.stop()
