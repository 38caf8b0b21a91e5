"""Canary secrets (API token, database password, a listen key) never appear in any response,
page, log line or error (reliability.md S2)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.unit.api.conftest import AUTH, CANARIES, AppFactory
from tests.unit.api.fake_runtime import FakeRuntime

PATHS = [
    "/", "/markets", "/backtests", "/docs", "/openapi.json", "/healthz", "/api/v1/status",
    "/api/v1/bots", "/api/v1/bots/boll-avax", "/api/v1/positions", "/api/v1/orders?status=all",
    "/api/v1/paper/orders", "/api/v1/trades", "/api/v1/signals", "/api/v1/equity",
    "/api/v1/candles?symbol=AVAXUSDT&indicators=bb,rsi,macd", "/api/v1/markets",
    "/api/v1/logs", "/api/v1/logs?level=DEBUG", "/api/v1/config", "/api/v1/system",
    "/api/v1/backtests", "/api/v1/backtests/run-avax-1", "/api/v1/backtests/run-avax-1/trades",
    "/api/v1/state", "/api/v1/session",
    # error paths
    "/api/v1/bots/ghost", "/api/v1/candles?symbol=NOPE1", "/api/v1/candles?symbol=X&limit=-1",
    "/api/v1/backtests/ghost", "/api/v1/nowhere",
]


def _assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"{canary} leaked in {where}"


@pytest.mark.parametrize("authenticated", [True, False])
def test_no_response_carries_a_secret(make_client: AppFactory, authenticated: bool,
                                      caplog: pytest.LogCaptureFixture) -> None:
    client: TestClient = make_client(runtime=FakeRuntime())
    headers = AUTH if authenticated else {}
    with caplog.at_level(logging.DEBUG):
        for path in PATHS:
            response = client.get(path, headers=headers)
            _assert_clean(response.text, path)
            _assert_clean(str(response.headers), path + " headers")
        for path in ("/api/v1/bots/boll-avax/pause", "/api/v1/bots/ghost/stop",
                     "/api/v1/login", "/api/v1/logout"):
            response = client.post(path, headers=headers, json={"token": "wrong-token-123"})
            _assert_clean(response.text, path)
        login = client.post("/api/v1/login", json={"token": CANARIES[0], "extra": CANARIES[1]})
        _assert_clean(login.text, "login with extra field")
    _assert_clean(caplog.text, "logs")


def test_login_success_does_not_echo_the_token(client: TestClient) -> None:
    response = client.post("/api/v1/login", json={"token": CANARIES[0]})
    assert response.status_code == 200
    _assert_clean(response.text, "login")
    _assert_clean(str(response.headers), "login headers")
    for path in ("/", "/markets", "/backtests", "/docs"):
        _assert_clean(client.get(path).text, path)
