"""Every fault kind, through the admin endpoint and the python handle."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from binbot.exchange.server import LocalExchange

from .conftest import ManualClock, get_json

WAIT = 10.0
KLINES = "/fapi/v1/klines?symbol=FILUSDT&interval=1m&limit=2"


async def post_fault(http: aiohttp.ClientSession, exchange: LocalExchange,
                     spec: dict[str, Any], status: int = 200) -> Any:
    async with http.post(exchange.base_url + "/__sim/fault", json=spec) as response:
        body = await response.json()
        assert response.status == status, body
        return body


async def status_of(http: aiohttp.ClientSession, exchange: LocalExchange,
                    path: str = KLINES) -> tuple[int, Any, Any]:
    async with http.get(exchange.base_url + path) as response:
        return response.status, await response.json(content_type=None), response.headers


async def test_429_then_normal_service(exchange: LocalExchange,
                                       http: aiohttp.ClientSession) -> None:
    await post_fault(http, exchange, {"kind": "rest_429", "count": 2, "retry_after": 7})
    for _ in range(2):
        status, body, headers = await status_of(http, exchange)
        assert status == 429
        assert body["code"] == -1003
        assert headers["Retry-After"] == "7"
        assert "X-MBX-USED-WEIGHT-1M" in headers
    status, body, _ = await status_of(http, exchange)
    assert status == 200
    assert len(body) == 2


async def test_418_ban_with_retry_after(exchange: LocalExchange,
                                        http: aiohttp.ClientSession) -> None:
    exchange.faults.rest_418(retry_after=300)
    status, body, headers = await status_of(http, exchange, "/api/v3/time")
    assert status == 418
    assert body["code"] == -1003
    assert "banned until" in body["msg"]
    assert headers["Retry-After"] == "300"


async def test_1021_and_path_filter(exchange: LocalExchange,
                                    http: aiohttp.ClientSession) -> None:
    await post_fault(http, exchange, {"kind": "rest_1021", "path": "/fapi/v1/klines"})
    status, _, _ = await status_of(http, exchange, "/fapi/v1/time")
    assert status == 200  # other endpoints are unaffected
    status, body, _ = await status_of(http, exchange)
    assert (status, body["code"]) == (400, -1021)
    assert body["msg"] == "Timestamp for this request is outside of the recvWindow."


@pytest.mark.parametrize(("variant", "status", "code"), [
    ("unknown", 503, -1000), ("unavailable", 503, -1000), ("internal", 500, -1001),
    ("timeout", 503, -1007), ("overloaded", 503, -1008)])
async def test_5xx_variants(exchange: LocalExchange, http: aiohttp.ClientSession,
                            variant: str, status: int, code: int) -> None:
    exchange.faults.apply({"kind": "rest_5xx", "variant": variant})
    got, body, _ = await status_of(http, exchange)
    assert (got, body["code"]) == (status, code)
    assert set(body) == {"code", "msg"}
    got, _, _ = await status_of(http, exchange)
    assert got == 200


async def test_delay_outlasts_a_client_timeout(exchange: LocalExchange,
                                               http: aiohttp.ClientSession) -> None:
    exchange.faults.rest_delay(seconds=5.0)
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(exchange.base_url + KLINES,
                            timeout=aiohttp.ClientTimeout(total=0.2)) as response:
            await response.read()


async def test_bad_specs_are_refused(exchange: LocalExchange,
                                     http: aiohttp.ClientSession) -> None:
    body = await post_fault(http, exchange, {"kind": "explode"}, status=400)
    assert "unknown fault kind" in body["error"]
    await post_fault(http, exchange, {"kind": "rest_5xx", "variant": "weird"}, status=400)
    await post_fault(http, exchange, {"kind": "rest_429", "count": "many"}, status=400)


async def test_drop_cuts_every_websocket(exchange: LocalExchange, http: aiohttp.ClientSession,
                                         clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/market/ws/filusdt@aggTrade") as a, \
            http.ws_connect(exchange.ws_url + "/ws/filusdt@aggTrade") as b:
        clock.advance(1)
        await a.receive(timeout=WAIT)
        body = await post_fault(http, exchange, {"kind": "drop_ws"})
        assert body["dropped"] == 2
        for ws in (a, b):
            while True:
                msg = await ws.receive(timeout=WAIT)
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR,
                                aiohttp.WSMsgType.CLOSE)
    state = await get_json(http, exchange, "/__sim/state")
    assert state["faults"]["served"]["drops"] == 1


async def test_silence_mutes_data_and_replies_until_cleared(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/market/ws/filusdt@aggTrade",
                               autoping=False) as ws:
        exchange.faults.silence()  # until cleared
        clock.advance(2)
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":1}')
        await ws.ping(b"are you there")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.5)  # neither data, nor the reply, nor a pong
        await post_fault(http, exchange, {"kind": "unsilence"})
        clock.advance(1)
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":2}')
        messages = []
        while True:
            message = orjson.loads((await ws.receive(timeout=WAIT)).data)
            messages.append(message)
            if message.get("id") == 2:
                break
        assert messages[0]["e"] == "aggTrade"  # the market flows again
        assert messages[-1] == {"result": ["filusdt@aggTrade"], "id": 2}


async def test_timed_silence_ends_by_itself(exchange: LocalExchange,
                                            clock: ManualClock) -> None:
    exchange.faults.silence(seconds=30)
    assert exchange.faults.is_silent()
    clock.advance(31)
    assert not exchange.faults.is_silent()


async def test_malformed_frames(exchange: LocalExchange, http: aiohttp.ClientSession,
                                clock: ManualClock) -> None:
    async with http.ws_connect(exchange.ws_url + "/market/ws/filusdt@aggTrade") as ws:
        await post_fault(http, exchange, {"kind": "malformed", "count": 1})
        clock.advance(1)
        broken = await ws.receive(timeout=WAIT)
        assert broken.type is aiohttp.WSMsgType.TEXT
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(broken.data)
        assert orjson.loads((await ws.receive(timeout=WAIT)).data)["e"] == "aggTrade"
    async with http.ws_connect(exchange.ws_url + "/market/ws/filusdt@aggTrade") as ws:
        exchange.faults.malformed(mode="utf8")
        clock.advance(1)
        msg = await ws.receive(timeout=WAIT)
        assert msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE,
                            aiohttp.WSMsgType.CLOSED)  # invalid UTF-8 in a text frame


async def test_state_counts_requests_connections_and_messages(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    await get_json(http, exchange, KLINES)
    await get_json(http, exchange, KLINES)
    async with http.ws_connect(exchange.ws_url + "/market/ws/filusdt@aggTrade") as ws:
        clock.advance(1)
        await ws.receive(timeout=WAIT)
        state = await get_json(http, exchange, "/__sim/state")
        assert state["requests"]["/fapi/v1/klines"] == 2
        assert state["ws"]["connections"] == 1
        assert state["ws"]["messages_sent"] >= 1
        assert state["virtual_time"] == state["clock_time"]
        assert state["symbols"]["FILUSDT"]["candles"] == 43200
    cleared = await post_fault(http, exchange, {"kind": "clear"})
    assert cleared["ok"] is True
