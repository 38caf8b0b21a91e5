"""Fixtures: the same storage tests on SQLite (a temp file) and PostgreSQL (a schema each)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.migrate import upgrade

PG_ENV = "BINBOT_TEST_POSTGRES_URL"
REPO_ROOT = Path(__file__).resolve().parents[3]
KLINES_DIR = REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"


class ColumnsOnly(SqlCandleStore):
    """The store as it read before ``candles.packed``: column by column (the reference)."""

    def _read_packed(self, *args: Any) -> bytes | None:
        return None


def postgres_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def make_db(tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """A factory ``make_db(backend) -> Engine`` for an empty, un-migrated database."""
    engines: list[tuple[Engine, str | None]] = []

    def factory(backend: str) -> Engine:
        if backend == "sqlite":
            engine = make_engine(sqlite_url(tmp_path / f"db{len(engines)}.sqlite"))
            engines.append((engine, None))
            return engine
        url = postgres_url()
        if url is None:
            pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. "
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test)")
        schema = f"binbot_test_{uuid.uuid4().hex[:12]}"
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        admin.dispose()
        engine = make_engine(url, pg_schema=schema)
        engines.append((engine, schema))
        return engine

    yield factory
    for engine, schema in engines:
        engine.dispose()
        if schema is not None:
            admin = make_engine(postgres_url() or "")
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_engine(make_db: Callable[[str], Engine], backend: str) -> Engine:
    """An empty database on each backend (no migrations applied)."""
    return make_db(backend)


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """A migrated database on each backend."""
    upgrade(empty_engine)
    return empty_engine
