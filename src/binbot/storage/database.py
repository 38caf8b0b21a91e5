"""Engines: SQLite (the default, a file under the data dir) or PostgreSQL (psycopg 3) by URL.

SQLite connections get WAL, a busy timeout and a configurable ``synchronous`` level on connect.
``NORMAL`` suits bulk data (candles, equity snapshots): WAL+NORMAL never corrupts the file but
may lose the last commits on power loss. Order intents gate a send, so their engine (or their
transaction, see ``Writer.run``) uses ``FULL``.

Transactions on SQLite start with ``BEGIN`` issued by us rather than by the sqlite3 module, so
a write transaction can ask for ``BEGIN IMMEDIATE`` (take the write lock up front and wait on
``busy_timeout``) instead of failing at once when a read lock cannot be upgraded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

DEFAULT_BUSY_TIMEOUT_MS: Final = 10_000
SQLITE_BEGIN_OPTION: Final = "binbot_sqlite_begin"


class UnsupportedDatabase(ValueError):
    """binbot stores its data in SQLite or PostgreSQL; other backends are refused up front."""

    def __init__(self, dialect_name: str) -> None:
        super().__init__(f"unsupported database {dialect_name!r}: binbot stores its data in "
                         "SQLite (the default) or PostgreSQL (database.url)")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; ``None`` for in-memory or other backends."""
    if not is_sqlite(engine):
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(
    url: str,
    *,
    synchronous: Synchronous = "NORMAL",
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    pg_schema: str | None = None,
) -> Engine:
    """Create an engine for ``url``; ``sqlite:///path`` creates the parent folder.

    ``pg_schema`` puts PostgreSQL sessions on that ``search_path`` (tests use a schema each).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UnsupportedDatabase(backend)
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads)
        _configure_sqlite(engine, synchronous, busy_timeout_ms)
        return engine
    connect_args: dict[str, Any] = {}
    if pg_schema is not None:
        connect_args["options"] = f"-csearch_path={pg_schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True,
                         json_serializer=_json_dumps, json_deserializer=orjson.loads)


def _json_dumps(value: Any) -> str:
    """JSON columns (bot state snapshots) are written on the trading path: orjson is ~10x
    faster than the standard library's encoder."""
    return orjson.dumps(value).decode()


def _configure_sqlite(engine: Engine, synchronous: Synchronous, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below opens transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction meant to write: ``BEGIN IMMEDIATE`` on SQLite, plain ``BEGIN`` elsewhere.

    Commits on normal exit, rolls back on an exception.
    """
    with engine.connect() as connection, begin_write(connection) as transaction_connection:
        yield transaction_connection


@contextmanager
def begin_write(connection: Connection) -> Iterator[Connection]:
    """Like ``write_transaction`` on a connection the caller holds (e.g. after a PRAGMA)."""
    if connection.dialect.name == "sqlite":
        connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    with connection.begin():
        yield connection


def set_synchronous(connection: Connection, level: Synchronous) -> None:
    """Change SQLite's ``synchronous`` for this connection (outside a transaction); no-op on PG."""
    if connection.dialect.name == "sqlite":
        # Through the driver: a SQLAlchemy execute would open a transaction first.
        driver: Any = connection.connection.driver_connection
        driver.execute(f"PRAGMA synchronous = {level}")
