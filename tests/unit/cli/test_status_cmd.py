from __future__ import annotations

import io
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from rich.console import Console
from sqlalchemy import create_engine, text

from binbot.cli.main import main
from binbot.cli.status_cmd import (
    StatusReport,
    api_state,
    collect_status,
    database_state,
    render,
    service_state,
)
from binbot.config.settings import ApiSettings, LoggingSettings, Settings
from binbot.core.logging import setup_logging

MINUTE_MS = 60_000
T0 = 1_700_000_000_000


def make_candles_db(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE candles (market TEXT, symbol TEXT, interval TEXT, open_time BIGINT, "
            "close REAL, PRIMARY KEY (market, symbol, interval, open_time))"
        ))
        rows = [("usdm", "BTCUSDT", "1m", T0 + i * MINUTE_MS, 1.0) for i in range(5)]
        rows += [("spot", "ETHUSDT", "15m", T0 + i * 15 * MINUTE_MS, 2.0) for i in range(3)]
        connection.execute(
            text("INSERT INTO candles VALUES (:m, :s, :i, :t, :c)"),
            [dict(zip("msitc", row, strict=True)) for row in rows],
        )
    engine.dispose()


def test_last_candle_per_series_comes_from_the_database(tmp_path: Path) -> None:
    path = tmp_path / "binbot.db"
    make_candles_db(path)
    state = database_state(f"sqlite:///{path}")
    found = {(s.market, s.symbol, s.interval): s.last_open_ms for s in state.series}
    assert found == {
        ("usdm", "BTCUSDT", "1m"): T0 + 4 * MINUTE_MS,
        ("spot", "ETHUSDT", "15m"): T0 + 2 * 15 * MINUTE_MS,
    }
    assert state.note == ""
    assert state.bots is None


def test_a_missing_database_is_reported_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "binbot.db"
    state = database_state(f"sqlite:///{path}")
    assert "not created yet" in state.description
    assert not path.exists()


def test_a_database_without_candles_table_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "binbot.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE other (x INTEGER)"))
    engine.dispose()
    state = database_state(f"sqlite:///{path}")
    assert state.series == ()
    assert state.note == "no candles table yet"


def test_the_database_url_is_never_shown(tmp_path: Path) -> None:
    state = database_state("postgresql+psycopg://bot:hunter2-secret@127.0.0.1:1/binbot")
    assert "hunter2" not in state.description
    assert "hunter2" not in state.note


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def health_server() -> AsyncIterator[int]:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/api/v1/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield port
    await runner.cleanup()


async def test_api_health_is_probed_over_http(health_server: int) -> None:
    up = await api_state(ApiSettings(port=health_server), timeout_s=3)
    assert up is not None
    assert up.ok
    assert up.url == f"http://127.0.0.1:{health_server}/api/v1/health"
    down = await api_state(ApiSettings(port=free_port()), timeout_s=3)
    assert down is not None
    assert not down.ok
    assert "not answering" in down.detail
    assert await api_state(ApiSettings(enabled=False), timeout_s=3) is None


async def test_report_collects_everything_and_renders_it(
    tmp_path: Path, health_server: int
) -> None:
    make_candles_db(tmp_path / "binbot.db")
    logged = setup_logging(LoggingSettings(), tmp_path, secrets=[], console=False)
    try:
        logging.getLogger("binbot.test").error("order rejected: -2010 insufficient balance")
    finally:
        logged.close()
    settings = Settings(data_dir=tmp_path, api=ApiSettings(port=health_server))
    report = await collect_status(settings, "binbot-status-test-unit", errors=5, timeout_s=3)
    assert report.api is not None
    assert report.api.ok
    assert len(report.database.series) == 2
    assert len(report.errors) == 1
    assert report.healthy == (report.service is None)

    out = io.StringIO()
    render(report, Console(file=out, width=200), now_ms=T0 + 10 * MINUTE_MS)
    shown = out.getvalue()
    assert "BTCUSDT" in shown
    assert "ETHUSDT" in shown
    assert "6m ago" in shown  # 1m series: last open T0+4m, now T0+10m
    assert "order rejected: -2010" in shown
    assert "boll-btcusdt" in shown  # configured bots, no bots table yet


def test_unhealthy_when_the_api_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BINBOT_API__PORT", str(free_port()))
    code = main(["status", "--datadir", str(tmp_path), "--timeout", "2"])
    assert code == 2
    assert "not answering" in capsys.readouterr().out


def test_service_state_is_none_without_systemd() -> None:
    state = service_state("binbot-status-test-unit")
    if not Path("/run/systemd/system").is_dir():
        assert state is None
    else:
        assert state is not None
        assert state.active != "active"


def test_healthy_flag() -> None:
    report = StatusReport(None, None, database_state("sqlite://"), (), Path("x"))
    assert report.healthy
