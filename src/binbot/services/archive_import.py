"""Import Binance archive kline files into the candle store: one transaction per file.

A file is parsed and validated completely before anything is written, then upserted in a
single transaction, so a bad file leaves the database untouched and a re-import adds nothing.
This is a bulk path (CLI, benchmarks) that writes directly; a running service writes candles
through its ``Writer`` instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
from sqlalchemy import Connection, Engine

from binbot.domain.market import Market
from binbot.services.kline_archive import ArchiveFormatError, KlineColumns, read_kline_file
from binbot.storage.candle_table import KEY_COLUMNS, VALUE_COLUMNS
from binbot.storage.database import write_transaction
from binbot.storage.packed import (
    INTEGER_COLUMNS,
    PACKED_COLUMNS,
    PACKED_SIZE,
    POSTGRES_PACK_SQL,
    pack_columns,
)

# Rows per multi-row INSERT: SQLite runs one statement for many rows (11 x 64 + 5 parameters,
# far under its limit of 32766). 32 to 256 measure the same; 1024 is slower.
_ROWS_PER_STATEMENT: Final = 64
# Bound for each row, in this order (parameters ?1..?11 are the first row's).
_ROW_COLUMNS: Final = tuple(name for name in PACKED_COLUMNS if name != "closed")
# The same for every row of a file: bound once per statement, after the rows' values.
_FILE_COLUMNS: Final = ("market", "symbol", "interval", "closed")
# Integers within +-2**53 are exact as float64 (epoch ms and trade counts always are).
_EXACT_FLOAT_INT: Final = 2**53
_IMPORT_CACHE_KIB: Final = -65_536  # negative: KiB (64 MiB) rather than pages


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: Path
    market: Market
    symbol: str
    interval: str
    rows: int
    new_rows: int
    seconds: float
    time_unit: str


@dataclass(frozen=True, slots=True)
class ImportFailure:
    path: Path
    error: ArchiveFormatError


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


# An imported row replaces every stored value of its candle (SQLite and PostgreSQL alike).
_ON_CONFLICT_UPDATE: Final = (
    f"ON CONFLICT ({_quoted(KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f'"{name}" = excluded."{name}"' for name in VALUE_COLUMNS))


Layout = tuple[np.ndarray[Any, Any], bytes]


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A validated file with its rows laid out for SQLite (numpy work, done in a thread)."""

    columns: KlineColumns
    # SQLite: each row's _ROW_COLUMNS values, and every row's packed BLOB back to back.
    # None when prepared for PostgreSQL, whose COPY reads the columns.
    layout: Layout | None


def prepare(columns: KlineColumns, dialect: str = "sqlite") -> PreparedFile:
    """Lay out the rows for SQLite's statements (nothing to do for PostgreSQL)."""
    return PreparedFile(columns, _sqlite_layout(columns) if dialect == "sqlite" else None)


def _sqlite_layout(columns: KlineColumns) -> Layout:
    values = {name: getattr(columns, name) for name in _ROW_COLUMNS}
    # One float64 matrix, cut into each statement's parameters by tolist() (in C): far cheaper
    # than an object array or a tuple per candle. SQLite stores an integral REAL bound to an
    # INTEGER column as an INTEGER, so the integer columns read back exactly as they were,
    # provided float64 holds them exactly; otherwise they go as Python ints.
    exact = all(int(values[name].min()) >= -_EXACT_FLOAT_INT
                and int(values[name].max()) <= _EXACT_FLOAT_INT for name in INTEGER_COLUMNS)
    table = np.empty((len(columns), len(_ROW_COLUMNS)), dtype=np.float64 if exact else object)
    for index, name in enumerate(_ROW_COLUMNS):
        table[:, index] = values[name] if exact else values[name].tolist()
    # Archive files hold finished candles only.
    return table, pack_columns({**values, "closed": True}, len(columns))


@lru_cache(maxsize=8)
def upsert_sql(rows: int = 1) -> str:
    """SQLite multi-row ``INSERT ... ON CONFLICT DO UPDATE`` of ``rows`` candles.

    Parameters: each row's ``_ROW_COLUMNS`` (``?1..?11`` for the first row), then the file's
    constants (``_FILE_COLUMNS``), then one BLOB holding the rows' ``packed`` values back to
    back, which ``substr`` cuts in SQL (binding one object per statement, not one per row).
    """
    width = len(_ROW_COLUMNS)
    after_rows = rows * width
    constants = ", ".join(f"?{after_rows + i}" for i in range(1, len(_FILE_COLUMNS) + 1))
    blob = after_rows + len(_FILE_COLUMNS) + 1
    values = ", ".join(
        f"({constants}, " + ", ".join(f"?{r * width + i}" for i in range(1, width + 1))
        + f", substr(?{blob}, {r * PACKED_SIZE + 1}, {PACKED_SIZE}))"
        for r in range(rows))
    return (
        f"INSERT INTO candles ({_quoted((*_FILE_COLUMNS, *_ROW_COLUMNS, 'packed'))}) "  # noqa: S608
        f"VALUES {values} {_ON_CONFLICT_UPDATE}"
    )


def _statement_params(prepared: PreparedFile, start: int, stop: int,
                      rows: int) -> Iterator[list[Any]]:
    """The parameters of ``upsert_sql(rows)`` for rows ``start..stop``, ``rows`` at a time.

    Built as they are bound, in the writing thread: built ahead in the parsing thread, they
    made the writer wait for the GIL (measured slower), and they took more memory.
    """
    columns = prepared.columns
    table, joined = prepared.layout or _sqlite_layout(columns)
    packed = memoryview(joined)
    constants: list[Any] = [columns.market.value, columns.symbol, columns.interval, 1]
    for first in range(start, stop, rows):
        params: list[Any] = table[first:first + rows].ravel().tolist()
        params += constants
        # A bytearray: the sqlite3 module binds it at once, where a bytes object first goes
        # through its adapter lookup (which costs about as much as binding a row's values).
        params.append(bytearray(packed[first * PACKED_SIZE:(first + rows) * PACKED_SIZE]))
        yield params


def _count(connection: Connection, columns: KlineColumns) -> int:
    marker = "?" if connection.dialect.name == "sqlite" else "%s"
    m = marker
    sql = (f'SELECT count(*) FROM candles WHERE market = {m} AND symbol = {m} '  # noqa: S608
           f'AND "interval" = {m} AND open_time >= {m} AND open_time <= {m}')
    params = (columns.market.value, columns.symbol, columns.interval,
              int(columns.open_time[0]), int(columns.open_time[-1]))
    return int(connection.exec_driver_sql(sql, params).scalar_one())


def write_prepared(connection: Connection, prepared: PreparedFile) -> int:
    """Upsert one validated file inside the caller's transaction; return the new rows."""
    before = _count(connection, prepared.columns)
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    try:
        if connection.dialect.name == "postgresql":
            _copy_postgres(cursor, prepared.columns)
        else:
            _insert_sqlite(cursor, prepared)
    finally:
        cursor.close()
    if before == 0:  # nothing in the file's range: every row is new (no count of them needed)
        return len(prepared.columns)
    return _count(connection, prepared.columns) - before


def _insert_sqlite(cursor: Any, prepared: PreparedFile) -> None:
    # A cache that holds the whole file's pages: none spill to the WAL mid-transaction.
    (cache_pages,) = cursor.execute("PRAGMA cache_size").fetchone()
    cursor.execute(f"PRAGMA cache_size = {_IMPORT_CACHE_KIB}")
    try:
        n = len(prepared.columns)
        whole = n - n % _ROWS_PER_STATEMENT
        if whole:
            cursor.executemany(upsert_sql(_ROWS_PER_STATEMENT),
                               _statement_params(prepared, 0, whole, _ROWS_PER_STATEMENT))
        if whole < n:
            [params] = _statement_params(prepared, whole, n, n - whole)
            cursor.execute(upsert_sql(n - whole), params)
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache_pages)}")


def _copy_postgres(cursor: Any, columns: KlineColumns) -> None:
    # COPY into a session-private staging table, then one set-based upsert: far fewer round
    # trips than INSERT statements. PostgreSQL packs the values itself (no BLOBs to send).
    copied = (*_FILE_COLUMNS, *_ROW_COLUMNS)
    constants = (columns.market.value, columns.symbol, columns.interval, True)
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS candles_import "
                   "(LIKE candles INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    with cursor.copy(f"COPY candles_import ({_quoted(copied)}) FROM STDIN") as copy:
        for row in zip(*(getattr(columns, name).tolist() for name in _ROW_COLUMNS),
                       strict=True):
            copy.write_row((*constants, *row))
    cursor.execute(
        f"INSERT INTO candles ({_quoted((*copied, 'packed'))}) "  # noqa: S608 - constants only
        f"SELECT {_quoted(copied)}, {POSTGRES_PACK_SQL} FROM candles_import "
        f"{_ON_CONFLICT_UPDATE}")
    cursor.execute("TRUNCATE candles_import")


def _write(engine: Engine, prepared: PreparedFile, started: float) -> ImportResult:
    columns = prepared.columns
    with write_transaction(engine) as connection:
        new_rows = write_prepared(connection, prepared)
    return ImportResult(columns.path, columns.market, columns.symbol, columns.interval,
                        len(columns), new_rows, time.perf_counter() - started, columns.time_unit)


def _read_and_prepare(path: Path, market: Market, symbol: str | None,
                      interval: str | None, dialect: str) -> PreparedFile:
    return prepare(read_kline_file(path, market, symbol, interval), dialect)


def import_kline_file(
    engine: Engine,
    path: Path,
    market: Market = Market.USDM,
    symbol: str | None = None,
    interval: str | None = None,
) -> ImportResult:
    """Validate then import one file; raises ``ArchiveFormatError`` with nothing written."""
    started = time.perf_counter()
    prepared = _read_and_prepare(path, market, symbol, interval, engine.dialect.name)
    return _write(engine, prepared, started)


def import_kline_files(
    engine: Engine,
    paths: Sequence[Path],
    market: Market = Market.USDM,
    symbol: str | None = None,
    interval: str | None = None,
    on_done: Callable[[ImportResult | ImportFailure], None] | None = None,
) -> list[ImportResult | ImportFailure]:
    """Import each file in its own transaction, in order; a bad file is reported and skipped.

    The next file is parsed in a helper thread while the current one is written (SQLite
    releases the GIL while it works), so parsing costs almost no wall time.
    """
    outcomes: list[ImportResult | ImportFailure] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="binbot-import") as pool:
        def submit(path: Path) -> Future[PreparedFile]:
            return pool.submit(_read_and_prepare, path, market, symbol, interval,
                               engine.dialect.name)

        upcoming = submit(paths[0]) if paths else None
        for index, path in enumerate(paths):
            started = time.perf_counter()
            assert upcoming is not None  # noqa: S101 - submitted for every index
            current = upcoming
            upcoming = submit(paths[index + 1]) if index + 1 < len(paths) else None
            outcome: ImportResult | ImportFailure
            try:
                outcome = _write(engine, current.result(), started)
            except ArchiveFormatError as e:
                outcome = ImportFailure(path, e)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return outcomes
