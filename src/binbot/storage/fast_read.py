"""Read query results straight into numpy columns, skipping SQLAlchemy's row objects.

A million candles are twelve million values, and building Python objects for them costs more
than SQLite's own scan, so rows go from the DBAPI cursor straight into a structured numpy array
(``np.fromiter``), one column per field. Big reads can be split into time slices read by
threads: the sqlite3 module releases the GIL while SQLite steps, so one slice's scan overlaps
another's conversion.

Why not ADBC or another Arrow reader: they link their own copy of SQLite, and two SQLite
libraries in one process break each other's POSIX locks (sqlite.org "How To Corrupt", 2.2.1);
we measured stale snapshots doing exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sqlalchemy import Engine

Columns = dict[str, np.ndarray[Any, Any]]


def placeholder(engine: Engine) -> str:
    """The DBAPI parameter marker of ``engine``'s driver (qmark or format style)."""
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


def fetch_columns(
    engine: Engine, sql: str, params: Sequence[Any], dtypes: Mapping[str, np.dtype[Any]]
) -> Columns:
    """Run ``sql`` (selecting exactly ``dtypes``' columns, in order) into numpy arrays."""
    record = np.dtype([(name, dtype) for name, dtype in dtypes.items()])
    connection = engine.raw_connection()
    try:
        cursor: Any = connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            rows = np.fromiter(cursor, dtype=record)
        finally:
            cursor.close()
        connection.commit()  # end the read transaction (PostgreSQL opens one implicitly)
    finally:
        connection.close()
    return {name: np.ascontiguousarray(rows[name]) for name in dtypes}


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
