"""A restarted exchange given the same start and anchor resumes the same market."""

from __future__ import annotations

import aiohttp

from .conftest import START_MS, MakeExchange, ManualClock, get_json

PATHS = (
    "/fapi/v1/klines?symbol=FILUSDT&interval=5m&limit=20",
    "/fapi/v1/aggTrades?symbol=FILUSDT&limit=30",
    "/api/v3/ticker/price?symbol=FILUSDT",
    "/fapi/v1/time",
)


async def snapshot(http: aiohttp.ClientSession, exchange: object) -> list[object]:
    return [await get_json(http, exchange, path) for path in PATHS]  # type: ignore[arg-type]


async def test_restart_with_the_same_anchor_resumes_where_the_market_would_be(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    first = await make_exchange()
    clock.advance(37.25)  # 37.25 virtual minutes
    before = await snapshot(http, first)
    await first.stop()
    second = await make_exchange()  # same start_ms, anchor and (manual) wall clock
    after = await snapshot(http, second)
    assert after == before
    assert before[3] == {"serverTime": START_MS + int(37.25 * 60_000)}
    # and it keeps going from there, streaming trades newer than what REST showed
    async with http.ws_connect(second.ws_url + "/market/ws/filusdt@aggTrade") as ws:
        clock.advance(1)
        trade = (await ws.receive_json(timeout=10.0))
    assert trade["a"] == before[1][-1]["a"] + 1  # type: ignore[index]


async def test_a_later_anchor_starts_later(make_exchange: MakeExchange,
                                           http: aiohttp.ClientSession,
                                           clock: ManualClock) -> None:
    anchor = int(clock() * 1000) - 10_000  # the market started 10 wall seconds ago
    exchange = await make_exchange(anchor_wall_ms=anchor)
    assert (await get_json(http, exchange, "/api/v3/time"))["serverTime"] == START_MS + 600_000
