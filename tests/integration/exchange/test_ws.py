"""WebSocket market streams of the local exchange: shapes, routing, subscriptions, lifetimes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from binbot.exchange.hub import HubOptions
from binbot.exchange.server import LocalExchange

from .conftest import (
    START_MS,
    MakeExchange,
    ManualClock,
    assert_same_shape,
    fixture,
    get_json,
)

WAIT = 10.0  # generous: only bounds a hang, never asserts a speed
MD = "futures/market_data_json/"
WSREC = "recorded/ws_messages/"


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def collect(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[Any]:
    return [await next_json(ws) for _ in range(count)]


async def request(ws: aiohttp.ClientWebSocketResponse, body: dict[str, Any]) -> tuple[
        list[Any], Any]:
    """Send a control request; return the data messages that came first, and the reply."""
    await ws.send_str(orjson.dumps(body).decode())
    before = []
    while True:
        message = await next_json(ws)
        if "id" in message and ("result" in message or "error" in message):
            return before, message
        before.append(message)


async def test_usdm_combined_streams_match_binance_payloads(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    url = (exchange.ws_url + "/market/stream?streams=filusdt@aggTrade/filusdt@kline_1m/"
           "filusdt_perpetual@continuousKline_1m/filusdt@markPrice@1s")
    async with http.ws_connect(url) as market, http.ws_connect(
            exchange.ws_url + "/public/stream?streams=filusdt@bookTicker") as public:
        clock.advance(2)
        seen: dict[str, Any] = {}
        while len(seen) < 4 or "closed" not in seen:
            message = await next_json(market)
            assert set(message) == {"stream", "data"}
            data = message["data"]
            seen[message["stream"]] = data
            if data.get("e") == "kline" and data["k"]["x"]:
                seen["closed"] = data
        assert_same_shape(seen["filusdt@aggTrade"], fixture(MD + "agg_trade_stream.json"))
        assert_same_shape(seen["filusdt@kline_1m"], fixture(MD + "kline_stream_open.json"))
        assert_same_shape(seen["closed"], fixture(MD + "kline_stream_closed.json"))
        assert_same_shape(seen["filusdt@markPrice@1s"], fixture(MD + "mark_price_stream.json"))
        continuous = seen["filusdt_perpetual@continuousKline_1m"]
        assert continuous["e"] == "continuous_kline"
        assert (continuous["ps"], continuous["ct"]) == ("FILUSDT", "PERPETUAL")
        assert set(continuous["k"]) == set(fixture(MD + "kline_stream_open.json")["k"]) - {"s"}
        book = (await next_json(public))["data"]
        assert_same_shape(book, fixture(MD + "book_ticker_stream.json"))
        assert Decimal(book["a"]) - Decimal(book["b"]) == Decimal("0.001")  # one tick


async def test_spot_raw_streams_are_unwrapped_and_spot_shaped(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/ws/filusdt@aggTrade") as trades, \
            http.ws_connect(exchange.ws_url + "/ws/filusdt@bookTicker") as book:
        clock.advance(1)
        trade = await next_json(trades)
        assert_same_shape(trade, fixture(WSREC + "ws_spot_agg_trade.json")["data"])
        spot_book = fixture(WSREC + "ws_spot_ticker_book.json")["data"]
        assert_same_shape(await next_json(book), spot_book)
        assert trade["E"] > START_MS


async def test_stream_on_the_wrong_usdm_category_never_delivers(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/public/ws/filusdt@aggTrade") as wrong, \
            http.ws_connect(exchange.ws_url + "/market/ws/filusdt@bookTicker") as wrong2, \
            http.ws_connect(exchange.ws_url + "/market/ws/filusdt@aggTrade") as right:
        clock.advance(3)
        assert len(await collect(right, 8)) == 8
        for ws, name in ((wrong, "filusdt@aggTrade"), (wrong2, "filusdt@bookTicker")):
            before, reply = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
            assert before == []  # accepted, listed, silent
            assert reply == {"result": [name], "id": 1}


async def test_live_subscribe_unsubscribe_and_list(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/market/ws") as ws:
        _, reply = await request(ws, {"method": "SUBSCRIBE", "id": 7,
                                      "params": ["filusdt@aggTrade", "filusdt@kline_5m"]})
        assert reply == {"result": None, "id": 7}
        clock.advance(1)
        events = {(await next_json(ws))["e"] for _ in range(4)}
        assert events == {"aggTrade", "kline"}
        _, reply = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": "abc"})
        assert reply == {"result": ["filusdt@aggTrade", "filusdt@kline_5m"], "id": "abc"}
        _, reply = await request(ws, {"method": "UNSUBSCRIBE", "id": 8,
                                      "params": ["filusdt@aggTrade"]})
        assert reply == {"result": None, "id": 8}
        clock.advance(1)
        before, reply = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 9})
        assert before  # klines kept coming
        assert {m["e"] for m in before} == {"kline"}
        assert reply == {"result": ["filusdt@kline_5m"], "id": 9}
        _, reply = await request(ws, {"method": "NOPE", "id": 10})
        assert reply["error"]["code"] == 2
        assert reply["id"] == 10


async def test_kline_stream_agrees_with_rest_and_closes_exactly(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/market/ws/filusdt@kline_15m") as ws:
        _, reply = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
        assert reply["result"] == ["filusdt@kline_15m"]
        clock.advance(16)  # 16 virtual minutes: the 15m window open at START_MS closes
        closed = None
        while closed is None:
            event = await next_json(ws)
            if event["k"]["x"]:
                closed = event["k"]
        assert closed["t"] == START_MS
        assert event["E"] == START_MS + 15 * 60_000
        rest = await get_json(http, exchange, "/fapi/v1/klines?symbol=FILUSDT&interval=15m"
                                              f"&startTime={START_MS}&limit=2")
        assert [closed[k] for k in "tohlcvTqnVQ"] == [rest[0][i] for i in range(11)]
        # The latest forming update equals REST's unclosed candle (same replay position).
        before, _ = await request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
        latest = (before[-1] if before else event)["k"]
        now_rest = await get_json(http, exchange, "/fapi/v1/klines?symbol=FILUSDT"
                                                  "&interval=15m&limit=1")
        assert latest["x"] is False
        assert [latest[k] for k in "tohlcvTqnVQ"] == [now_rest[0][i] for i in range(11)]


async def test_server_pings_and_drops_a_client_that_does_not_pong(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    exchange = await make_exchange(ws=HubOptions(ping_interval_s=5, pong_timeout_s=20))
    async with http.ws_connect(exchange.ws_url + "/market/ws", autoping=False) as silent, \
            http.ws_connect(exchange.ws_url + "/market/ws") as polite:
        clock.advance(6)
        ping = await silent.receive(timeout=WAIT)
        assert ping.type is aiohttp.WSMsgType.PING
        # aiohttp answers pings while the application reads: let the polite client read
        _, reply = await request(polite, {"method": "LIST_SUBSCRIPTIONS", "id": 0})
        assert reply == {"result": [], "id": 0}
        clock.advance(21)
        while True:
            msg = await silent.receive(timeout=WAIT)
            if msg.type is not aiohttp.WSMsgType.PING:
                break
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        # the client that answers pings (aiohttp's autoping) is still served
        _, reply = await request(polite, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
        assert reply == {"result": [], "id": 1}


async def test_lifetime_cut_is_announced_by_server_shutdown(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    exchange = await make_exchange(ws=HubOptions(max_lifetime_s=100, shutdown_notice_s=10))
    async with http.ws_connect(exchange.ws_url + "/market/stream") as ws:
        clock.advance(95)
        notice = await next_json(ws)
        assert notice["stream"] == "!serverShutdown"
        assert notice["data"]["e"] == "serverShutdown"
        assert notice["data"]["E"] >= START_MS + 95 * 60_000
        clock.advance(10)
        msg = await ws.receive(timeout=WAIT)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_24_virtual_hours_cut_the_connection(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    exchange = await make_exchange(speed=3600.0)  # a virtual day is 24 wall seconds
    async with http.ws_connect(exchange.ws_url + "/market/ws") as ws:
        clock.advance(23.5)
        assert (await next_json(ws))["e"] == "serverShutdown"
        clock.advance(1)
        msg = await ws.receive(timeout=WAIT)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
