"""Server-Sent Events and the WebSocket, both fed from the one event bus; the database feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import insert

from binbot.api import ApiContainer, create_app
from binbot.api.db_feed import DbFeed
from binbot.api.routers.live import bus_events
from binbot.core.event_bus import EventBus
from binbot.storage.trading_tables import trades
from tests.unit.api.conftest import AUTH, CANARY_TOKEN, AppFactory, make_settings
from tests.unit.api.sample_db import BOT_ID, Sample, build_sample_db
from tests.unit.api.server_thread import ServerThread


def _sse_events(lines: Iterator[str], count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if current:
                events.append(current)
                current = {}
                if len(events) == count:
                    return events
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        current[key] = value.strip()
    return events


@pytest.fixture
def live(sample: Sample, tmp_path: Path) -> Iterator[tuple[ServerThread, EventBus]]:
    bus = EventBus()
    container = ApiContainer(settings=make_settings(tmp_path), engine=sample.engine, bus=bus,
                             runtime=None, token=SecretStr(CANARY_TOKEN), db_feed=False)
    with ServerThread(create_app(container)) as server:
        yield server, bus


def test_sse_stream_delivers_bus_events_with_ids(live: tuple[ServerThread, EventBus]) -> None:
    server, bus = live
    with httpx2.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/api/v1/stream").status_code == 401
        with http.stream("GET", "/api/v1/stream", headers=AUTH) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            (hello,) = _sse_events(lines, 1)
            assert hello["event"] == "hello"
            server.call(bus.publish, "trade", {"id": 7, "price": "1.5"})
            server.call(bus.publish, "tick", {"status": {"equity": "10"}})
            trade, tick = _sse_events(lines, 2)
    assert trade["event"] == "trade"
    assert json.loads(trade["data"]) == {"id": 7, "price": "1.5"}
    assert int(tick["id"]) == int(trade["id"]) + 1
    assert tick["event"] == "tick"


def test_sse_resumes_after_last_event_id(live: tuple[ServerThread, EventBus]) -> None:
    server, bus = live
    first = server.call(bus.publish, "order", {"n": 1})
    server.call(bus.publish, "order", {"n": 2})
    with httpx2.Client(base_url=server.url, timeout=10) as http, \
            http.stream("GET", "/api/v1/stream",
                        headers={**AUTH, "Last-Event-ID": str(first.seq)}) as response:
        _hello, replayed = _sse_events(response.iter_lines(), 2)
    assert json.loads(replayed["data"]) == {"n": 2}


async def test_bus_events_replays_then_follows_without_duplicates() -> None:
    bus = EventBus()
    bus.publish("order", {"n": 1})
    bus.publish("order", {"n": 2})
    stream = bus_events(bus, after_seq=1)
    assert (await anext(stream)).payload == {"n": 2}
    bus.publish("order", {"n": 3})
    assert (await anext(stream)).payload == {"n": 3}
    await stream.aclose()
    assert bus.subscriber_count == 0


def test_websocket_with_bearer_header(make_client: AppFactory) -> None:
    bus = EventBus()
    client = make_client(bus=bus)
    with client.websocket_connect("/api/v1/ws", headers=AUTH) as ws:
        hello = ws.receive_json()
        assert hello == {"type": "hello", "last_seq": 0}
        client.portal.call(_publish, bus, "position", {"qty": "2"})  # type: ignore[union-attr]
        assert ws.receive_json() == {"seq": 1, "kind": "position", "payload": {"qty": "2"}}


def test_websocket_with_first_message_auth(make_client: AppFactory) -> None:
    bus = EventBus()
    client = make_client(bus=bus)
    with client.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"type": "auth", "token": CANARY_TOKEN})
        assert ws.receive_json()["type"] == "hello"
        client.portal.call(_publish, bus, "log", {"line": "hi"})  # type: ignore[union-attr]
        assert ws.receive_json()["kind"] == "log"


async def _publish(bus: EventBus, kind: str, payload: dict[str, object]) -> None:
    bus.publish(kind, payload)


def test_db_feed_announces_new_rows_and_ticks(tmp_path: Path) -> None:
    sample = build_sample_db(tmp_path / "feed.db", minutes=600)
    bus = EventBus()
    container = ApiContainer(settings=make_settings(tmp_path), engine=sample.engine, bus=bus,
                             runtime=None, token=SecretStr(CANARY_TOKEN))
    feed = DbFeed(container)
    first = feed.poll()
    assert [kind for kind, _ in first] == ["tick"]  # old rows are not re-announced
    with sample.engine.begin() as conn:
        conn.execute(insert(trades).values(
            bot_id=BOT_ID, symbol="AVAXUSDT", action="close_long", time_ms=sample.last_open_ms,
            price="20", quantity="2", fee="0.02", pnl="1.5", client_order_id="bb-new"))
    kinds = feed.poll()
    assert [kind for kind, _ in kinds] == ["trade", "tick"]
    assert kinds[0][1]["client_order_id"] == "bb-new"
    assert [kind for kind, _ in feed.poll()] == ["tick"]
    tick = kinds[1][1]
    assert tick["status"]["bots_total"] == 2
    assert tick["bots"][0]["bot_id"] == BOT_ID


def test_app_with_feed_pushes_ticks_over_the_websocket(make_client: AppFactory) -> None:
    client = make_client(db_feed=True)
    with client.websocket_connect("/api/v1/ws", headers=AUTH) as ws:
        ws.receive_json()
        event = ws.receive_json()
    assert event["kind"] == "tick"
    assert "equity" in event["payload"]["status"]


def test_state_then_stream_sequence_contract(make_client: AppFactory) -> None:
    bus = EventBus()
    client: TestClient = make_client(bus=bus)
    client.portal.call(_publish, bus, "signal", {"id": 1})  # type: ignore[union-attr]
    state = client.get("/api/v1/state", headers=AUTH).json()
    assert state["last_seq"] == bus.last_seq == 1
