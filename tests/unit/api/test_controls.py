"""Bot controls through the Runtime port: read-only refusal, state rules, idempotency."""

from __future__ import annotations

import logging

import pytest

from binbot.core.event_bus import EventBus
from tests.unit.api.conftest import AUTH, AppFactory
from tests.unit.api.fake_runtime import FakeRuntime, bot_view

ACTIONS = ("pause", "resume", "stop", "close-position")


@pytest.mark.parametrize("action", ACTIONS)
def test_read_only_server_refuses_every_control(make_client: AppFactory, action: str) -> None:
    client = make_client()
    response = client.post(f"/api/v1/bots/boll-avax/{action}", headers=AUTH)
    assert response.status_code == 409
    assert "read-only" in response.json()["detail"]


def test_controls_change_the_bot_and_are_audited(make_client: AppFactory,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    runtime = FakeRuntime(bus)
    client = make_client(runtime=runtime, bus=bus)
    with caplog.at_level(logging.INFO, logger="binbot.audit"):
        paused = client.post("/api/v1/bots/boll-avax/pause", headers=AUTH).json()
    assert paused["status"] == "paused"
    assert paused["live"] is True
    assert "control pause bot=boll-avax by token" in caplog.text
    assert client.get("/api/v1/bots/boll-avax", headers=AUTH).json()["status"] == "paused"
    again = client.post("/api/v1/bots/boll-avax/pause", headers=AUTH)
    assert again.status_code == 409
    assert "paused" in again.json()["detail"]
    assert client.post("/api/v1/bots/boll-avax/resume", headers=AUTH).json()["status"] == \
        "running"
    closed = client.post("/api/v1/bots/boll-avax/close-position", headers=AUTH).json()
    assert closed["position_qty"] == "0"
    assert client.post("/api/v1/bots/boll-avax/stop", headers=AUTH).json()["status"] == "stopped"
    assert runtime.calls == [("pause", "boll-avax"), ("resume", "boll-avax"),
                             ("close", "boll-avax"), ("stop", "boll-avax")]
    assert [e.kind for e in bus.recent()] == ["bot"] * 4


def test_unknown_bot_is_404(make_client: AppFactory) -> None:
    client = make_client(runtime=FakeRuntime())
    response = client.post("/api/v1/bots/ghost/stop", headers=AUTH)
    assert response.status_code == 404


def test_refused_control_is_409_with_the_reason(make_client: AppFactory) -> None:
    client = make_client(runtime=FakeRuntime(views=[bot_view(status="halted")]))
    response = client.post("/api/v1/bots/boll-avax/resume", headers=AUTH)
    assert response.status_code == 409
    assert "halted" in response.json()["detail"]


def test_same_idempotency_key_applies_once(make_client: AppFactory) -> None:
    runtime = FakeRuntime()
    client = make_client(runtime=runtime)
    headers = {**AUTH, "Idempotency-Key": "double-click-1"}
    first = client.post("/api/v1/bots/boll-avax/pause", headers=headers)
    second = client.post("/api/v1/bots/boll-avax/pause", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert runtime.calls == [("pause", "boll-avax")]
    # A new key is a new request (and pausing a paused bot is refused).
    other = client.post("/api/v1/bots/boll-avax/pause",
                        headers={**AUTH, "Idempotency-Key": "double-click-2"})
    assert other.status_code == 409


def test_live_runtime_bots_override_stored_rows(make_client: AppFactory) -> None:
    client = make_client(runtime=FakeRuntime())
    bots = {b["bot_id"]: b for b in client.get("/api/v1/bots", headers=AUTH).json()}
    assert bots["boll-avax"]["live"] is True
    assert bots["boll-avax"]["equity"] == "1012.5"
    assert bots["boll-link"]["live"] is False  # stored, not run by this process
    status = client.get("/api/v1/status", headers=AUTH).json()
    assert status["read_only"] is False
    assert status["venue"] == "local"
    assert status["streams"][0]["stale"] is False
