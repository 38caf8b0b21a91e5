"""A bot switched from paper to testnet mode, run by ``binbot run`` against the local exchange
with its keys in ``.env``: it trades, is killed with SIGKILL, restarts and carries on with
nothing duplicated and nothing lost (issue 7, "tried as a new user would")."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from binbot.exchange.accounts import AccountSpec
from binbot.exchange.server import ExchangeOptions, LocalExchange

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = REPO_ROOT.parent / "shared/data/klines/binance-um-1m/FILUSDT-1m-2025-04.csv.gz"
KEY, SECRET = "testnet-key-7d1e", "testnet-secret-93ab"
BOT = "boll-fil"

CONFIG = """
data_dir = "data"
[exchange]
venue = "local"
local_port = {port}
order_transport = "{transport}"
[api]
enabled = false
[[bots]]
id = "{bot}"
symbol = "FILUSDT"
interval = "1m"
mode = "testnet"
params = {{ period = 20, k = 2.0, quote_amount = "100" }}
"""

pytestmark = pytest.mark.slow


async def spawn(root: Path, log: Path) -> asyncio.subprocess.Process:
    handle = log.open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "binbot", "run", "-c", "binbot.toml", cwd=root,
        stdout=handle, stderr=handle, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def db_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql), {"bot": BOT})]
    finally:
        engine.dispose()


@pytest.mark.parametrize("transport", ["rest", "ws_api"])
async def test_testnet_bot_survives_sigkill_with_nothing_duplicated(tmp_path: Path,
                                                                    transport: str) -> None:
    exchange = LocalExchange(ExchangeOptions(
        [DATA], speed=120.0,
        accounts=[AccountSpec(api_key=KEY, hmac_secret=SECRET, balances={"USDT": "10000"})]))
    await exchange.start()
    (tmp_path / "binbot.toml").write_text(CONFIG.format(port=exchange.port, bot=BOT,
                                                        transport=transport))
    # The keys live in .env, never in binbot.toml.
    (tmp_path / ".env").write_text(f"BINBOT_BINANCE_TESTNET_API_KEY={KEY}\n"
                                   f"BINBOT_BINANCE_TESTNET_API_SECRET={SECRET}\n")
    log = tmp_path / "service.log"
    db = tmp_path / "data" / "binbot.db"
    try:
        first = await spawn(tmp_path, log)
        for _ in range(300):  # until it has traded a few times
            await asyncio.sleep(0.1)
            if len(exchange.ledger.executed()) >= 4:
                break
        first.send_signal(signal.SIGKILL)
        await first.wait()
        before_kill = len(exchange.ledger.executed())
        assert before_kill >= 4, log.read_text()[-2000:]
        second = await spawn(tmp_path, log)
        for _ in range(300):  # until it has traded again after the restart
            await asyncio.sleep(0.1)
            if len(exchange.ledger.executed()) >= before_kill + 3:
                break
        await asyncio.sleep(1.0)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0
        book = exchange.usdm_book(KEY)
        ledger = exchange.ledger
        rest_order_calls = exchange.state()["requests"].get("/fapi/v1/order", 0)
    finally:
        await exchange.stop()
    text_log = log.read_text()
    assert "trading halted" not in text_log, text_log[-3000:]
    counts = ledger.executions_per_client_id()
    assert len(ledger.executed()) >= before_kill + 3, "it did not trade after the restart"
    assert all(n == 1 for n in counts.values()), counts  # no order executed twice
    orders = dict(db_rows(db, "SELECT client_order_id, status FROM orders WHERE bot_id = :bot"))
    assert set(counts) <= set(orders), "an order the exchange executed is missing locally"
    fills = [r[0] for r in db_rows(db, "SELECT trade_id FROM fills WHERE bot_id = :bot")]
    assert sorted(fills) == sorted(str(f.trade_id) for f in book.fills)  # every fill, once
    ((position,),) = db_rows(db, "SELECT quantity FROM positions WHERE bot_id = :bot")
    assert Decimal(str(position)) == book.position("FILUSDT").amt
    placed = [e for e in ledger.executed() if e.kind == "order"]
    if transport == "ws_api":  # REST saw only the reconciliation's queries, not the orders
        assert rest_order_calls < len(placed), (rest_order_calls, len(placed))
    else:
        assert rest_order_calls >= len(placed)
