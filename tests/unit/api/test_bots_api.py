"""The bots API over a real ServiceRuntime (runners, hub, paper accounts, SQLite) fed scripted
market data, in the test's event loop; and over ``binbot serve`` (no runtime)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from binbot.api import ApiContainer, create_app
from binbot.config.settings import ApiSettings, Settings
from binbot.storage import trading_tables as t
from tests.unit.api.conftest import AUTH, CANARY_TOKEN, AppFactory
from tests.unit.api.sample_db import BOT_ID, Sample
from tests.unit.services.live_runtime import Live, bot, start_live

CREATE = {"bot_id": "eth-ma", "symbol": "ETHUSDT", "strategy_name": "ma_cross",
          "strategy_params": {"fast": 2, "slow": 3}, "capital": "500", "interval": "1m",
          "risk": {"max_drawdown_pct": 40}}


@dataclass
class Api:
    live: Live
    http: httpx2.AsyncClient

    def bot_rows(self) -> list[str]:
        with self.live.engine.connect() as connection:
            return [r[0] for r in connection.execute(select(t.bots.c.bot_id)
                                                     .order_by(t.bots.c.bot_id))]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    live = await start_live(tmp_path / "db.sqlite", [bot("cfg-btc")])
    settings = Settings(data_dir=tmp_path, api=ApiSettings(token=SecretStr(CANARY_TOKEN)))
    container = ApiContainer(settings=settings, engine=live.engine, bus=live.bus,
                             runtime=live.runtime, token=SecretStr(CANARY_TOKEN),
                             db_feed=False, trusted_hosts=("127.0.0.1",))
    transport = httpx2.ASGITransport(app=create_app(container))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                 headers=AUTH) as http:
        yield Api(live, http)
    await live.close()


ROUTES = [
    ("GET", "/api/v1/bots/"), ("GET", "/api/v1/bots/health"),
    ("GET", "/api/v1/bots/portfolio/summary"), ("GET", "/api/v1/bots/cfg-btc/stats"),
    ("POST", "/api/v1/bots/create"), ("POST", "/api/v1/bots/cfg-btc/start"),
    ("POST", "/api/v1/bots/cfg-btc/stop"), ("DELETE", "/api/v1/bots/cfg-btc"),
    ("POST", "/api/v1/bots/start-all"), ("POST", "/api/v1/bots/stop-all"),
]


async def test_every_route_needs_the_token(api: Api) -> None:
    for method, path in ROUTES:
        response = await api.http.request(method, path, headers={"Authorization": "Bearer x"},
                                          json=CREATE if path.endswith("create") else None)
        assert response.status_code == 401, (method, path)
    assert api.bot_rows() == ["cfg-btc"]
    assert api.live.runtime.view("cfg-btc").status == "running"


async def test_a_session_must_send_its_csrf_token(api: Api) -> None:
    login = await api.http.post("/api/v1/login", json={"token": CANARY_TOKEN}, headers={})
    assert login.status_code == 200
    assert api.http.cookies  # the session cookie is kept by the client from here on
    for method, path in ROUTES:
        if method == "GET":
            continue
        response = await api.http.request(method, path, headers={"Authorization": ""},
                                          json=CREATE)
        assert response.status_code == 403, (method, path)
    response = await api.http.post(
        "/api/v1/bots/create", json=CREATE,
        headers={"Authorization": "", "X-CSRF-Token": login.json()["csrf_token"]})
    assert response.status_code == 201


async def test_create_runs_the_bot_and_lists_it(api: Api) -> None:
    response = await api.http.post("/api/v1/bots/create", json=CREATE)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["bot_id"] == "eth-ma"
    assert made["status"] == "running"
    assert made["capital"] == "500"
    assert made["live"] is True
    assert "ETHUSDT" in api.live.market.symbols()
    listed = (await api.http.get("/api/v1/bots/")).json()
    assert [b["bot_id"] for b in listed] == ["cfg-btc", "eth-ma"]
    one = (await api.http.get("/api/v1/bots/eth-ma")).json()
    assert one["params"] == {"fast": 2, "slow": 3}
    assert api.bot_rows() == ["cfg-btc", "eth-ma"]


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"strategy_name": "nope"}, 422, "unknown strategy 'nope'"),
    ({"strategy_name": "os:system"}, 422, "unknown strategy"),
    ({"strategy_name": "os:system", "risk_per_trade": 0.01}, 422, "unknown strategy"),
    ({"strategy_params": {"fast": 0}}, 422, "parameter 'fast'"),
    ({"strategy_params": {"speed": 3}}, 422, "unknown parameter 'speed'"),
    ({"symbol": "NOPEUSDT"}, 422, "unknown symbol NOPEUSDT"),
    ({"symbol": "eth"}, 422, "symbol"),
    ({"bot_id": "cfg-btc"}, 409, "exists already"),
    ({"bot_id": "health"}, 422, "reserved"),
    ({"bot_id": "bad id!"}, 422, "bot_id"),
    ({"mode": "live"}, 422, "confirm_live"),
    ({"mode": "testnet"}, 422, "test venue"),
    ({"capital": "-5"}, 422, "capital"),
    ({"capital": "abc"}, 422, "capital"),
    ({"leverage": 500}, 422, "leverage"),
    ({"interval": "7m"}, 422, "interval"),
    ({"risk": {"stop_loss_pct": -1}}, 422, "risk setting 'stop_loss_pct'"),
    ({"risk": {"max_drawdown": 10}}, 422, "unknown risk setting 'max_drawdown'"),
    ({"risk_per_trade": 0.01}, 422, "does not size its entries by risk_per_trade"),
    ({"unexpected": 1}, 422, "unexpected"),
]


@pytest.mark.parametrize(("change", "code", "message"), BAD)
async def test_bad_bots_are_refused_and_nothing_is_created(
        api: Api, change: dict[str, Any], code: int, message: str) -> None:
    before = api.live.market.symbols()
    response = await api.http.post("/api/v1/bots/create", json={**CREATE, **change})
    assert response.status_code == code, response.text
    assert message in response.json()["detail"]
    assert api.bot_rows() == ["cfg-btc"]
    assert [v.bot_id for v in api.live.runtime.bots()] == ["cfg-btc"]
    assert api.live.market.symbols() == before


async def test_duplicate_create_of_a_created_bot_is_a_conflict(api: Api) -> None:
    assert (await api.http.post("/api/v1/bots/create", json=CREATE)).status_code == 201
    again = await api.http.post("/api/v1/bots/create", json={**CREATE, "capital": "900"})
    assert again.status_code == 409
    assert "eth-ma" in again.json()["detail"]
    assert api.live.runtime.view("eth-ma").capital == "500"


async def test_idempotency_key_creates_once(api: Api) -> None:
    headers = {**AUTH, "Idempotency-Key": "create-1"}
    first = await api.http.post("/api/v1/bots/create", json=CREATE, headers=headers)
    second = await api.http.post("/api/v1/bots/create", json=CREATE, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["bot_id"] == second.json()["bot_id"] == "eth-ma"


async def test_stop_start_and_delete(api: Api) -> None:
    http = api.http
    await http.post("/api/v1/bots/create", json={**CREATE, "auto_start": False})
    assert (await http.get("/api/v1/bots/eth-ma")).json()["status"] == "created"
    started = await http.post("/api/v1/bots/eth-ma/start")
    assert started.status_code == 200
    assert started.json()["status"] == "running"
    stopped = await http.post("/api/v1/bots/eth-ma/stop")
    assert stopped.json()["status"] == "stopped"
    assert "ETHUSDT" not in api.live.market.symbols()
    assert (await http.post("/api/v1/bots/eth-ma/start")).json()["status"] == "running"

    config_bot = await http.delete("/api/v1/bots/cfg-btc")
    assert config_bot.status_code == 409
    assert "config file" in config_bot.json()["detail"]
    removed = await http.delete("/api/v1/bots/eth-ma")
    assert removed.status_code == 200
    assert removed.json() == {"bot_id": "eth-ma", "removed": True}
    assert api.bot_rows() == ["cfg-btc"]
    for method, path in (("DELETE", "/api/v1/bots/eth-ma"), ("POST", "/api/v1/bots/eth-ma/start"),
                         ("POST", "/api/v1/bots/eth-ma/stop"),
                         ("GET", "/api/v1/bots/eth-ma/stats")):
        assert (await http.request(method, path)).status_code == 404, (method, path)


async def test_stats_portfolio_and_health_follow_the_trading(api: Api) -> None:
    http = api.http
    await http.post("/api/v1/bots/create", json=CREATE)
    live = api.live
    for _ in range(40):
        await live.settle(live.market.advance(1))
        if live.runtime.view("eth-ma").trades >= 2 and live.runtime.view("cfg-btc").trades >= 2:
            break
    for runner in live.runtime.runners:
        await runner.flush()
    await live.writer.flush()
    stats = (await http.get("/api/v1/bots/eth-ma/stats")).json()
    view = live.runtime.view("eth-ma")
    assert stats["live"] is True
    assert stats["status"] == "running"
    assert stats["trades"] == view.trades >= 2
    assert stats["winning_trades"] == view.winning_trades
    assert stats["win_rate"] == pytest.approx(view.winning_trades / view.trades)
    assert stats["realized_pnl"] == view.realized_pnl
    assert Decimal(stats["total_pnl"]) == Decimal(view.equity) - Decimal("500")
    assert stats["position"]["side"] in ("long", "short", "flat")
    assert stats["daily_return"] is not None
    assert stats["monthly_return"] is not None
    assert stats["daily_return"] == pytest.approx(float(Decimal(view.equity) / 500 - 1))

    summary = (await http.get("/api/v1/bots/portfolio/summary")).json()
    views = live.runtime.bots()
    assert summary["bots_total"] == 2
    assert Decimal(summary["total_capital"]) == Decimal(1500)
    assert Decimal(summary["total_equity"]) == sum(Decimal(v.equity) for v in views)
    assert Decimal(summary["combined_pnl"]) == sum(Decimal(v.equity) for v in views) - 1500
    assert summary["total_trades"] == sum(v.trades for v in views)
    assert summary["winning_trades"] == sum(v.winning_trades for v in views)

    health = (await http.get("/api/v1/bots/health")).json()
    assert health["live"] is True
    assert health["healthy"] is True
    assert {b["bot_id"]: b["active"] for b in health["bots"]} == {"cfg-btc": True,
                                                                  "eth-ma": True}


async def test_start_all_and_stop_all(api: Api) -> None:
    await api.http.post("/api/v1/bots/create", json={**CREATE, "auto_start": False})
    stopped = (await api.http.post("/api/v1/bots/stop-all")).json()
    assert {b["status"] for b in stopped} == {"stopped"}
    assert api.live.market.active == set()
    started = (await api.http.post("/api/v1/bots/start-all")).json()
    assert {b["bot_id"]: b["status"] for b in started} == {"cfg-btc": "running",
                                                           "eth-ma": "running"}


# -- binbot serve: no runtime ---------------------------------------------------------------


def test_read_only_server_refuses_mutations_and_answers_reads(make_client: AppFactory,
                                                              sample: Sample) -> None:
    client: TestClient = make_client()
    for method, path in ROUTES:
        response = client.request(method, path, headers=AUTH,
                                  json=CREATE if path.endswith("create") else None)
        if method == "GET":
            continue
        assert response.status_code == 409, (method, path)
        assert "read-only" in response.json()["detail"]
    with sample.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.bots)).scalar_one() == 2
        closes = connection.execute(select(func.count()).select_from(t.trades).where(
            t.trades.c.bot_id == BOT_ID, t.trades.c.action.like("close%"))).scalar_one()
    assert closes > 0
    listed = client.get("/api/v1/bots/", headers=AUTH).json()
    assert [b["bot_id"] for b in listed] == ["boll-avax", "boll-link"]
    stats = client.get(f"/api/v1/bots/{BOT_ID}/stats", headers=AUTH).json()
    assert stats["live"] is False
    assert stats["trades"] == closes  # round trips, as the bot counts them
    assert stats["daily_return"] is not None
    assert client.get("/api/v1/bots/nobody/stats", headers=AUTH).status_code == 404
    summary = client.get("/api/v1/bots/portfolio/summary", headers=AUTH).json()
    assert summary["bots_total"] == 2
    assert Decimal(summary["total_capital"]) == Decimal(1500)
    assert summary["total_trades"] == closes
    health = client.get("/api/v1/bots/health", headers=AUTH).json()
    assert health["live"] is False
    assert [b["status"] for b in health["bots"]] == ["running", "stopped"]
