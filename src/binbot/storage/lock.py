"""An advisory lock file next to a SQLite database: ``<db>.lock`` held with ``flock``.

The service holds it for its lifetime; ``binbot db restore`` refuses to run while someone else
holds it. The kernel drops the lock when the holder dies, so a crash never leaves it stale.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DatabaseBusy(RuntimeError):
    """Another process holds the database lock."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def database_lock(db_path: Path) -> Iterator[None]:
    """Hold the database's lock for the ``with`` block; ``DatabaseBusy`` if it is taken."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusy(f"{db_path} is in use by another binbot process "
                               f"(it holds {path}); stop it first") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
