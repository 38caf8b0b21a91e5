"""``binbot run`` killed with SIGKILL mid-replay and started again trades exactly like a run
that was never interrupted: state comes back from the database and the prices missed while it
was down are replayed before live trading resumes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from binbot.adapters.binance.endpoints import local
from binbot.adapters.binance.rest import BinanceRestClient
from binbot.domain.market import Market
from binbot.exchange.server import ExchangeOptions, LocalExchange
from tests.integration.service.paper_reference import (
    Trade,
    last_tick_ms,
    load_minutes,
    replay,
    write_head,
)
from tests.integration.service.test_run_paper_parity import SOURCE, recorded_trades

MINUTES = 4 * 1440
SPEED = 30_000.0
LEAD_S = 25.0  # the market opens this long after the exchange starts, once the service is in

pytestmark = pytest.mark.slow

CONFIG = """
data_dir = "{data_dir}"
[exchange]
venue = "local"
local_port = {port}
[api]
enabled = false
[paper]
use_mark_price = false
[[bots]]
id = "boll-fil"
symbol = "FILUSDT"
interval = "15m"
strategy = "boll"
params = {{ period = 20, k = 2.0, quote_amount = "100" }}
"""


async def spawn(config: Path, log: Path) -> asyncio.subprocess.Process:
    handle = log.open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "binbot", "run", "-c", str(config),
        stdout=handle, stderr=handle, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def last_event_ms(db: Path) -> int:
    if not db.exists():
        return 0
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT max(last_event_ms) FROM bot_state")).first()
    except Exception:
        return 0
    finally:
        engine.dispose()
    return int(row[0]) if row and row[0] is not None else 0


async def test_sigkill_and_restart_gives_the_same_trades_as_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    data = tmp_path / "FILUSDT-1m-head.csv.gz"
    write_head(SOURCE, data, MINUTES)
    minutes = load_minutes(data)
    first_open = int(minutes["open_time"].iloc[0])
    last_tick = last_tick_ms(minutes)
    anchor = int((time.time() + LEAD_S) * 1000)
    exchange = LocalExchange(ExchangeOptions([data], speed=SPEED, start_ms=first_open,
                                             anchor_wall_ms=anchor,
                                             symbols={str(data): "FILUSDT"}))
    await exchange.start()
    config = tmp_path / "binbot.toml"
    config.write_text(CONFIG.format(data_dir=tmp_path / "data", port=exchange.port))
    db = tmp_path / "data" / "binbot.db"
    log = tmp_path / "service.log"
    try:
        first = await spawn(config, log)
        # The market must not move before the first run is subscribed, so the uninterrupted
        # reference sees the same prices from the very first one.
        while exchange.state()["ws"]["connections"] == 0 and time.time() * 1000 < anchor:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert time.time() * 1000 < anchor - 1000, "the service took too long to start"
        # Let it trade for a while (a few hundred virtual minutes past the warm-up), then kill.
        kill_at = first_open + 2 * 1440 * 60_000
        await asyncio.sleep(exchange.clock.wall_seconds_until(kill_at))
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = last_event_ms(db)
        assert first_open < killed_at < last_tick, "the kill did not land mid-replay"
        await asyncio.sleep(1.0)  # the market moves on while the service is down
        second = await spawn(config, log)
        # Wait for the replay to end and the service to have processed its last price (it
        # checkpoints its position in the tape every few seconds), then stop it cleanly.
        await asyncio.sleep(exchange.clock.wall_seconds_until(last_tick + 60_000))
        for _ in range(600):
            if last_event_ms(db) == last_tick:
                break
            await asyncio.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0
        async with BinanceRestClient(local("127.0.0.1", exchange.port)) as rest:
            instrument = next(i for i in await rest.instruments(Market.USDM)
                              if i.symbol == "FILUSDT")
    finally:
        await exchange.stop()
    assert last_event_ms(db) == last_tick, log.read_text()[-3000:]
    live = recorded_trades(db)
    expected: list[Trade] = replay(minutes, instrument, "15m", "boll",
                                   {"period": 20, "k": 2.0, "quote_amount": "100"},
                                   Decimal(1000), first_open)
    assert len(expected) > 20
    assert [t for t in live if t.time_ms <= killed_at], "nothing was traded before the kill"
    assert live == expected
