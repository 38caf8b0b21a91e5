"""Read query results straight into numpy columns, skipping SQLAlchemy's row objects.

Building a Python object per value costs more than SQLite's own scan (a million candles are
twelve million values), so a SQLite file is read through ADBC, which fills Arrow columns in C
without holding the GIL: several time slices can then be read in parallel threads. Other
backends (and in-memory SQLite) go through the DBAPI cursor and ``np.fromiter``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from binbot.storage.database import sqlite_path

Columns = dict[str, np.ndarray[Any, Any]]


def placeholder(engine: Engine) -> str:
    """The DBAPI parameter marker of ``engine``'s driver (qmark or format style)."""
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def fetch_columns(
    engine: Engine, sql: str, params: Sequence[Any], dtypes: Mapping[str, np.dtype[Any]]
) -> Columns:
    """Run ``sql`` (selecting exactly ``dtypes``' columns, in order) into numpy arrays."""
    path = sqlite_path(engine)
    if path is not None and path.exists():
        return _fetch_adbc(path, sql, params, dtypes)
    return _fetch_dbapi(engine, sql, params, dtypes)


def fetch_columns_parallel(
    engine: Engine,
    queries: Sequence[tuple[str, Sequence[Any]]],
    dtypes: Mapping[str, np.dtype[Any]],
    workers: int,
) -> Columns:
    """Run several queries (disjoint slices, in order) concurrently and concatenate them."""
    if len(queries) == 1 or workers <= 1:
        parts = [fetch_columns(engine, sql, params, dtypes) for sql, params in queries]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="binbot-read") as pool:
            parts = list(pool.map(lambda q: fetch_columns(engine, q[0], q[1], dtypes), queries))
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([part[name] for part in parts]) for name in dtypes}


def _fetch_adbc(
    path: Path, sql: str, params: Sequence[Any], dtypes: Mapping[str, np.dtype[Any]]
) -> Columns:
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    with adbc_sqlite.connect(str(path)) as connection, connection.cursor() as cursor:
        cursor.execute(sql, tuple(params))
        table = cursor.fetch_arrow_table()
    columns: Columns = {}
    for index, (name, dtype) in enumerate(dtypes.items()):
        values = table.column(index).to_numpy()
        columns[name] = np.ascontiguousarray(values, dtype=dtype)
    return columns


def _fetch_dbapi(
    engine: Engine, sql: str, params: Sequence[Any], dtypes: Mapping[str, np.dtype[Any]]
) -> Columns:
    record = np.dtype([(name, dtype) for name, dtype in dtypes.items()])
    connection = engine.raw_connection()
    try:
        cursor: Any = connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            rows = np.fromiter((tuple(row) for row in cursor), dtype=record)
        finally:
            cursor.close()
        connection.commit()  # end the read transaction (PostgreSQL opens one implicitly)
    finally:
        connection.close()
    return {name: np.ascontiguousarray(rows[name]) for name in dtypes}
