"""``binbot run`` against the local exchange replaying real candles of two symbols: two bots
from the config, bots created over the API at runtime sharing their market data (one upstream
subscription per stream), a bot stopped, a restart that resumes the created bot and keeps the
stopped one stopped, and removals that release the streams nobody needs any more."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, func, select

from binbot.bootstrap import ServiceHandle, run_service
from binbot.config import Settings, load_settings
from binbot.exchange.server import ExchangeOptions, LocalExchange
from binbot.storage import trading_tables as t
from tests.integration.service.paper_reference import write_head
from tests.unit.api.server_thread import free_port

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
KLINES = SHARED / "data/klines/binance-um-1m"
MINUTES = 1440
SPEED = 3_000.0  # a virtual day in about 30 s
TOKEN = "lifecycle-token-0f4e9b2c77a1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.slow


def upstream_streams(exchange: LocalExchange) -> list[str]:
    """Every stream name the service's connections subscribed at the exchange (one entry per
    connection and stream: a stream shared by bots appears once)."""
    # The exchange's own subscription table; its public state only counts connections.
    subs: dict[tuple[Any, str], list[Any]] = exchange.hub._subs
    return sorted(name for (_venue, name), conns in subs.items() for _ in conns)


async def start(settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event, ServiceHandle]:
    stop = asyncio.Event()
    ready: asyncio.Future[ServiceHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_service(settings, stop, ready))
    done, _ = await asyncio.wait({task, ready}, timeout=60,
                                 return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises why the service did not start
    return task, stop, ready.result()


async def wait_for(condition: Any, what: str, attempts: int = 600) -> None:
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


def rows(db: Path, table: Any, bot_id: str) -> int:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)
                                          .where(table.c.bot_id == bot_id)).scalar_one())
    finally:
        engine.dispose()


async def test_bots_created_over_the_api_share_data_stop_resume_and_go(tmp_path: Path) -> None:
    files = {}
    for symbol in ("FILUSDT", "AVAXUSDT"):
        files[symbol] = tmp_path / f"{symbol}-head.csv.gz"
        write_head(KLINES / f"{symbol}-1m-2024-02.csv.gz", files[symbol], MINUTES)
    exchange = LocalExchange(ExchangeOptions(
        list(files.values()), speed=SPEED,
        symbols={str(path): symbol for symbol, path in files.items()}))
    await exchange.start()
    port = free_port()
    settings = load_settings(
        None, env_file=None, data_dir=tmp_path / "data",
        exchange={"venue": "local", "local_port": exchange.port},
        api={"port": port, "token": TOKEN}, paper={"use_mark_price": False},
        history={"candles": 60},
        bots=[{"id": "boll-fil", "symbol": "FILUSDT", "interval": "1m", "strategy": "boll",
               "params": {"period": 20, "quote_amount": "100"}},
              {"id": "boll-avax", "symbol": "AVAXUSDT", "interval": "1m", "strategy": "boll",
               "params": {"period": 20, "quote_amount": "100"}}],
    )
    db = tmp_path / "data" / "binbot.db"
    base = f"http://127.0.0.1:{port}/api/v1/bots"
    try:
        task, stop, handle = await start(settings)
        async with httpx2.AsyncClient(headers=AUTH, timeout=30) as http:
            streams = upstream_streams(exchange)
            assert streams.count("filusdt@kline_1m") == 1
            assert streams.count("avaxusdt@kline_1m") == 1

            made = await http.post(f"{base}/create", json={
                "bot_id": "ma-fil", "symbol": "FILUSDT", "strategy_name": "ma_cross",
                "strategy_params": {"fast": 3, "slow": 8}, "capital": "300",
                "interval": "1m", "risk": {"max_drawdown_pct": 50}})
            assert made.status_code == 201, made.text
            made = await http.post(f"{base}/create", json={
                "bot_id": "rsi-avax", "symbol": "AVAXUSDT", "strategy_name": "rsi",
                "strategy_params": {"period": 6, "trend_period": 0}, "capital": "400",
                "interval": "1m"})
            assert made.status_code == 201, made.text
            refused = await http.post(f"{base}/create", json={
                "bot_id": "dot", "symbol": "DOTUSDT", "strategy_name": "rsi", "capital": "1"})
            assert refused.status_code == 422
            assert "unknown symbol DOTUSDT" in refused.json()["detail"]

            # Four bots, two symbols: still one upstream subscription per stream.
            streams = upstream_streams(exchange)
            for name in ("filusdt@kline_1m", "filusdt@aggTrade", "avaxusdt@kline_1m",
                         "avaxusdt@aggTrade"):
                assert streams.count(name) == 1, (name, streams)
            assert len(handle.runtime.runners) == 4

            runtime = handle.runtime
            await wait_for(lambda: runtime.view("ma-fil").trades >= 2
                           and runtime.view("rsi-avax").trades >= 1, "the created bots trade")
            stopped = await http.post(f"{base}/ma-fil/stop")
            assert stopped.json()["status"] == "stopped"
            ma_trades = runtime.view("ma-fil").trades
            assert upstream_streams(exchange).count("filusdt@kline_1m") == 1  # boll-fil's
            stats = (await http.get(f"{base}/ma-fil/stats")).json()
            assert stats["status"] == "stopped"
            assert stats["trades"] == ma_trades
            rsi_trades = runtime.view("rsi-avax").trades
        stop.set()
        await asyncio.wait_for(task, 30)

        # The restart: config bots and the created running bot trade on; ma-fil stays stopped.
        task, stop, handle = await start(settings)
        runtime = handle.runtime
        async with httpx2.AsyncClient(headers=AUTH, timeout=30) as http:
            listed = {b["bot_id"]: b for b in (await http.get(f"{base}/")).json()}
            assert {k: v["status"] for k, v in listed.items()} == {
                "boll-avax": "running", "boll-fil": "running", "ma-fil": "stopped",
                "rsi-avax": "running"}
            assert listed["ma-fil"]["trades"] == ma_trades
            assert runtime.view("rsi-avax").trades >= rsi_trades
            assert {r.bot_id for r in runtime.runners} == {"boll-fil", "boll-avax", "rsi-avax"}
            resumed = next(r for r in runtime.runners if r.bot_id == "rsi-avax")
            assert resumed.settings.capital == 400

            gone = await http.delete(f"{base}/ma-fil", params={"force": "true"})
            assert gone.status_code == 200, gone.text
            assert (await http.get(f"{base}/ma-fil/stats")).status_code == 404
            assert rows(db, t.bots, "ma-fil") == 0
            assert rows(db, t.trades, "ma-fil") == 0
            assert rows(db, t.trades, "boll-fil") > 0  # the others' records stay

            # rsi-avax shares AVAX with boll-avax: removing it keeps the streams; stopping
            # boll-avax too releases them upstream.
            await http.delete(f"{base}/rsi-avax", params={"force": "true"})
            assert upstream_streams(exchange).count("avaxusdt@kline_1m") == 1
            await http.post(f"{base}/boll-avax/stop")
            await wait_for(lambda: "avaxusdt@kline_1m" not in upstream_streams(exchange),
                           "the AVAX streams are released")
            assert "filusdt@kline_1m" in upstream_streams(exchange)
            summary = (await http.get(f"{base}/portfolio/summary")).json()
            assert summary["bots_total"] == 2
        stop.set()
        await asyncio.wait_for(task, 30)
    finally:
        await exchange.stop()
