"""``binbot halt``: the kill switch without the dashboard. The running service flattens and
halts every bot; the halt survives a restart until an explicit resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from binbot.exchange.server import ExchangeOptions, LocalExchange
from tests.integration.service.test_run_paper_parity import SOURCE

CONFIG = """
data_dir = "data"
[exchange]
venue = "local"
local_port = {port}
[api]
enabled = false
[[bots]]
id = "boll-fil"
symbol = "FILUSDT"
interval = "1m"
params = {{ period = 20, k = 2.0, quote_amount = "100" }}
"""

pytestmark = pytest.mark.slow


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql))]
    except Exception:
        return []
    finally:
        engine.dispose()


def position(db: Path) -> Decimal | None:
    rows = query(db, "SELECT quantity FROM positions")
    return Decimal(str(rows[0][0])) if rows else None


def kill_state(db: Path) -> str:
    rows = query(db, "SELECT snapshot FROM bot_state")
    if not rows:
        return ""
    snapshot = rows[0][0]
    data = json.loads(snapshot) if isinstance(snapshot, str) else snapshot
    return str(data["bot"]["risk"].get("kill_switch") or "")


async def spawn(root: Path) -> asyncio.subprocess.Process:
    log = (root / "service.log").open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "binbot", "run", "-c", "binbot.toml", cwd=root, stdout=log,
        stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})


async def test_halt_flattens_and_the_halt_survives_a_restart(tmp_path: Path) -> None:
    exchange = LocalExchange(ExchangeOptions([SOURCE], speed=120.0))
    await exchange.start()
    (tmp_path / "binbot.toml").write_text(CONFIG.format(port=exchange.port))
    db = tmp_path / "data" / "binbot.db"
    try:
        service = await spawn(tmp_path)
        for _ in range(600):  # until the bot holds a position
            await asyncio.sleep(0.1)
            if position(db) not in (None, 0):
                break
        assert position(db) not in (None, 0), (tmp_path / "service.log").read_text()[-2000:]
        halted = subprocess.run(  # noqa: ASYNC221 - a short CLI call
            [sys.executable, "-m", "binbot", "halt", "-c", "binbot.toml"], cwd=tmp_path,
            capture_output=True, text=True, check=False)
        assert halted.returncode == 0, halted.stderr
        for _ in range(100):
            await asyncio.sleep(0.1)
            if position(db) == 0 and kill_state(db):
                break
        assert position(db) == 0
        assert "kill switch" in kill_state(db)
        trades_at_halt = len(query(db, "SELECT id FROM trades"))
        service.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(service.wait(), 30) == 0
        restarted = await spawn(tmp_path)
        await asyncio.sleep(8.0)  # 16 virtual minutes of a market it would trade in
        restarted.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(restarted.wait(), 30) == 0
    finally:
        await exchange.stop()
    assert "kill switch" in kill_state(db)
    assert len(query(db, "SELECT id FROM trades")) == trades_at_halt
    assert position(db) == 0
