"""Import Binance archive kline files into the candle store: one transaction per file.

A file is parsed and validated completely before anything is written, then upserted in a
single transaction, so a bad file leaves the database untouched and a re-import adds nothing.
This is a bulk path (CLI, benchmarks) that writes directly; a running service writes candles
through its ``Writer`` instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from sqlalchemy import Connection, Engine

from binbot.domain.market import Market
from binbot.services.kline_archive import ArchiveFormatError, KlineColumns, read_kline_file
from binbot.storage.candle_table import ALL_COLUMNS, KEY_COLUMNS, VALUE_COLUMNS
from binbot.storage.database import write_transaction
from binbot.storage.packed import PACKED_COLUMNS, POSTGRES_PACK_SQL, pack_columns

# Rows per multi-row INSERT: 4 + 64 x 12 parameters stays under SQLite's 32766 limit, and
# runs the statement a 64th as often as one row per execute.
_ROWS_PER_STATEMENT: Final = 64
# The same for every row of a file: bound once per statement (SQLite's numbered ?1..?4), so
# each row binds only its own 12 values. That saves about what the packed BLOB costs to store.
_FILE_COLUMNS: Final = ("market", "symbol", "interval", "closed")
_ROW_COLUMNS: Final = (*(name for name in ALL_COLUMNS if name not in (*_FILE_COLUMNS, "packed")),
                       "packed")  # last: PostgreSQL's COPY leaves it out
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


def upsert_sql(rows: int = 1) -> str:
    """SQLite multi-row ``INSERT ... ON CONFLICT DO UPDATE`` of ``rows`` candles: parameters
    ``?1..?4`` are the file's constants (``_FILE_COLUMNS``), then each row's ``_ROW_COLUMNS``."""
    width, first = len(_ROW_COLUMNS), len(_FILE_COLUMNS) + 1
    constants = ", ".join(f"?{i}" for i in range(1, first))
    values = ", ".join(
        f"({constants}, " + ", ".join(f"?{first + r * width + i}" for i in range(width)) + ")"
        for r in range(rows))
    updates = ", ".join(f'"{name}" = excluded."{name}"' for name in VALUE_COLUMNS)
    return (
        f"INSERT INTO candles ({_quoted(_FILE_COLUMNS + _ROW_COLUMNS)}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({_quoted(KEY_COLUMNS)}) DO UPDATE SET {updates}"
    )


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A validated file with its statement parameters built (work that can run in a thread)."""

    columns: KlineColumns
    constants: list[Any]  # the values of _FILE_COLUMNS
    blocks: list[list[Any]]  # per multi-row statement: the constants, then each row's values
    tail: list[list[Any]]  # the remaining rows: the constants, then the row's values


def prepare(columns: KlineColumns) -> PreparedFile:
    n = len(columns)
    values = {name: getattr(columns, name) for name in PACKED_COLUMNS if name != "closed"}
    # Archive files hold finished candles only.
    constants: list[Any] = [columns.market.value, columns.symbol, columns.interval, True]
    # One object array filled column by column, then cut into statement-sized rows: much
    # faster than building and flattening a tuple per candle.
    table = np.empty((n, len(_ROW_COLUMNS)), dtype=object)
    for index, name in enumerate(_ROW_COLUMNS[:-1]):
        table[:, index] = values[name].tolist()
    table[:, -1] = pack_columns({**values, "closed": True}, n)
    whole = n - n % _ROWS_PER_STATEMENT
    # Each statement's parameters: the constants, then its rows (copied as pointers, in C).
    per_block = _ROWS_PER_STATEMENT * len(_ROW_COLUMNS)
    blocks = np.empty((whole // _ROWS_PER_STATEMENT, len(constants) + per_block), dtype=object)
    blocks[:, :len(constants)] = constants
    blocks[:, len(constants):] = table[:whole].reshape(blocks.shape[0], per_block)
    return PreparedFile(columns, constants, blocks.tolist(),
                        [constants + row for row in table[whole:].tolist()])


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
            _copy_postgres(cursor, prepared)
        else:
            _insert_sqlite(cursor, prepared)
    finally:
        cursor.close()
    return _count(connection, prepared.columns) - before


def _insert_sqlite(cursor: Any, prepared: PreparedFile) -> None:
    # A cache that holds the whole file's pages: none spill to the WAL mid-transaction.
    (cache_pages,) = cursor.execute("PRAGMA cache_size").fetchone()
    cursor.execute(f"PRAGMA cache_size = {_IMPORT_CACHE_KIB}")
    try:
        if prepared.blocks:
            cursor.executemany(upsert_sql(_ROWS_PER_STATEMENT), prepared.blocks)
        if prepared.tail:
            cursor.executemany(upsert_sql(), prepared.tail)
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache_pages)}")


def _copy_postgres(cursor: Any, prepared: PreparedFile) -> None:
    # COPY into a session-private staging table, then one set-based upsert: far fewer round
    # trips than INSERT statements. PostgreSQL packs the values itself (no BLOBs to send).
    copied = _FILE_COLUMNS + _ROW_COLUMNS[:-1]  # all but packed, the last one
    width, skip = len(_ROW_COLUMNS), len(_FILE_COLUMNS)
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS candles_import "
                   "(LIKE candles INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    with cursor.copy(f"COPY candles_import ({_quoted(copied)}) FROM STDIN") as copy:
        for block in (*prepared.blocks, *prepared.tail):
            for start in range(skip, len(block), width):
                copy.write_row(prepared.constants + block[start:start + width - 1])
    updates = ", ".join(f'"{name}" = excluded."{name}"' for name in VALUE_COLUMNS)
    cursor.execute(
        f"INSERT INTO candles ({_quoted((*copied, 'packed'))}) "  # noqa: S608 - constants only
        f"SELECT {_quoted(copied)}, {POSTGRES_PACK_SQL} FROM candles_import "
        f"ON CONFLICT ({_quoted(KEY_COLUMNS)}) DO UPDATE SET {updates}")
    cursor.execute("TRUNCATE candles_import")


def _write(engine: Engine, prepared: PreparedFile, started: float) -> ImportResult:
    columns = prepared.columns
    with write_transaction(engine) as connection:
        new_rows = write_prepared(connection, prepared)
    return ImportResult(columns.path, columns.market, columns.symbol, columns.interval,
                        len(columns), new_rows, time.perf_counter() - started, columns.time_unit)


def _read_and_prepare(path: Path, market: Market, symbol: str | None,
                      interval: str | None) -> PreparedFile:
    return prepare(read_kline_file(path, market, symbol, interval))


def import_kline_file(
    engine: Engine,
    path: Path,
    market: Market = Market.USDM,
    symbol: str | None = None,
    interval: str | None = None,
) -> ImportResult:
    """Validate then import one file; raises ``ArchiveFormatError`` with nothing written."""
    started = time.perf_counter()
    return _write(engine, _read_and_prepare(path, market, symbol, interval), started)


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
            return pool.submit(_read_and_prepare, path, market, symbol, interval)

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
