"""Starting a backtest from the API: the real ``run_backtest`` in a worker process."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api.conftest import AUTH
from tests.unit.api.sample_db import build_sample_db


@pytest.fixture
def own_db_client(tmp_path: Path) -> tuple[TestClient, int]:
    sample = build_sample_db(tmp_path / "bt.db", minutes=2 * 1440)
    from pydantic import SecretStr

    from binbot.api import ApiContainer, create_app
    from binbot.core.event_bus import EventBus
    from tests.unit.api.conftest import BASE_URL, CANARY_TOKEN, make_settings

    container = ApiContainer(settings=make_settings(tmp_path), engine=sample.engine,
                             bus=EventBus(), runtime=None, token=SecretStr(CANARY_TOKEN),
                             db_feed=False)
    client = TestClient(create_app(container), base_url=BASE_URL)
    return client, sample.last_open_ms


def test_backtest_runs_stores_and_is_listed(own_db_client: tuple[TestClient, int]) -> None:
    client, last = own_db_client
    with client:
        assert "boll" in client.get("/api/v1/strategies", headers=AUTH).json()
        body = {"strategy": "boll", "symbol": "AVAXUSDT", "interval": "15m",
                "start_ms": last - 86_400_000, "end_ms": last, "params": {"period": 20}}
        response = client.post("/api/v1/backtests", json=body, headers=AUTH)
        assert response.status_code == 201, response.text
        run = response.json()
        assert run["symbol"] == "AVAXUSDT"
        assert run["strategy"] == "boll"
        assert "total_return" in run["metrics"]
        listed = client.get("/api/v1/backtests", headers=AUTH).json()
        assert run["run_id"] in [r["run_id"] for r in listed]
        trades = client.get(f"/api/v1/backtests/{run['run_id']}/trades", headers=AUTH).json()
        assert len(trades) >= 2 * run["metrics"]["trades"]  # an open and a close per trade
        # Bad requests are explained, not crashed on.
        for bad, mentions in (
                ({**body, "strategy": "os:system"}, "unknown strategy"),
                ({**body, "end_ms": body["start_ms"]}, "end_ms"),
                ({**body, "symbol": "NOPEUSDT"}, ""),
                ({**body, "params": {"period": -3}}, ""),
                ({**body, "surprise": 1}, "surprise")):
            refused = client.post("/api/v1/backtests", json=bad, headers=AUTH)
            assert refused.status_code == 422, (bad, refused.text)
            assert mentions in refused.json()["detail"]
