from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from binbot.adapters.binance.dedupe import Deduper
from binbot.adapters.binance.endpoints import PROD, local
from binbot.adapters.binance.event_queue import DropOldestQueue, QueueClosed
from binbot.adapters.binance.stream_decoder import (
    ControlReply,
    DataEvent,
    ServerShutdown,
    StreamDecoder,
    Unrouted,
    suffix_family,
)
from binbot.adapters.binance.stream_names import combined_url, stream_name, stream_root
from binbot.adapters.binance.stream_router import MessageRouter
from binbot.domain.market import Market
from binbot.domain.market_events import (
    BookTickerEvent,
    DepthUpdateEvent,
    KlineEvent,
    MarkPriceEvent,
    TradeEvent,
)
from binbot.domain.streams import StreamKey, StreamKind
from tests.unit.adapters.binance.fakes import fixture_bytes, fixture_json


def wrap(stream: str, path: str) -> bytes:
    return json.dumps({"stream": stream, "data": fixture_json(path)}).encode()


def test_stream_names_and_routing() -> None:
    usdm = Market.USDM
    cases = [
        (StreamKey(usdm, "BTCUSDT", StreamKind.KLINE, "1m"), "btcusdt@kline_1m", "market"),
        (StreamKey(usdm, "BTCUSDT", StreamKind.CONTINUOUS_KLINE, "5m"),
         "btcusdt_perpetual@continuousKline_5m", "market"),
        (StreamKey(usdm, "BTCUSDT", StreamKind.AGG_TRADE), "btcusdt@aggTrade", "market"),
        (StreamKey(usdm, "BTCUSDT", StreamKind.MARK_PRICE), "btcusdt@markPrice@1s", "market"),
        (StreamKey(usdm, "BTCUSDT", StreamKind.BOOK_TICKER), "btcusdt@bookTicker", "public"),
        (StreamKey(usdm, "BTCUSDT", StreamKind.DEPTH), "btcusdt@depth@100ms", "public"),
    ]
    for key, name, category in cases:
        assert stream_name(key) == name
        assert stream_root(key, PROD) == f"wss://fstream.binance.com/{category}"
    spot = StreamKey(Market.SPOT, "ETHUSDT", StreamKind.BOOK_TICKER)
    assert stream_root(spot, PROD) == "wss://stream.binance.com:9443"
    assert stream_root(spot, local("127.0.0.1", 5)) == "ws://127.0.0.1:5"
    assert combined_url("ws://h:1/market", ["a@aggTrade", "b@kline_1m"]) == (
        "ws://h:1/market/stream?streams=a@aggTrade/b@kline_1m"
    )


def test_suffix_family() -> None:
    assert suffix_family("btcusdt@kline_1m") == "kline"
    assert suffix_family("btcusdt_perpetual@continuousKline_1m") == "continuousKline"
    assert suffix_family("btcusdt@markPrice@1s") == "markPrice"
    assert suffix_family("btcusdt@depth@100ms") == "depth"
    assert suffix_family("btcusdt@depth") == "depth"
    assert suffix_family("btcusdt@aggTrade") == "aggTrade"


def test_decoder_routes_combined_envelopes_by_stream_suffix() -> None:
    decoder = StreamDecoder(Market.USDM)
    stream, kline = decoder.decode(
        wrap("btcusdt@kline_1m", "futures/market_data_json/kline_stream_closed.json")
    )
    assert stream == "btcusdt@kline_1m"
    assert isinstance(kline, KlineEvent)
    assert kline.candle.closed
    assert kline.candle.close == 0.002
    _, trade = decoder.decode(
        wrap("btcusdt@aggTrade", "futures/market_data_json/agg_trade_stream.json")
    )
    assert isinstance(trade, TradeEvent)
    assert trade.agg_id == 5933014
    _, book = decoder.decode(
        wrap("bnbusdt@bookTicker", "futures/market_data_json/book_ticker_stream.json")
    )
    assert isinstance(book, BookTickerEvent)
    assert book.bid_price == 25.3519
    _, mark = decoder.decode(
        wrap("btcusdt@markPrice@1s", "futures/market_data_json/mark_price_stream.json")
    )
    assert isinstance(mark, MarkPriceEvent)
    assert mark.funding_rate == 0.00038167
    _, depth = decoder.decode(
        wrap("btcusdt@depth@100ms", "recorded/ws_messages/ws_futures_depth_update.json")
    )
    assert isinstance(depth, DepthUpdateEvent)
    assert depth.prev_final_update_id == 390497794


def test_decoder_reads_recorded_spot_combined_messages() -> None:
    decoder = StreamDecoder(Market.SPOT)
    _, trade = decoder.decode(fixture_bytes("recorded/ws_messages/ws_spot_agg_trade.json"))
    assert trade == TradeEvent(
        Market.SPOT, "ETHUSDT", 1675759520848, 1675759520847, 226532, 1632.46, 0.34305, False
    )
    _, book = decoder.decode(fixture_bytes("recorded/ws_messages/ws_spot_ticker_book.json"))
    assert book == BookTickerEvent(
        Market.SPOT, "ETHUSDT", 12711621188, 1646199228123, 4507.24, 2.3595, 4507.25, 2.8457
    )
    # A stream binbot does not subscribe to is counted, not parsed.
    stream, other = decoder.decode(fixture_bytes("recorded/ws_messages/ws_spot_trade.json"))
    assert (stream, other) == ("ethusdt@trade", Unrouted("ethusdt@trade"))


def test_decoder_control_and_shutdown_messages() -> None:
    decoder = StreamDecoder(Market.SPOT)
    assert decoder.decode(b'{"result":null,"id":3}') == ("", ControlReply(3, None))
    _, failed = decoder.decode(b'{"error":{"code":2,"msg":"Invalid request"},"id":"a1"}')
    assert failed == ControlReply("a1", "2: Invalid request")
    raw = b'{"e":"serverShutdown","E":1770123456789}'
    assert decoder.decode(raw) == ("", ServerShutdown(1770123456789))
    combined = b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":5}}'
    assert decoder.decode(combined)[1] == ServerShutdown(5)


def test_router_dedupes_overlap_and_counts_malformed() -> None:
    got: list[DataEvent] = []
    router = MessageRouter(Market.USDM, got.append)
    message = wrap("btcusdt@aggTrade", "futures/market_data_json/agg_trade_stream.json")
    assert router.feed(message) is None
    assert router.feed(message) is None  # the same message from the overlapping socket
    assert len(got) == 1
    assert router.duplicates == 1
    assert router.feed(b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade"}}') is None
    assert router.feed(b"not json") is None
    assert router.malformed == 2
    assert len(got) == 1
    assert router.feed(b'{"result":null,"id":1}') == ControlReply(1, None)


def _kline(open_time: int, event_time: int, closed: bool) -> Any:
    payload = fixture_json("futures/market_data_json/kline_stream_open.json")
    payload["E"] = event_time
    payload["k"]["t"] = open_time
    payload["k"]["x"] = closed
    return payload


def test_dedupe_keys_klines_by_open_time_event_time_and_close() -> None:
    got: list[DataEvent] = []
    router = MessageRouter(Market.USDM, got.append)
    stream = "btcusdt@kline_1m"
    sequence = [(0, 10, False), (0, 20, False), (0, 20, True), (0, 20, True), (60, 20, False),
                (0, 15, False)]
    for open_time, event_time, closed in sequence:
        router.feed(json.dumps({"stream": stream, "data": _kline(open_time, event_time, closed)}))
    assert [(e.candle.open_time, e.event_time, e.candle.closed) for e in got] == [  # type: ignore[union-attr]
        (0, 10, False), (0, 20, False), (0, 20, True), (60, 20, False)
    ]


def test_deduper_forgets_after_a_break() -> None:
    dedupe = Deduper()
    trade = TradeEvent(Market.SPOT, "X", 1, 1, 9, 1.0, 1.0, False)
    assert dedupe.is_new("x@aggTrade", trade)
    assert not dedupe.is_new("x@aggTrade", trade)
    dedupe.forget(["x@aggTrade"])
    assert dedupe.is_new("x@aggTrade", trade)


async def test_drop_oldest_queue_counts_drops_and_closes() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(3)
    for i in range(5):
        queue.put_nowait(i)
    assert queue.dropped == 2
    assert [await queue.get() for _ in range(3)] == [2, 3, 4]
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(7)
    assert await waiter == 7
    queue.put_nowait(8)
    queue.close()
    assert await queue.get() == 8
    with pytest.raises(QueueClosed):
        await queue.get()
