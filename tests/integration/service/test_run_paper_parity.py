"""End to end: the local exchange replays real candles, ``binbot run`` trades them on paper, and
the recorded trades equal those of feeding the same prices straight into the strategy."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from binbot.bootstrap import ServiceHandle, run_service
from binbot.config import load_settings
from binbot.domain.market import Market
from binbot.exchange.server import ExchangeOptions, LocalExchange
from tests.integration.service.paper_reference import (
    Trade,
    last_tick_ms,
    load_minutes,
    replay,
    write_head,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
SOURCE = SHARED / "data/klines/binance-um-1m/FILUSDT-1m-2025-04.csv.gz"
MINUTES = 4 * 1440  # four days of 1m candles
SPEED = 30_000.0  # virtual seconds per wall second: four days in about 12 s

pytestmark = pytest.mark.slow


def recorded_trades(db: Path) -> list[Trade]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT action, time_ms, price, quantity FROM trades ORDER BY id")).all()
    engine.dispose()
    return [Trade(a, int(t), Decimal(p), Decimal(q)) for a, t, p, q in rows]


async def test_paper_trades_through_local_exchange_equal_direct_replay(tmp_path: Path) -> None:
    data = tmp_path / "FILUSDT-1m-head.csv.gz"
    write_head(SOURCE, data, MINUTES)
    minutes = load_minutes(data)
    last_tick = last_tick_ms(minutes)
    exchange = LocalExchange(ExchangeOptions([data], speed=SPEED, symbols={str(data): "FILUSDT"}))
    await exchange.start()
    settings = load_settings(
        None, env_file=None, data_dir=tmp_path / "data",
        exchange={"venue": "local", "local_port": exchange.port},
        api={"enabled": False},
        # At 30,000x the exchange sends 30,000 mark prices a second; paper values positions at
        # the last trade price instead, as the backtest and the reference do.
        paper={"use_mark_price": False},
        bots=[{"id": "boll-fil", "symbol": "FILUSDT", "interval": "15m", "strategy": "boll",
               "params": {"period": 20, "k": 2.0, "quote_amount": "100"}}],
    )
    stop = asyncio.Event()
    ready: asyncio.Future[ServiceHandle] = asyncio.get_running_loop().create_future()
    service = asyncio.create_task(run_service(settings, stop, ready))
    try:
        handle = await asyncio.wait_for(ready, 30)
        runner = handle.runtime.runners[0]
        for _ in range(600):
            if runner.core.time >= last_tick and exchange.clock.now_ms() > last_tick + 60_000:
                break
            await asyncio.sleep(0.1)
        assert runner.core.time >= last_tick, "the bot did not see the whole replay"
        first_tape = runner.first_tape_ms
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        await exchange.stop()
    assert first_tape is not None
    live = recorded_trades(tmp_path / "data" / "binbot.db")
    instrument = runner.instrument
    assert instrument.market is Market.USDM
    expected = replay(minutes, instrument, "15m", "boll",
                      {"period": 20, "k": 2.0, "quote_amount": "100"}, Decimal(1000), first_tape)
    assert len(expected) > 20, "the reference made too few trades to prove anything"
    assert live == expected
