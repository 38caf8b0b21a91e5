"""``binbot db backup|restore|upgrade|status``: the database itself."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from binbot.cli.common import CommandError, settings_from_args
from binbot.config import Settings
from binbot.storage.backup import (
    InvalidBackup,
    backup_sqlite,
    pg_dump_hint,
    restore_sqlite,
    timestamp,
)
from binbot.storage.database import make_engine
from binbot.storage.lock import DatabaseBusy
from binbot.storage.migrate import SchemaTooNew, check_known, head_revisions, upgrade


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise CommandError(pg_dump_hint(settings.database_url))
    if not url.database or url.database == ":memory:":
        raise CommandError("the database is in memory; nothing to back up")
    return Path(url.database)


def _backups_dir(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def _backup(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    db_path = _sqlite_path(settings)
    output: Path = args.output or _backups_dir(settings) / f"binbot-{timestamp()}.db"
    try:
        written = backup_sqlite(db_path, output)
    except (FileNotFoundError, FileExistsError) as e:
        raise CommandError(str(e)) from e
    print(f"backed up {db_path} to {written}")  # noqa: T201
    return 0


def _restore(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    db_path = _sqlite_path(settings)
    try:
        result = restore_sqlite(args.file, db_path, _backups_dir(settings))
    except (InvalidBackup, SchemaTooNew, DatabaseBusy) as e:
        raise CommandError(str(e)) from e
    if result.previous_copy is not None:
        print(f"kept the previous database as {result.previous_copy}")  # noqa: T201
    print(f"restored {db_path} from {result.restored_from} "  # noqa: T201
          f"(schema {', '.join(result.revisions)})")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        result = upgrade(settings.database_url)
    except SchemaTooNew as e:
        raise CommandError(str(e)) from e
    before = ", ".join(result.before) or "empty"
    print(f"schema {before} -> {', '.join(result.after)}")  # noqa: T201
    return 0


def _status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = make_engine(settings.database_url)
    try:
        current = check_known(engine)
    except SchemaTooNew as e:
        raise CommandError(str(e)) from e
    finally:
        engine.dispose()
    heads = head_revisions()
    state = "up to date" if set(current) == set(heads) else "will be upgraded on start"
    print(f"schema {', '.join(current) or 'empty'}; this binbot: "  # noqa: T201
          f"{', '.join(heads)} ({state})")
    return 0


def register(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    db = subparsers.add_parser("db", help="back up, restore and upgrade the database")
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    backup = actions.add_parser(
        "backup", parents=[parent], help="copy the SQLite database (safe while running)",
        description="Online backup of the SQLite database (default: <data_dir>/backups/"
                    "binbot-<UTC time>.db). For PostgreSQL it prints the pg_dump command.")
    backup.add_argument("--output", type=Path, default=None, help="backup file to create")
    backup.set_defaults(func=_backup)
    restore = actions.add_parser(
        "restore", parents=[parent], help="replace the database with a backup",
        description="Checks the file (intact SQLite, a binbot schema this version knows), "
                    "refuses while a binbot process holds the database, keeps a copy of the "
                    "current database under <data_dir>/backups, then upgrades the schema.")
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.set_defaults(func=_restore)
    up = actions.add_parser("upgrade", parents=[parent], help="apply pending migrations")
    up.set_defaults(func=_upgrade)
    status = actions.add_parser("status", parents=[parent], help="show the schema revision")
    status.set_defaults(func=_status)
