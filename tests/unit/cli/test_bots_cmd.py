"""``binbot bots`` against a real API server and runtime (scripted market data) in this loop;
the CLI runs in a worker thread with its own event loop, exactly as from a shell."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from binbot.api import ApiContainer, create_app
from binbot.cli.main import main
from binbot.config.settings import ApiSettings, Settings
from tests.unit.api.server_thread import free_port
from tests.unit.services.live_runtime import Live, bot, start_live

TOKEN = "cli-test-token-5e7c2a9d41b3"


@dataclass
class Service:
    live: Live
    config: Path


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    live = await start_live(tmp_path / "db.sqlite", [bot("cfg-btc")])
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # The token as the service leaves it on its first start; the config names none.
    (data_dir / "api_token").write_text(TOKEN + "\n", encoding="utf-8")
    port = free_port()
    settings = Settings(data_dir=data_dir, api=ApiSettings(port=port))
    container = ApiContainer(settings=settings, engine=live.engine, bus=live.bus,
                             runtime=live.runtime, token=SecretStr(TOKEN), db_feed=False)
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
        await asyncio.sleep(0.02)
    config = tmp_path / "binbot.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[api]\nport = {port}\n', encoding="utf-8")
    try:
        yield Service(live, config)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        await live.close()


async def cli(service: Service, *args: str) -> int:
    return await asyncio.to_thread(main, ["bots", *args, "-c", str(service.config)])


async def test_create_list_stats_stop_start_rm(service: Service,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = await cli(service, "create", "eth-ma", "--symbol", "ethusdt", "--strategy",
                     "ma_cross", "--capital", "500", "--interval", "1m", "--param", "fast=2",
                     "--param", "slow=3", "--risk", "max_drawdown_pct=30")
    assert code == 0
    assert "created bot eth-ma (running)" in capsys.readouterr().out
    view = service.live.runtime.view("eth-ma")
    assert view.params == {"fast": 2, "slow": 3}
    assert service.live.runtime.runners[-1].settings.risk == {"max_drawdown_pct": 30.0}

    live = service.live
    await live.settle(live.market.advance(6))
    assert await cli(service, "list") == 0
    out = capsys.readouterr().out
    assert "cfg-btc" in out
    assert "eth-ma" in out
    assert "capital 1,500.00" in out

    assert await cli(service, "stats", "eth-ma") == 0
    out = capsys.readouterr().out
    assert "bot eth-ma" in out
    assert "return today" in out
    assert "ma_cross on ETHUSDT (paper)" in out

    assert await cli(service, "stop", "eth-ma") == 0
    assert "stopped" in capsys.readouterr().out
    assert live.runtime.view("eth-ma").status == "stopped"
    assert await cli(service, "start", "eth-ma") == 0
    assert live.runtime.view("eth-ma").status == "running"
    assert await cli(service, "stop", "--all") == 0
    assert {v.status for v in live.runtime.bots()} == {"stopped"}
    capsys.readouterr()
    assert await cli(service, "rm", "eth-ma", "--force") == 0
    assert "removed bot eth-ma" in capsys.readouterr().out
    assert [v.bot_id for v in live.runtime.bots()] == ["cfg-btc"]


async def test_refusals_are_explained(service: Service,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = await cli(service, "create", "x", "--symbol", "NOPEUSDT", "--strategy", "boll",
                     "--capital", "100")
    assert code == 1
    assert "HTTP 422: unknown symbol NOPEUSDT" in capsys.readouterr().err
    assert await cli(service, "create", "cfg-btc", "--symbol", "BTCUSDT", "--strategy",
                     "boll", "--capital", "100") == 1
    assert "HTTP 409" in capsys.readouterr().err
    assert await cli(service, "rm", "cfg-btc") == 1
    assert "config file" in capsys.readouterr().err
    assert await cli(service, "stats", "ghost") == 1
    assert "HTTP 404: no bot 'ghost'" in capsys.readouterr().err
    assert await cli(service, "create", "y", "--symbol", "BTCUSDT", "--strategy", "boll",
                     "--capital", "100", "--param", "period") == 1
    assert "name=value" in capsys.readouterr().err
    assert [v.bot_id for v in service.live.runtime.bots()] == ["cfg-btc"]


def test_a_service_that_is_not_running_is_named(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "binbot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[api]\nport = {free_port()}\n'
                      'token = "a-token-long-enough-1234"\n', encoding="utf-8")
    assert main(["bots", "list", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "the service is not running" in err
    assert "binbot run" in err


async def test_a_wrong_token_is_explained(service: Service,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINBOT_API_TOKEN", "not-the-right-token-000")
    assert await cli(service, "list") == 1
    assert "refused the token" in capsys.readouterr().err
