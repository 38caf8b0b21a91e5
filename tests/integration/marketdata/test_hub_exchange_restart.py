"""The local exchange is killed and restarted mid-stream: the hub, on the real Binance client,
delivers every closed candle exactly once, in order, with the archive's values."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.adapters.binance.streams import BinanceMarketStream
from binbot.config.settings import MarketDataSettings
from binbot.domain.market import MINUTE_MS, Market
from binbot.domain.market_events import KlineEvent, MarketEvent, Reconnected
from binbot.domain.streams import StreamKey, StreamKind
from binbot.exchange.server import ExchangeOptions, LocalExchange
from binbot.marketdata.hub import HubHistory, MarketDataHub
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine
from binbot.storage.migrate import upgrade
from binbot.storage.writer import Writer
from tests.integration.service.paper_reference import load_minutes, write_head
from tests.integration.service.test_run_paper_parity import SOURCE

SPEED = 600.0  # ten 1m candles per second
KEY = StreamKey(Market.USDM, "FILUSDT", StreamKind.KLINE, "1m")

pytestmark = pytest.mark.slow


async def test_no_closed_candle_lost_or_repeated_across_an_exchange_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "FILUSDT-1m-head.csv.gz"
    write_head(SOURCE, data, 1440)
    minutes = load_minutes(data)
    start = int(minutes["open_time"].iloc[0])
    anchor = int(time.time() * 1000)

    def options(port: int) -> ExchangeOptions:
        return ExchangeOptions([data], speed=SPEED, port=port, start_ms=start,
                               anchor_wall_ms=anchor, symbols={str(data): "FILUSDT"})

    first = LocalExchange(options(0))
    await first.start()
    port = first.port
    engine = make_engine(f"sqlite:///{tmp_path / 'binbot.db'}")
    upgrade(engine)
    received: list[MarketEvent] = []

    async def consume(batch: list[MarketEvent]) -> None:
        received.extend(batch)

    settings = MarketDataSettings(stale_after_s=2.0, backoff_initial_s=0.1, backoff_max_s=0.5)
    async with aiohttp.ClientSession() as session, Writer(engine) as writer:
        endpoints = local("127.0.0.1", port)
        rest = BinanceRestClient(endpoints, session=session, backoff_initial_s=0.1)
        stream = BinanceMarketStream.from_settings(session, endpoints, settings)
        hub = MarketDataHub(stream, rest, SqlCandleStore(engine, writer), HubHistory(candles=5))
        await hub.start()
        await hub.add_consumer("test", [KEY], consume)
        await asyncio.sleep(3.0)
        await first.stop()  # killed mid-stream: the connection drops, REST fails meanwhile
        await asyncio.sleep(1.5)
        second = LocalExchange(options(port))  # same market clock: it resumes where it would be
        await second.start()
        await asyncio.sleep(4.0)
        virtual_now = second.clock.now_ms()
        await hub.stop()
        await second.stop()
    engine.dispose()

    assert any(isinstance(e, Reconnected) for e in received), "the restart was not noticed"
    closed = [e.candle for e in received if isinstance(e, KlineEvent) and e.candle.closed]
    times = [c.open_time for c in closed]
    assert times == sorted(set(times)), "a closed candle was repeated or out of order"
    assert times[-1] >= virtual_now - 3 * MINUTE_MS, "delivery stopped before the end"
    assert times == list(range(times[0], times[-1] + MINUTE_MS, MINUTE_MS)), "a candle is missing"
    by_time = minutes.set_index("open_time")
    for candle in closed:
        row = by_time.loc[candle.open_time]
        assert (candle.open, candle.high, candle.low, candle.close) == (
            row["open"], row["high"], row["low"], row["close"])
        assert candle.volume == pytest.approx(row["volume"], rel=1e-12)
