"""SQLite backup and restore, with validation and the database lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.storage.backup import InvalidBackup, backup_sqlite, restore_sqlite, validate_backup
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.lock import DatabaseBusy, database_lock
from binbot.storage.migrate import SchemaTooNew, head_revisions, upgrade


def make_db(path: Path, candles: int) -> None:
    engine = make_engine(sqlite_url(path))
    upgrade(engine)
    SqlCandleStore(engine).write_candles([
        Candle(Market.USDM, "BTCUSDT", "1m", i * 60_000, i * 60_000 + 59_999, 1.0, 2.0, 0.5, 1.5,
               1.0, 1.0, 1, 0.5, 0.5, True) for i in range(candles)])
    engine.dispose()


def count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM candles").fetchone()[0])


def test_backup_copies_a_live_database(tmp_path: Path) -> None:
    db = tmp_path / "binbot.db"
    make_db(db, 5)
    copy = backup_sqlite(db, tmp_path / "backups" / "b.db")
    assert count(copy) == 5
    assert validate_backup(copy) == tuple(head_revisions())
    with pytest.raises(FileExistsError):
        backup_sqlite(db, copy)
    with pytest.raises(FileNotFoundError):
        backup_sqlite(tmp_path / "missing.db", tmp_path / "x.db")


def test_restore_replaces_content_and_keeps_the_previous_database(tmp_path: Path) -> None:
    db = tmp_path / "binbot.db"
    make_db(db, 5)
    backup = backup_sqlite(db, tmp_path / "b.db")
    SqlCandleStore(make_engine(sqlite_url(db))).write_candles([
        Candle(Market.USDM, "BTCUSDT", "1m", 600_000, 659_999, 1.0, 2.0, 0.5, 1.5, 1.0, 1.0, 1,
               0.5, 0.5, True)])
    assert count(db) == 6
    result = restore_sqlite(backup, db, tmp_path / "backups")
    assert count(db) == 5
    assert result.previous_copy is not None
    assert count(result.previous_copy) == 6
    assert result.revisions == tuple(head_revisions())


@pytest.mark.parametrize(("content", "message"), [
    (b"hello, not a database at all", "not a SQLite database"),
    (b"SQLite format 3\x00" + b"\x00" * 100, "unreadable|damaged|not a binbot"),
])
def test_invalid_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(content)
    db = tmp_path / "binbot.db"
    make_db(db, 3)
    with pytest.raises(InvalidBackup, match=message):
        restore_sqlite(bad, db, tmp_path / "backups")
    assert count(db) == 3
    assert not (tmp_path / "backups").exists()


def test_a_database_of_another_program_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE x (y INTEGER)")
    with pytest.raises(InvalidBackup, match="not a binbot database"):
        validate_backup(other)


def test_a_backup_from_a_newer_binbot_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    make_db(newer, 1)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'zz9999'")
    with pytest.raises(SchemaTooNew):
        validate_backup(newer)


def test_restore_refuses_while_the_database_is_held(tmp_path: Path) -> None:
    db = tmp_path / "binbot.db"
    make_db(db, 2)
    backup = backup_sqlite(db, tmp_path / "b.db")
    with database_lock(db), pytest.raises(DatabaseBusy, match="in use by another binbot"):
        restore_sqlite(backup, db, tmp_path / "backups")
    restore_sqlite(backup, db, tmp_path / "backups")  # free again once released
