"""Issue 4's parity: on the same data, the backtest's trades equal those of paper trading through
the local exchange, trade for trade (times, sides, prices, quantities)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from binbot.backtest import BacktestConfig, run_backtest
from binbot.bootstrap import ServiceHandle, run_service
from binbot.config import load_settings
from binbot.exchange.server import ExchangeOptions, LocalExchange
from tests.integration.service.paper_reference import (
    Trade,
    last_tick_ms,
    load_minutes,
    write_head,
)
from tests.integration.service.test_run_paper_parity import SOURCE, recorded_trades

MINUTES = 3 * 1440
SPEED = 30_000.0
LEAD_S = 4.0  # the market opens once the in-process service is subscribed
PARAMS = {"period": 20, "k": 2.0, "quote_amount": "100"}

pytestmark = pytest.mark.slow


async def test_backtest_trades_equal_paper_trades_through_the_local_exchange(
    tmp_path: Path,
) -> None:
    data = tmp_path / "FILUSDT-1m-2025-04.csv.gz"  # the first days of that month
    write_head(SOURCE, data, MINUTES)
    minutes = load_minutes(data)
    first_open = int(minutes["open_time"].iloc[0])
    last_tick = last_tick_ms(minutes)
    anchor = int((time.time() + LEAD_S) * 1000)
    exchange = LocalExchange(ExchangeOptions([data], speed=SPEED, start_ms=first_open,
                                             anchor_wall_ms=anchor,
                                             symbols={str(data): "FILUSDT"}))
    await exchange.start()
    settings = load_settings(
        None, env_file=None, data_dir=tmp_path / "data",
        exchange={"venue": "local", "local_port": exchange.port},
        api={"enabled": False}, paper={"use_mark_price": False},
        bots=[{"id": "boll-fil", "symbol": "FILUSDT", "interval": "15m", "strategy": "boll",
               "params": PARAMS}],
    )
    stop = asyncio.Event()
    ready: asyncio.Future[ServiceHandle] = asyncio.get_running_loop().create_future()
    service = asyncio.create_task(run_service(settings, stop, ready))
    try:
        handle = await asyncio.wait_for(ready, 30)
        assert time.time() * 1000 < anchor, "the service was not subscribed before the open"
        runner = handle.runtime.runners[0]
        await asyncio.sleep(exchange.clock.wall_seconds_until(last_tick + 60_000))
        for _ in range(100):
            if runner.core.time >= last_tick:
                break
            await asyncio.sleep(0.1)
        assert runner.first_tape_ms == first_open
        instrument = runner.instrument
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        await exchange.stop()
    paper = recorded_trades(tmp_path / "data" / "binbot.db")
    result = run_backtest(
        BacktestConfig(strategy="boll", params=PARAMS, symbol="FILUSDT", interval="15m",
                       data_files=(data,), price_path="ohlc", capital=Decimal(1000),
                       warmup_candles=0),
        instrument=instrument,
    )
    rows = [t.to_dict() for t in result.trades]
    backtest = [Trade(t["action"], int(t["time_ms"]), Decimal(str(t["price"])),
                      Decimal(str(t["qty"]))) for t in rows]
    assert len(backtest) > 20
    assert paper == backtest
