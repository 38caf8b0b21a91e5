"""Engine setup: SQLite pragmas, write transactions, paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from binbot.storage.database import make_engine, sqlite_path, sqlite_url, write_transaction


def pragma(engine, name: str) -> object:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def test_sqlite_pragmas_and_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "b.db"
    engine = make_engine(sqlite_url(path), busy_timeout_ms=1234)
    assert pragma(engine, "journal_mode") == "wal"
    assert pragma(engine, "busy_timeout") == 1234
    assert pragma(engine, "synchronous") == 1  # NORMAL
    assert pragma(engine, "foreign_keys") == 1
    assert path.parent.is_dir()
    assert sqlite_path(engine) == path.resolve()
    engine.dispose()


def test_synchronous_is_configurable(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "f.db"), synchronous="FULL")
    assert pragma(engine, "synchronous") == 2
    engine.dispose()


def test_sqlite_path_is_none_for_memory_and_postgres() -> None:
    assert sqlite_path(make_engine("sqlite://")) is None
    assert sqlite_path(make_engine("postgresql+psycopg://u@127.0.0.1:1/x")) is None


def test_write_transaction_commits_and_rolls_back(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "t.db"))
    with write_transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")

    def insert_then_fail() -> None:
        with write_transaction(engine) as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        insert_then_fail()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
    engine.dispose()


def test_write_transaction_takes_the_write_lock_up_front(tmp_path: Path) -> None:
    first = make_engine(sqlite_url(tmp_path / "l.db"))
    second = make_engine(sqlite_url(tmp_path / "l.db"), busy_timeout_ms=50)
    with write_transaction(first) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        # BEGIN IMMEDIATE fails at once (after the busy timeout) instead of later, mid-way.
        with pytest.raises(OperationalError, match="locked"), write_transaction(second):
            pass
    # Readers are never blocked by the writer in WAL mode.
    with write_transaction(first) as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with second.connect() as reader:
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    first.dispose()
    second.dispose()


def test_an_unsupported_database_is_refused_up_front() -> None:
    from binbot.storage.database import UnsupportedDatabase, make_engine

    with pytest.raises(UnsupportedDatabase, match=r"SQLite .* or PostgreSQL"):
        make_engine("mysql+pymysql://root@127.0.0.1/test")
