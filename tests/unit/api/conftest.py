"""Fixtures: a sample database, settings with canary secrets, an app client per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from binbot.api import ApiContainer, create_app
from binbot.config.settings import ApiSettings, DatabaseSettings, Settings
from binbot.core.event_bus import EventBus
from binbot.services.runtime import Runtime
from tests.unit.api.sample_db import Sample, build_sample_db

CANARY_TOKEN = "canary-token-7f3a9c1e5b2d8046"
CANARY_DB_PASSWORD = "canary-dbpw-51c0ffee"
CANARY_EXTRA = "canary-listenkey-0b5e11"
CANARIES = (CANARY_TOKEN, CANARY_DB_PASSWORD, CANARY_EXTRA)
BASE_URL = "http://127.0.0.1"
AUTH = {"Authorization": f"Bearer {CANARY_TOKEN}"}


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build_sample_db(tmp_path_factory.mktemp("db") / "binbot.db")


class ManualClock:
    """A monotonic clock that moves only when told: TTL tests that a busy machine cannot
    make flaky (a stall between two steps would otherwise look like time passing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_settings(data_dir: Path, **api: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        api=ApiSettings(token=SecretStr(CANARY_TOKEN), **api),  # type: ignore[arg-type]
        database=DatabaseSettings(url=SecretStr(
            f"postgresql+psycopg://binbot:{CANARY_DB_PASSWORD}@127.0.0.1:5432/binbot")),
    )


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "binbot.log"
    path.write_text(
        "2026-01-01 00:00:00,000 INFO     binbot.engine: started bot boll-avax\n"
        "2026-01-01 00:00:01,000 WARNING  binbot.marketdata: stream stale for 11 s\n"
        f"2026-01-01 00:00:02,000 ERROR    binbot.exchange: key {CANARY_EXTRA} rejected\n"
        "Traceback (most recent call last):\n"
        f"2026-01-01 00:00:03,000 DEBUG    binbot.db: url postgresql://u:{CANARY_DB_PASSWORD}@h/db\n"
        "2026-01-01 00:00:04,000 INFO     binbot.engine: order filled\n",
        encoding="utf-8")
    return path


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(sample: Sample, tmp_path: Path, log_file: Path) -> Iterator[AppFactory]:
    clients: list[TestClient] = []

    def factory(runtime: Runtime | None = None, bus: EventBus | None = None,
                settings: Settings | None = None, db_feed: bool = False,
                token: str | None = CANARY_TOKEN, **fields: object) -> TestClient:
        # TestClient's WebSocket requests name "testserver" as the Host.
        fields.setdefault("trusted_hosts", ("127.0.0.1", "testserver"))
        container = ApiContainer(
            settings=settings or make_settings(tmp_path), engine=sample.engine,
            bus=bus or EventBus(), runtime=runtime,
            token=SecretStr(token) if token is not None else None, log_file=log_file,
            db_feed=db_feed, extra_secrets=(CANARY_EXTRA,), **fields)  # type: ignore[arg-type]
        app = create_app(container)
        client = TestClient(app, base_url=BASE_URL)
        client.fastapi_app = app  # type: ignore[attr-defined]  # TestClient wraps the app
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()
