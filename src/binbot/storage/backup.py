"""SQLite backups and restores through SQLite's online backup API (safe while others read).

PostgreSQL databases are backed up with ``pg_dump``; ``pg_dump_hint`` says how.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.lock import database_lock
from binbot.storage.migrate import check_known, upgrade


class InvalidBackup(ValueError):
    """The file is not a usable binbot SQLite database."""


@dataclass(frozen=True, slots=True)
class RestoreResult:
    restored_from: Path
    previous_copy: Path | None
    revisions: tuple[str, ...]


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def backup_sqlite(db_path: Path, output: Path) -> Path:
    """Copy the live database ``db_path`` to ``output`` (a consistent snapshot)."""
    if not db_path.is_file():
        raise FileNotFoundError(f"no database at {db_path}")
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise FileExistsError(f"{output} exists; choose another --output")
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as source, \
            closing(sqlite3.connect(output)) as target:
        source.backup(target)
    return output


def validate_backup(path: Path) -> tuple[str, ...]:
    """Check ``path`` is an intact binbot database this version can open; return its revisions."""
    if not path.is_file():
        raise InvalidBackup(f"{path}: no such file")
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise InvalidBackup(f"{path}: not a SQLite database")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            (status,) = connection.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise InvalidBackup(f"{path}: unreadable SQLite database: {e}") from None
    if status != "ok":
        raise InvalidBackup(f"{path}: the database is damaged: {status}")
    if "alembic_version" not in tables:
        raise InvalidBackup(f"{path}: not a binbot database (no schema version)")
    engine = make_engine(sqlite_url(path))
    try:
        return check_known(engine)
    finally:
        engine.dispose()


def restore_sqlite(backup: Path, db_path: Path, copies_dir: Path) -> RestoreResult:
    """Replace ``db_path``'s content with ``backup``, keeping a copy of the current database.

    Refuses while another process holds the database lock; upgrades the restored schema.
    """
    validate_backup(backup)
    with database_lock(db_path):
        previous: Path | None = None
        if db_path.is_file():
            previous = backup_sqlite(db_path, copies_dir / f"before-restore-{timestamp()}.db")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(db_path)) as target:
            source.backup(target)
        result = upgrade(sqlite_url(db_path))
    return RestoreResult(backup, previous, result.after)


def pg_dump_hint(url: str) -> str:
    """How to back up (and restore) a PostgreSQL database, without echoing the password."""
    safe = make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    return (f"PostgreSQL databases are backed up with pg_dump: "
            f"pg_dump --format=custom --file binbot.dump '{safe}' "
            f"(restore with pg_restore --clean --dbname '{safe}' binbot.dump)")
