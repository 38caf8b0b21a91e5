"""Read query results straight into numpy columns, skipping SQLAlchemy's row objects.

A million candles are twelve million values, and building Python objects for them costs more
than SQLite's own scan, so rows go from the DBAPI cursor straight into a structured numpy array
(``np.fromiter``), one column per field. Big reads can be split into time slices read by
threads: the sqlite3 module releases the GIL while SQLite steps, so one slice's scan overlaps
another's conversion.

Why not ADBC or another Arrow reader: they link their own copy of SQLite, and two SQLite
libraries in one process break each other's POSIX locks (sqlite.org "How To Corrupt", 2.2.1);
we measured stale snapshots doing exactly that.

Reading candles' ``packed`` BLOBs (``fetch_joined_blobs``, ``fetch_aggregated_blobs``) goes
further: one object per row on SQLite, none at all on PostgreSQL (``string_agg`` in binary).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import Engine

Columns = dict[str, np.ndarray[Any, Any]]


def placeholder(engine: Engine) -> str:
    """The DBAPI parameter marker of ``engine``'s driver (qmark or format style)."""
    return "?" if engine.dialect.paramstyle == "qmark" else "%s"


@contextmanager
def _driver_cursor(engine: Engine) -> Iterator[Any]:
    """A DBAPI cursor on a pooled connection; its read transaction ends on exit."""
    connection = engine.raw_connection()
    try:
        cursor: Any = connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        connection.commit()  # end the read transaction (PostgreSQL opens one implicitly)
    finally:
        connection.close()


def fetch_columns(
    engine: Engine, sql: str, params: Sequence[Any], dtypes: Mapping[str, np.dtype[Any]]
) -> Columns:
    """Run ``sql`` (selecting exactly ``dtypes``' columns, in order) into numpy arrays."""
    record = np.dtype([(name, dtype) for name, dtype in dtypes.items()])
    with _driver_cursor(engine) as cursor:
        cursor.execute(sql, tuple(params))
        rows = np.fromiter(cursor, dtype=record)
    return {name: np.ascontiguousarray(rows[name]) for name in dtypes}


def fetch_joined_blobs(engine: Engine, sql: str, params: Sequence[Any]) -> tuple[int, bytes] | None:
    """Run ``sql`` (selecting one BLOB column) and join the BLOBs: ``(rows, bytes)``.

    One Python object per row instead of one per value. ``None`` when a row's BLOB is NULL.
    """
    with _driver_cursor(engine) as cursor:
        cursor.execute(sql, tuple(params))
        blobs = [row[0] for row in cursor]
    try:
        return len(blobs), b"".join(blobs)
    except TypeError:  # a NULL among them
        return None


def fetch_aggregated_blobs(engine: Engine, sql: str, params: Sequence[Any]
                           ) -> tuple[int, int, bytes]:
    """PostgreSQL: run ``sql`` selecting ``count(*), count(blob), string_agg(blob, '')`` in one
    row, fetched in binary: the rows never become Python objects at all."""
    with _driver_cursor(engine) as cursor:
        cursor.execute(sql, tuple(params), binary=True)
        rows, present, joined = cursor.fetchone()
    return int(rows), int(present), bytes(joined or b"")


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
