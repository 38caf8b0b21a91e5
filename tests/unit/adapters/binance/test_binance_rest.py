from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.weights import WeightGate
from binbot.domain.candle import Candle
from binbot.domain.errors import (
    IPBanned,
    RateLimited,
    Rejected,
    TimestampError,
    TransientError,
)
from binbot.domain.market import Market
from tests.unit.adapters.binance.fakes import FakeRest, FakeTime, Fault, start_app

FIRST = 1_600_000_000_000 - 1_600_000_000_000 % 60_000
COUNT = 4_321


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeRest, int]]:
    fake = FakeRest(FIRST, COUNT)
    runner, port = await start_app(fake.app)
    try:
        yield fake, port
    finally:
        await runner.cleanup()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def client(
    server: tuple[FakeRest, int], fake_time: FakeTime
) -> AsyncIterator[BinanceRestClient]:
    gates = {m: WeightGate(6000, wall=fake_time.wall, sleep=fake_time.sleep) for m in Market}
    async with BinanceRestClient(
        local("127.0.0.1", server[1]), gates=gates, max_attempts=3,
        backoff_initial_s=0.001, backoff_max_s=0.004,
    ) as rest:
        yield rest


async def collect(pages: AsyncIterator[list[Candle]]) -> list[list[Candle]]:
    return [page async for page in pages]


async def test_history_pages_have_no_duplicates_or_holes(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    pages = await collect(client.kline_history(Market.USDM, "BTCUSDT", "1m", FIRST))
    assert [len(p) for p in pages] == [1500, 1500, 1321]
    times = [c.open_time for page in pages for c in page]
    assert times == list(fake.open_times())
    assert all(c.closed for page in pages for c in page)
    assert len(fake.requests) == 4  # the last full page of closed candles asks once more
    first = fake.requests[0]
    assert first.path == "/fapi/v1/klines"
    assert first.raw_query == f"symbol=BTCUSDT&interval=1m&startTime={FIRST}&limit=1500"
    assert fake.requests[1].query["startTime"] == str(FIRST + 1500 * 60_000)


async def test_history_within_bounds_and_spot_page_size(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    start = FIRST + 10 * 60_000 + 5  # not aligned: the first candle opens after it
    end = FIRST + 2_509 * 60_000
    pages = await collect(client.kline_history(Market.SPOT, "BTCUSDT", "1m", start, end))
    assert [len(p) for p in pages] == [1000, 1000, 499]
    times = [c.open_time for page in pages for c in page]
    assert times[0] == FIRST + 11 * 60_000
    assert times[-1] == end
    assert len(times) == len(set(times)) == 2_499
    assert {r.path for r in fake.requests} == {"/api/v3/klines"}
    assert len(fake.requests) == 3  # the cursor passed end_ms: no extra request


async def test_history_survives_a_lower_server_page_cap(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    fake.max_limit = 1000
    pages = await collect(client.kline_history(Market.USDM, "BTCUSDT", "1m", FIRST))
    times = [c.open_time for page in pages for c in page]
    assert times == list(fake.open_times())


async def test_forming_last_candle_ends_history(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    last_close = FIRST + COUNT * 60_000 - 1
    fake.server_time_ms = last_close - 30_000  # the server is inside the last candle
    await client.server_time(Market.USDM)  # calibrates the clock offset to the server
    pages = await collect(client.kline_history(Market.USDM, "BTCUSDT", "1m", FIRST))
    assert pages[-1][-1].closed is False
    assert all(c.closed for c in pages[-1][:-1])
    assert sum(1 for r in fake.requests if r.path.endswith("klines")) == 3


async def test_rate_limited_read_waits_exactly_retry_after_then_succeeds(
    server: tuple[FakeRest, int], client: BinanceRestClient, fake_time: FakeTime
) -> None:
    fake, _ = server
    fake.faults.append(Fault(429, {"code": -1003, "msg": "Too many"}, {"Retry-After": "7"}))
    candles = await client.klines(Market.USDM, "BTCUSDT", "1m", FIRST, limit=3)
    assert [c.open_time for c in candles] == [FIRST, FIRST + 60_000, FIRST + 120_000]
    assert fake_time.sleeps == [7.0]
    assert len(fake.requests) == 2


async def test_rate_limit_that_persists_raises_rate_limited(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    fake.faults.extend(
        Fault(429, {"code": -1003, "msg": "Too many"}, {"Retry-After": "3"}) for _ in range(3)
    )
    with pytest.raises(RateLimited) as caught:
        await client.klines(Market.USDM, "BTCUSDT", "1m", FIRST, limit=3)
    assert caught.value.retry_after == 3.0
    assert len(fake.requests) == 3


async def test_ip_ban_stops_at_once_and_closes_the_gate(
    server: tuple[FakeRest, int], client: BinanceRestClient, fake_time: FakeTime
) -> None:
    fake, _ = server
    fake.faults.append(Fault(418, {"code": -1003, "msg": "banned"}, {"Retry-After": "120"}))
    with pytest.raises(IPBanned) as caught:
        await client.server_time(Market.SPOT)
    assert caught.value.retry_after == 120.0
    assert len(fake.requests) == 1
    assert client.gates[Market.SPOT].closed_until == fake_time.now + 120.0
    await client.server_time(Market.SPOT)
    assert fake_time.sleeps == [120.0]


async def test_timestamp_error_is_typed_and_not_retried(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    fake.faults.append(Fault(400, {"code": -1021, "msg": "Timestamp outside recvWindow"}))
    with pytest.raises(TimestampError):
        await client.server_time(Market.USDM)
    assert len(fake.requests) == 1


async def test_reads_retry_5xx_with_bounded_attempts(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    fake.faults.extend([Fault(502, "<html>Bad Gateway</html>"), Fault(503, {"code": -1001,
                        "msg": "Internal error; unable to process your request."})])
    assert await client.server_time(Market.USDM) == fake.server_time_ms
    assert len(fake.requests) == 3
    fake.faults.extend(Fault(500, "oops") for _ in range(3))
    with pytest.raises(TransientError):
        await client.server_time(Market.USDM)
    assert len(fake.requests) == 6


async def test_rejection_is_not_retried(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    fake.faults.append(Fault(400, {"code": -1121, "msg": "Invalid symbol."}))
    with pytest.raises(Rejected) as caught:
        await client.ticker_price(Market.SPOT, "NOPE")
    assert caught.value.code == -1121
    assert len(fake.requests) == 1


async def test_network_failure_is_transient_after_retries(fake_time: FakeTime) -> None:
    runner, port = await start_app(web.Application())
    await runner.cleanup()  # nothing listens on this port any more
    gates = {m: WeightGate(6000, wall=fake_time.wall, sleep=fake_time.sleep) for m in Market}
    async with BinanceRestClient(
        local("127.0.0.1", port), gates=gates, max_attempts=2, backoff_initial_s=0.001,
        backoff_max_s=0.002,
    ) as rest:
        with pytest.raises(TransientError):
            await rest.server_time(Market.SPOT)


async def test_exchange_info_configures_the_gate_and_exposes_limits(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    instruments = await client.instruments(Market.SPOT)
    assert [i.symbol for i in instruments] == ["BTCUSDT", "ETHUSDT"]
    limits = client.rate_limits(Market.SPOT)
    assert next((r.kind, r.interval, r.limit) for r in limits) == ("REQUEST_WEIGHT", "MINUTE", 1200)
    assert client.gates[Market.SPOT].limit == 1200
    futures = await client.instruments(Market.USDM)
    assert futures[0].tick_size == Decimal("0.10")
    assert client.gates[Market.USDM].limit == 6000
    assert client.gates[Market.USDM].used == server[0].used_weight


async def test_snapshot_endpoints(server: tuple[FakeRest, int], client: BinanceRestClient) -> None:
    fake, _ = server
    assert await client.ticker_price(Market.USDM, "BTCUSDT") == Decimal("6000.01")
    assert await client.ticker_price(Market.SPOT, "BTCUSDT") == Decimal("60740.00000000")
    book = await client.depth(Market.USDM, "BTCUSDT", 1000)
    assert book.last_update_id == 1027024
    assert book.bids == ((4.0, 431.0),)
    mark = await client.premium_index("BTCUSDT")
    assert mark.mark_price == 11793.63104562
    assert mark.next_funding_time == 1597392000000
    assert [r.path for r in fake.requests] == [
        "/fapi/v1/ticker/price", "/api/v3/ticker/price", "/fapi/v1/depth", "/fapi/v1/premiumIndex"
    ]
    assert fake.requests[2].raw_query == "symbol=BTCUSDT&limit=1000"


async def test_continuous_klines_and_server_time_clock(
    server: tuple[FakeRest, int], client: BinanceRestClient
) -> None:
    fake, _ = server
    candles = await client.continuous_klines("BTCUSDT", "1m", FIRST, limit=2)
    assert [c.open_time for c in candles] == [FIRST, FIRST + 60_000]
    assert candles[0].market is Market.USDM
    assert candles[0].symbol == "BTCUSDT"
    assert fake.requests[0].raw_query == (
        f"pair=BTCUSDT&contractType=PERPETUAL&interval=1m&startTime={FIRST}&limit=2"
    )
    assert not client.clock.has_samples
    assert await client.server_time(Market.SPOT) == fake.server_time_ms
    assert client.clock.has_samples


async def test_shared_session_is_not_closed_by_the_client(server: tuple[FakeRest, int]) -> None:
    async with aiohttp.ClientSession() as session:
        rest = BinanceRestClient(local("127.0.0.1", server[1]), session=session)
        await rest.server_time(Market.SPOT)
        await rest.close()
        assert not session.closed


async def test_client_from_settings_uses_the_configured_venue() -> None:
    from binbot.config.settings import ExchangeSettings

    settings = ExchangeSettings(venue="local", local_port=9123, request_timeout_s=3.0)
    rest = BinanceRestClient.from_settings(settings)
    assert rest.endpoints.rest_usdm == "http://127.0.0.1:9123"
    await rest.close()
