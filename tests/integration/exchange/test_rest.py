"""REST market data of the local exchange against Binance's recorded payloads and the data."""

from __future__ import annotations

import gzip
import itertools
from decimal import Decimal

import aiohttp
import pytest

from binbot.domain.market import interval_start
from binbot.exchange.server import LocalExchange

from .conftest import (
    FIL,
    START_MS,
    MakeExchange,
    ManualClock,
    assert_same_shape,
    fixture,
    get_json,
)

REC = "recorded/http_responses/"


async def test_ping_and_time_follow_the_virtual_clock(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    assert await get_json(http, exchange, "/fapi/v1/ping") == {}
    assert await get_json(http, exchange, "/api/v3/ping") == {}
    assert await get_json(http, exchange, "/api/v3/time") == {"serverTime": START_MS}
    clock.advance(10)
    assert await get_json(http, exchange, "/fapi/v1/time") == {"serverTime": START_MS + 600_000}
    assert_same_shape(await get_json(http, exchange, "/api/v3/time"),
                      fixture(REC + "http_spot_market_time.json"))


async def test_exchange_info_has_binance_shape_and_filters_from_the_data(
        exchange: LocalExchange, http: aiohttp.ClientSession) -> None:
    for path, name in (("/fapi/v1/exchangeInfo", "http_futures_market_exchange_info.json"),
                       ("/api/v3/exchangeInfo", "http_spot_market_exchange_info.json")):
        ours = await get_json(http, exchange, path)
        ref = fixture(REC + name)
        assert set(ours) == set(ref)
        assert_same_shape(ours["rateLimits"], ref["rateLimits"])
        symbol, ref_symbol = ours["symbols"][0], ref["symbols"][0]
        assert set(symbol) == set(ref_symbol)
        ref_filters = {f["filterType"]: f for f in ref_symbol["filters"]}
        for item in symbol["filters"]:
            assert_same_shape(item, ref_filters[item["filterType"]])
        assert symbol["symbol"] == "FILUSDT"
        assert ours["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    usdm = (await get_json(http, exchange, "/fapi/v1/exchangeInfo"))["symbols"][0]
    filters = {f["filterType"]: f for f in usdm["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.001"  # the file prints 3 decimals
    assert filters["LOT_SIZE"]["stepSize"] == "0.1"
    assert (usdm["baseAsset"], usdm["quoteAsset"]) == ("FIL", "USDT")
    spot = (await get_json(http, exchange, "/api/v3/exchangeInfo?symbol=FILUSDT"))["symbols"]
    assert spot[0]["filters"][0]["tickSize"] == "0.00100000"


@pytest.mark.parametrize(("path", "name"), [
    ("/fapi/v1/klines?symbol=FILUSDT&interval=1m&limit=5", "http_futures_market_klines.json"),
    ("/fapi/v1/continuousKlines?pair=FILUSDT&contractType=PERPETUAL&interval=5m",
     "http_futures_market_continuous_klines.json"),
    ("/api/v3/klines?symbol=FILUSDT&interval=1h&limit=3", "http_spot_market_klines.json"),
    ("/fapi/v1/ticker/price?symbol=FILUSDT", "http_futures_market_ticker_price.json"),
    ("/api/v3/ticker/price?symbol=FILUSDT", "http_spot_market_ticker_price.json"),
    ("/fapi/v1/ticker/bookTicker?symbol=FILUSDT", "http_futures_market_book_ticker.json"),
    ("/api/v3/ticker/bookTicker?symbol=FILUSDT", "http_spot_market_book_ticker.json"),
    ("/fapi/v1/depth?symbol=FILUSDT&limit=10", "http_futures_market_depth.json"),
    ("/api/v3/depth?symbol=FILUSDT", "http_spot_market_depth.json"),
    ("/fapi/v1/premiumIndex?symbol=FILUSDT", "http_futures_market_premium_index.json"),
    ("/fapi/v1/aggTrades?symbol=FILUSDT&limit=7", "http_futures_market_agg_trades.json"),
    ("/api/v3/aggTrades?symbol=FILUSDT&limit=7", "http_spot_market_agg_trades.json"),
    ("/api/v3/avgPrice?symbol=FILUSDT", "http_spot_market_avg_price.json"),
])
async def test_market_data_matches_recorded_shapes(
        exchange: LocalExchange, http: aiohttp.ClientSession, path: str, name: str) -> None:
    ours = await get_json(http, exchange, path)
    assert ours, "an empty answer proves nothing"
    assert_same_shape(ours, fixture(REC + name))


async def test_symbol_less_tickers_list_every_symbol(
        exchange: LocalExchange, http: aiohttp.ClientSession) -> None:
    rows = await get_json(http, exchange, "/fapi/v1/premiumIndex")
    assert [r["symbol"] for r in rows] == ["FILUSDT"]
    rows = await get_json(http, exchange, "/api/v3/ticker/price")
    assert isinstance(rows, list)


@pytest.mark.parametrize(("path", "code"), [
    ("/fapi/v1/klines?symbol=NOPEUSDT&interval=1m", -1121),
    ("/api/v3/depth?symbol=NOPEUSDT", -1121),
    ("/fapi/v1/klines?interval=1m", -1102),
    ("/fapi/v1/klines?symbol=FILUSDT", -1102),
    ("/fapi/v1/klines?symbol=FILUSDT&interval=7m", -1120),
    ("/api/v3/klines?symbol=FILUSDT&interval=1m&limit=abc", -1100),
    ("/fapi/v1/klines?symbol=FILUSDT&interval=1m&startTime=-5", -1100),
    ("/fapi/v1/continuousKlines?pair=FILUSDT&contractType=WEEKLY&interval=1m", -1100),
    ("/fapi/v1/aggTrades?symbol=FILUSDT&startTime=0&endTime=7200000", -1127),
])
async def test_errors_are_binance_errors(exchange: LocalExchange, http: aiohttp.ClientSession,
                                         path: str, code: int) -> None:
    body = await get_json(http, exchange, path, status=400)
    assert body["code"] == code
    assert isinstance(body["msg"], str)
    assert body["msg"]
    assert set(body) == {"code", "msg"}


async def test_weight_is_counted_per_minute_and_429_when_exceeded(
        make_exchange: MakeExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    exchange = await make_exchange(weight_limit_usdm=12)
    weights = []
    for _ in range(2):
        async with http.get(exchange.base_url + "/fapi/v1/klines?symbol=FILUSDT&interval=1m"
                                                "&limit=500") as response:
            assert response.status == 200
            weights.append(int(response.headers["X-MBX-USED-WEIGHT-1M"]))
    assert weights == [5, 10]
    async with http.get(exchange.base_url + "/fapi/v1/depth?symbol=FILUSDT&limit=1000") as r:
        assert r.status == 429
        assert (await r.json())["code"] == -1003
        retry_after = int(r.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "10"
    # spot is another server with its own budget
    async with http.get(exchange.base_url + "/api/v3/ping") as r:
        assert r.status == 200
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    clock.advance(retry_after)
    async with http.get(exchange.base_url + "/fapi/v1/ping") as r:
        assert r.status == 200
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "1"


def file_rows(count: int) -> list[list[str]]:
    with gzip.open(FIL, "rt") as handle:
        next(handle)
        return [next(handle).strip().split(",") for _ in range(count)]


async def test_klines_limits_and_pagination(exchange: LocalExchange, http: aiohttp.ClientSession,
                                            clock: ManualClock) -> None:
    base = "/fapi/v1/klines?symbol=FILUSDT&interval=1m"
    latest = await get_json(http, exchange, base)
    assert len(latest) == 500  # default limit
    assert latest[-1][0] == START_MS  # the forming candle of virtual now is last
    assert len(await get_json(http, exchange, base + "&limit=5000")) == HISTORY_LIMIT_USDM
    spot = await get_json(http, exchange, "/api/v3/klines?symbol=FILUSDT&interval=1m&limit=5000")
    assert len(spot) == 601  # nothing after now: 600 closed + the forming one (< 1000)
    first = int(file_rows(1)[0][0])
    pages: list[list[object]] = []
    start = first
    while True:
        page = await get_json(http, exchange, f"{base}&startTime={start}&limit=100")
        if not page:
            break
        pages.extend(page)
        start = int(page[-1][0]) + 1  # type: ignore[call-overload]
    assert [row[0] for row in pages] == [first + 60_000 * i for i in range(601)]
    rows = file_rows(600)
    assert [r[:5] for r in pages[:600]] == [[int(r[0]), *r[1:5]] for r in rows]
    assert [Decimal(str(r[5])) for r in pages[:600]] == [Decimal(r[5]) for r in rows]
    ending = await get_json(http, exchange, f"{base}&endTime={first + 59 * 60_000}&limit=10")
    assert [row[0] for row in ending] == [first + 60_000 * i for i in range(50, 60)]
    window = await get_json(http, exchange, f"{base}&startTime={first + 30_000}"
                                            f"&endTime={first + 180_000}")
    assert [row[0] for row in window] == [first + 60_000, first + 120_000, first + 180_000]
    clock.advance(2)  # two virtual minutes later the replay has moved on
    assert (await get_json(http, exchange, base + "&limit=1"))[0][0] == START_MS + 120_000


HISTORY_LIMIT_USDM = 601  # 600 history candles + the forming one; the cap is 1500


async def test_rest_klines_equal_the_file_aggregated(
        exchange: LocalExchange, http: aiohttp.ClientSession) -> None:
    rows = file_rows(600)
    bars = await get_json(http, exchange, "/fapi/v1/klines?symbol=FILUSDT&interval=15m"
                                          f"&startTime={int(rows[0][0])}&limit=40")
    closed = [b for b in bars if b[6] < START_MS]
    assert len(closed) == 40
    for bar in closed:
        members = [r for r in rows if interval_start(int(r[0]), "15m") == bar[0]]
        assert len(members) == 15
        assert Decimal(bar[1]) == Decimal(members[0][1])
        assert Decimal(bar[2]) == max(Decimal(r[2]) for r in members)
        assert Decimal(bar[3]) == min(Decimal(r[3]) for r in members)
        assert Decimal(bar[4]) == Decimal(members[-1][4])
        assert Decimal(bar[5]) == sum(Decimal(r[5]) for r in members)
        assert Decimal(bar[7]) == sum(Decimal(r[7]) for r in members)
        assert bar[8] == sum(int(r[8]) for r in members)
        assert Decimal(bar[9]) == sum(Decimal(r[9]) for r in members)
        assert Decimal(bar[10]) == sum(Decimal(r[10]) for r in members)


async def test_forming_kline_agrees_with_ticker_and_trades(
        exchange: LocalExchange, http: aiohttp.ClientSession, clock: ManualClock) -> None:
    clock.advance(0.5)  # half a virtual minute into a candle
    kline = (await get_json(http, exchange, "/fapi/v1/klines?symbol=FILUSDT&interval=1m"
                                            "&limit=1"))[0]
    price = (await get_json(http, exchange, "/fapi/v1/ticker/price?symbol=FILUSDT"))["price"]
    trades = await get_json(http, exchange, f"/fapi/v1/aggTrades?symbol=FILUSDT"
                                            f"&startTime={kline[0]}")
    assert kline[4] == price == trades[-1]["p"]
    assert Decimal(kline[5]) == sum(Decimal(t["q"]) for t in trades)
    assert len(trades) < 4  # the candle is not complete yet


async def test_agg_trades_pages_by_id_without_gaps(
        exchange: LocalExchange, http: aiohttp.ClientSession) -> None:
    collected = []
    from_id = 1
    while len(collected) < 1500:
        page = await get_json(http, exchange, f"/fapi/v1/aggTrades?symbol=FILUSDT"
                                              f"&fromId={from_id}&limit=1000")
        collected.extend(page)
        from_id = page[-1]["a"] + 1
    ids = [t["a"] for t in collected]
    assert ids == list(range(1, len(ids) + 1))
    assert all(b["f"] == a["l"] + 1 for a, b in itertools.pairwise(collected))
    assert all(t["T"] <= START_MS for t in collected)
