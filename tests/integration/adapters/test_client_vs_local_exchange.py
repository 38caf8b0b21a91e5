"""binbot's Binance client against the local exchange (two independent implementations)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from binbot.adapters.binance.endpoints import Endpoints, local
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.streams import BinanceMarketStream
from binbot.adapters.binance.ws_connection import StreamOptions
from binbot.domain.errors import IPBanned, TimestampError
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
from binbot.exchange.server import ExchangeOptions, LocalExchange

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = (REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
        / "FILUSDT-1m-2025-04.csv.gz")
HISTORY = 3000  # candles the replay has already passed when the exchange starts

KLINE = StreamKey(Market.USDM, "FILUSDT", StreamKind.KLINE, "1m")
TRADES = StreamKey(Market.USDM, "FILUSDT", StreamKind.AGG_TRADE)
BOOK = StreamKey(Market.USDM, "FILUSDT", StreamKind.BOOK_TICKER)


def csv_rows(count: int) -> list[list[str]]:
    with gzip.open(DATA, "rt") as lines:
        next(lines)  # header
        return [next(lines).strip().split(",") for _ in range(count)]


FIRST_OPEN = int(csv_rows(1)[0][0])


@pytest.fixture
async def exchange() -> AsyncIterator[LocalExchange]:
    start = FIRST_OPEN + HISTORY * 60_000
    options = ExchangeOptions(data_files=[DATA], speed=60.0, start_ms=start)
    async with LocalExchange(options) as ex:
        yield ex


@pytest.fixture
def endpoints(exchange: LocalExchange) -> Endpoints:
    return local("127.0.0.1", exchange.port)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


async def fault(session: aiohttp.ClientSession, exchange: LocalExchange, **spec: Any) -> None:
    async with session.post(f"{exchange.base_url}/__sim/fault", json=spec) as resp:
        assert resp.status == 200, await resp.text()


async def next_of(events: AsyncIterator[MarketEvent], kind: type, limit_s: float = 10.0) -> Any:
    async with asyncio.timeout(limit_s):
        async for event in events:
            if isinstance(event, kind):
                return event
    raise AssertionError("stream ended")


async def test_history_pages_match_the_archive(
    endpoints: Endpoints, session: aiohttp.ClientSession
) -> None:
    rest = BinanceRestClient(endpoints, session=session)
    await rest.server_time(Market.USDM)  # calibrates "now" to the exchange's virtual clock
    pages = [p async for p in rest.kline_history(Market.USDM, "FILUSDT", "1m", FIRST_OPEN)]
    assert [len(p) for p in pages] == [1500, 1500, 1]
    candles = [c for page in pages for c in page]
    assert [c.open_time for c in candles] == [
        FIRST_OPEN + i * 60_000 for i in range(HISTORY + 1)
    ]
    assert all(c.closed for c in candles[:-1])
    assert not candles[-1].closed
    for candle, row in zip(candles[:50], csv_rows(50), strict=True):
        assert (candle.open, candle.high, candle.low, candle.close) == tuple(
            float(x) for x in row[1:5]
        )
        assert (candle.volume, candle.trades) == (float(row[5]), int(row[8]))
    spot = [p async for p in rest.kline_history(
        Market.SPOT, "FILUSDT", "1m", FIRST_OPEN, FIRST_OPEN + 2_499 * 60_000)]
    assert [len(p) for p in spot] == [1000, 1000, 500]


async def test_market_data_snapshots_and_instruments(
    endpoints: Endpoints, session: aiohttp.ClientSession
) -> None:
    rest = BinanceRestClient(endpoints, session=session)
    (instrument,) = await rest.instruments(Market.USDM)
    assert instrument.symbol == "FILUSDT"
    assert instrument.trading
    assert rest.rate_limits(Market.USDM)[0].kind == "REQUEST_WEIGHT"
    price = await rest.ticker_price(Market.USDM, "FILUSDT")
    assert price > 0
    book = await rest.depth(Market.USDM, "FILUSDT", 5)
    assert book.bids[0][0] < book.asks[0][0]
    mark = await rest.premium_index("FILUSDT")
    assert mark.symbol == "FILUSDT"
    assert mark.mark_price > 0
    assert rest.gates[Market.USDM].used > 0  # read from X-MBX-USED-WEIGHT-1M


async def test_rest_faults_map_to_domain_errors(
    exchange: LocalExchange, endpoints: Endpoints, session: aiohttp.ClientSession
) -> None:
    rest = BinanceRestClient(endpoints, session=session, backoff_initial_s=0.01,
                             backoff_max_s=0.02)
    await fault(session, exchange, kind="rest_5xx", variant="internal", count=2)
    assert await rest.server_time(Market.USDM) > FIRST_OPEN  # two retries, then success
    await fault(session, exchange, kind="rest_429", retry_after=1)
    await rest.server_time(Market.USDM)  # waits out Retry-After, then succeeds
    gate = rest.gates[Market.USDM]
    assert gate.closed_until > 0
    assert gate.waited_s > 0
    await fault(session, exchange, kind="rest_1021")
    with pytest.raises(TimestampError):
        await rest.server_time(Market.USDM)
    await fault(session, exchange, kind="rest_418", retry_after=120)
    with pytest.raises(IPBanned) as banned:
        await rest.server_time(Market.SPOT)
    assert banned.value.retry_after > 0


async def test_streams_deliver_and_reconnect_after_a_drop(
    exchange: LocalExchange, endpoints: Endpoints, session: aiohttp.ClientSession
) -> None:
    options = StreamOptions(stale_after_s=10.0, backoff_initial_s=0.05, backoff_max_s=0.2)
    async with BinanceMarketStream(session, endpoints, options=options) as stream:
        events = stream.events()
        await stream.subscribe([KLINE, TRADES, BOOK])
        trade = await next_of(events, TradeEvent)
        assert trade.symbol == "FILUSDT"
        assert trade.price > 0
        assert (await next_of(events, BookTickerEvent)).symbol == "FILUSDT"
        kline = await next_of(events, KlineEvent)
        assert kline.candle.interval == "1m"
        assert kline.candle.market is Market.USDM
        await fault(session, exchange, kind="drop_ws")
        reconnected = await next_of(events, Reconnected)
        assert set(reconnected.streams) <= {KLINE, TRADES, BOOK}
        assert await next_of(events, TradeEvent)


async def test_silent_exchange_is_detected_and_recovered(
    exchange: LocalExchange, endpoints: Endpoints, session: aiohttp.ClientSession
) -> None:
    options = StreamOptions(stale_after_s=1.0, backoff_initial_s=0.05, backoff_max_s=0.2)
    async with BinanceMarketStream(session, endpoints, options=options) as stream:
        events = stream.events()
        await stream.subscribe([TRADES])
        await next_of(events, TradeEvent)
        await fault(session, exchange, kind="silence", seconds=2.5)
        stale = await next_of(events, StaleData)
        assert stale.streams == (TRADES,)
        assert (await next_of(events, Reconnected)).streams == (TRADES,)
        assert await next_of(events, TradeEvent)
