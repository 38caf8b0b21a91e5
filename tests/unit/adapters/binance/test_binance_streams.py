from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.streams import BinanceMarketStream
from binbot.adapters.binance.ws_connection import StreamOptions
from binbot.domain.market import Market
from binbot.domain.market_events import (
    BookTickerEvent,
    KlineEvent,
    MarketEvent,
    Reconnected,
    StaleData,
    TradeEvent,
)
from binbot.domain.streams import StreamKey, StreamKind
from tests.unit.adapters.binance.fakes import FakeStreams, fixture_json, start_app

KLINE = StreamKey(Market.USDM, "BTCUSDT", StreamKind.KLINE, "1m")
BOOK = StreamKey(Market.USDM, "BNBUSDT", StreamKind.BOOK_TICKER)
SPOT_TRADE = StreamKey(Market.SPOT, "ETHUSDT", StreamKind.AGG_TRADE)
FAST = StreamOptions(heartbeat_s=5.0, stale_after_s=30.0, backoff_initial_s=0.01,
                     backoff_max_s=0.05)


def agg_trade(agg_id: int) -> dict[str, Any]:
    data = dict(fixture_json("futures/market_data_json/agg_trade_stream.json"))
    data["a"] = agg_id
    return data


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeStreams, int]]:
    server = FakeStreams()
    runner, port = await start_app(server.app)
    try:
        yield server, port
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def make_stream(
    session: aiohttp.ClientSession, port: int, options: StreamOptions = FAST, **kwargs: Any
) -> BinanceMarketStream:
    return BinanceMarketStream(session, local("127.0.0.1", port), options=options, **kwargs)


async def next_event(events: AsyncIterator[MarketEvent], limit_s: float = 5.0) -> MarketEvent:
    async with asyncio.timeout(limit_s):
        return await anext(events)


async def test_combined_streams_are_routed_by_category(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    async with make_stream(session, port) as stream:
        events = stream.events()
        await stream.subscribe([KLINE, BOOK, SPOT_TRADE])
        await server.wait_for(lambda: len(server.sockets) == 3)
        assert sorted(server.connects) == [
            ("/market/stream", ["btcusdt@kline_1m"]),
            ("/public/stream", ["bnbusdt@bookTicker"]),
            ("/stream", ["ethusdt@aggTrade"]),
        ]
        kline = fixture_json("futures/market_data_json/kline_stream_closed.json")
        assert await server.send("btcusdt@kline_1m", kline) == 1
        event = await next_event(events)
        assert isinstance(event, KlineEvent)
        assert event.candle.closed
        assert event.candle.market is Market.USDM
        book = fixture_json("futures/market_data_json/book_ticker_stream.json")
        await server.send("bnbusdt@bookTicker", book)
        assert isinstance(await next_event(events), BookTickerEvent)
        await server.send("ethusdt@aggTrade", fixture_json(
            "recorded/ws_messages/ws_spot_agg_trade.json")["data"])
        trade = await next_event(events)
        assert isinstance(trade, TradeEvent)
        assert trade.market is Market.SPOT
    assert stream.connections == ()


async def test_live_subscribe_unsubscribe_and_connection_packing(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    keys = [StreamKey(Market.USDM, f"S{i}USDT", StreamKind.AGG_TRADE) for i in range(5)]
    async with make_stream(session, port, streams_per_connection=2) as stream:
        events = stream.events()
        await stream.subscribe(keys[:1])
        await server.wait_for(lambda: len(server.sockets) == 1)
        await stream.subscribe(keys[1:])
        await server.wait_for(
            lambda: len(server.sockets) == 3 and "s1usdt@aggTrade" in server.sockets[0].streams
        )
        first = server.sockets[0]
        assert first.controls == [
            {"method": "SUBSCRIBE", "params": ["s1usdt@aggTrade"], "id": 1}
        ]
        assert sorted(len(s.streams) for s in server.sockets) == [1, 2, 2]
        await server.send("s1usdt@aggTrade", agg_trade(1))
        assert isinstance(await next_event(events), TradeEvent)
        await stream.unsubscribe(keys[:1])
        await server.wait_for(lambda: first.streams == {"s1usdt@aggTrade"})
        assert first.controls[-1]["method"] == "UNSUBSCRIBE"
        await stream.unsubscribe(keys[1:2])
        await server.wait_for(lambda: len(server.sockets) == 2)
        assert len(stream.connections) == 2


async def test_names_beyond_the_url_budget_are_subscribed_after_connecting(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    options = StreamOptions(backoff_initial_s=0.01, backoff_max_s=0.05, url_max_chars=80)
    keys = [StreamKey(Market.SPOT, f"COIN{i}USDT", StreamKind.BOOK_TICKER) for i in range(6)]
    async with make_stream(session, port, options) as stream:
        await stream.subscribe(keys)
        names = {f"coin{i}usdt@bookTicker" for i in range(6)}
        await server.wait_for(lambda: bool(server.sockets) and server.sockets[0].streams == names)
        _path, in_url = server.connects[0]
        assert 0 < len(in_url) < 6
        assert server.sockets[0].controls[0]["method"] == "SUBSCRIBE"


async def test_reconnects_after_server_drop_with_reconnected_event(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    async with make_stream(session, port) as stream:
        events = stream.events()
        await stream.subscribe([KLINE, StreamKey(Market.USDM, "ETHUSDT", StreamKind.AGG_TRADE)])
        await server.wait_for(lambda: len(server.sockets) == 1)
        server.reject_connects = 2  # the first two reconnect attempts fail
        await server.drop()
        event = await next_event(events)
        assert isinstance(event, Reconnected)
        assert set(event.streams) == {KLINE, StreamKey(Market.USDM, "ETHUSDT",
                                                       StreamKind.AGG_TRADE)}
        assert event.attempt == 3
        assert len(server.connects) == 4
        await server.wait_for(lambda: len(server.sockets) == 1)
        await server.send("ethusdt@aggTrade", agg_trade(42))
        trade = await next_event(events)
        assert isinstance(trade, TradeEvent)
        assert trade.agg_id == 42


async def test_silence_emits_stale_data_then_reconnects(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    options = StreamOptions(stale_after_s=0.3, backoff_initial_s=0.01, backoff_max_s=0.05)
    async with make_stream(session, port, options) as stream:
        events = stream.events()
        await stream.subscribe([BOOK])
        await server.wait_for(lambda: len(server.sockets) == 1)
        stale = await next_event(events)
        assert isinstance(stale, StaleData)
        assert stale.streams == (BOOK,)
        assert stale.silent_for_s >= 0.3
        reconnected = await next_event(events)
        assert isinstance(reconnected, Reconnected)
        assert reconnected.streams == (BOOK,)
        assert len(server.connects) >= 2


async def test_rotation_is_make_before_break_and_dedupes_the_overlap(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    options = StreamOptions(rotate_after_s=0.5, backoff_initial_s=0.01, backoff_max_s=0.05,
                            rotation_ready_timeout_s=5.0)
    key = StreamKey(Market.USDM, "BTCUSDT", StreamKind.AGG_TRADE)
    async with make_stream(session, port, options) as stream:
        events = stream.events()
        await stream.subscribe([key])
        await server.wait_for(lambda: len(server.sockets) == 1)
        old = server.sockets[0]
        await server.wait_for(lambda: len(server.sockets) == 2)  # the replacement, old still open
        assert not old.ws.closed
        # Both sockets deliver the same trades while they overlap.
        assert await server.send("btcusdt@aggTrade", agg_trade(1)) == 2
        await server.wait_for(lambda: old not in server.sockets)
        await server.send("btcusdt@aggTrade", agg_trade(2))
        got = [await next_event(events), await next_event(events)]
        assert [e.agg_id for e in got if isinstance(e, TradeEvent)] == [1, 2]
        assert stream.connections[0].reconnects == 0
        assert stream.connections[0].router.duplicates == 1


async def test_server_shutdown_triggers_a_replacement(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    async with make_stream(session, port) as stream:
        events = stream.events()
        await stream.subscribe([SPOT_TRADE])
        await server.wait_for(lambda: len(server.sockets) == 1)
        old = server.sockets[0]
        await server.send_raw(old, '{"e":"serverShutdown","E":1770123456789}')
        await server.wait_for(lambda: len(server.sockets) == 2)
        trade = fixture_json("recorded/ws_messages/ws_spot_agg_trade.json")["data"]
        await server.send("ethusdt@aggTrade", trade)
        event = await next_event(events)
        assert isinstance(event, TradeEvent)
        assert event.agg_id == 226532
        await server.wait_for(lambda: old not in server.sockets)
        assert len(server.connects) == 2


async def test_slow_consumer_loses_oldest_events_counted(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    key = StreamKey(Market.USDM, "BTCUSDT", StreamKind.AGG_TRADE)
    async with make_stream(session, port, queue_size=3) as stream:
        await stream.subscribe([key])
        await server.wait_for(lambda: len(server.sockets) == 1)
        for agg_id in range(1, 9):
            await server.send("btcusdt@aggTrade", agg_trade(agg_id))
        await server.send("btcusdt@aggTrade", agg_trade(9))
        async with asyncio.timeout(5):
            while stream.connections[0].router.delivered < 9:  # noqa: ASYNC110 - counter only
                await asyncio.sleep(0.01)
        events = stream.events()
        got = [await next_event(events) for _ in range(3)]
        assert [e.agg_id for e in got if isinstance(e, TradeEvent)] == [7, 8, 9]
        assert stream.dropped == 6


async def test_close_ends_iteration_and_cancels_tasks(
    fake: tuple[FakeStreams, int], session: aiohttp.ClientSession
) -> None:
    server, port = fake
    stream = make_stream(session, port)
    await stream.subscribe([KLINE, BOOK])
    await server.wait_for(lambda: len(server.sockets) == 2)
    tasks = [c._task for c in stream.connections]
    consumer = asyncio.create_task(anext(stream.events(), None))
    await stream.close()
    assert await consumer is None
    assert all(t is not None and t.done() for t in tasks)
    await server.wait_for(lambda: not server.sockets)
    with pytest.raises(RuntimeError):
        await stream.subscribe([KLINE])
