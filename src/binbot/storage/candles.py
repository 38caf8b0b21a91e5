"""``SqlCandleStore``: the ``CandleStore`` port on SQLAlchemy, plus fast numpy/pandas reads.

Writes go through the database's ``Writer`` (batched upserts). Reads are plain functions
(``read_*``) that block; async callers use the coroutine twins, which run them in a worker
thread. Time ranges are half-open: ``start_ms <= open_time < end_ms``; ``None`` is unbounded.

Bulk reads take every value from ``candles.packed`` (see ``packed.py``), and read column by
column only a range where some row lacks it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from sqlalchemy import Engine

from binbot.domain.candle import Candle
from binbot.domain.market import Market, interval_ms, interval_start
from binbot.storage.candle_table import candles as candles_table
from binbot.storage.database import is_sqlite, sqlite_path, write_transaction
from binbot.storage.fast_read import (
    Columns,
    fetch_aggregated_blobs,
    fetch_columns_parallel,
    fetch_joined_blobs,
    placeholder,
)
from binbot.storage.packed import PACKED_DTYPE, PACKED_SIZE, pack_values, unpack
from binbot.storage.writer import Writer, upsert_rows

if TYPE_CHECKING:  # pandas costs ~90 MB of RSS: imported only when a frame is asked for
    import pandas as pd

log = logging.getLogger(__name__)

Array = np.ndarray[Any, Any]

_DTYPES: Final[dict[str, np.dtype[Any]]] = {
    "open_time": np.dtype(np.int64),
    "close_time": np.dtype(np.int64),
    "open": np.dtype(np.float64),
    "high": np.dtype(np.float64),
    "low": np.dtype(np.float64),
    "close": np.dtype(np.float64),
    "volume": np.dtype(np.float64),
    "quote_volume": np.dtype(np.float64),
    "trades": np.dtype(np.int64),
    "taker_buy_volume": np.dtype(np.float64),
    "taker_buy_quote_volume": np.dtype(np.float64),
    "closed": np.dtype(np.bool_),
}
# Column-by-column reads (rows without packed): below this many rows one query is as fast as
# two slices. Two threads are enough: the second one only overlaps SQLite's scan (GIL
# released) with the first one's object conversion. Packed reads gain nothing from threads.
_PARALLEL_MIN_ROWS: Final = 200_000
_MAX_READ_THREADS: Final = 2
# PostgreSQL returns packed rows aggregated, this many per bytea value (89 MiB: far below the
# 1 GB a value may hold).
_PG_ROWS_PER_AGGREGATE: Final = 1 << 20


@dataclass(frozen=True, slots=True, eq=False)
class CandleArrays:
    """The candles of one series as parallel numpy columns, in open-time order."""

    open_time: Array
    close_time: Array
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    quote_volume: Array
    trades: Array
    taker_buy_volume: Array
    taker_buy_quote_volume: Array
    closed: Array

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    def as_dict(self) -> dict[str, Array]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.as_dict())


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    market: Market
    symbol: str
    interval: str
    count: int
    first_open_time: int
    last_open_time: int


def candle_to_row(candle: Candle) -> dict[str, Any]:
    """Explicit mapping from the domain object to a ``candles`` row."""
    return {
        "market": candle.market.value,
        "symbol": candle.symbol,
        "interval": candle.interval,
        "open_time": candle.open_time,
        "close_time": candle.close_time,
        "open": candle.open,
        "high": candle.high,
        "low": candle.low,
        "close": candle.close,
        "volume": candle.volume,
        "quote_volume": candle.quote_volume,
        "trades": candle.trades,
        "taker_buy_volume": candle.taker_buy_volume,
        "taker_buy_quote_volume": candle.taker_buy_quote_volume,
        "closed": candle.closed,
        "packed": pack_values(candle.open_time, candle.close_time, candle.open, candle.high,
                              candle.low, candle.close, candle.volume, candle.quote_volume,
                              candle.trades, candle.taker_buy_volume,
                              candle.taker_buy_quote_volume, candle.closed),
    }


def candles_from_arrays(market: Market, symbol: str, interval: str,
                        arrays: CandleArrays) -> list[Candle]:
    """Explicit mapping from stored columns back to domain candles."""
    columns = [arrays.open_time.tolist(), arrays.close_time.tolist(), arrays.open.tolist(),
               arrays.high.tolist(), arrays.low.tolist(), arrays.close.tolist(),
               arrays.volume.tolist(), arrays.quote_volume.tolist(), arrays.trades.tolist(),
               arrays.taker_buy_volume.tolist(), arrays.taker_buy_quote_volume.tolist(),
               arrays.closed.tolist()]
    return [
        Candle(market=market, symbol=symbol, interval=interval, open_time=ot, close_time=ct,
               open=o, high=h, low=lo, close=c, volume=v, quote_volume=qv, trades=n,
               taker_buy_volume=tb, taker_buy_quote_volume=tq, closed=closed)
        for ot, ct, o, h, lo, c, v, qv, n, tb, tq, closed in zip(*columns, strict=True)
    ]


class SqlCandleStore:
    """Candles in SQL. ``writer`` is required for the async ``upsert``; reads never need it."""

    def __init__(self, engine: Engine, writer: Writer | None = None) -> None:
        self._engine = engine
        self._writer = writer

    @property
    def engine(self) -> Engine:
        return self._engine

    # -- the CandleStore port ------------------------------------------------------------------

    async def upsert(self, candles: Sequence[Candle]) -> None:
        rows = [candle_to_row(c) for c in candles]
        if self._writer is None:
            await asyncio.to_thread(self._write_rows, rows)
        else:
            await self._writer.upsert(candles_table, rows)

    async def flush(self) -> None:
        if self._writer is not None:
            await self._writer.flush()

    async def last_closed_open_time(self, market: Market, symbol: str, interval: str) -> int | None:
        return await asyncio.to_thread(self.read_last_open_time, market, symbol, interval, True)

    async def count(self, market: Market, symbol: str, interval: str) -> int:
        return await asyncio.to_thread(self.read_count, market, symbol, interval)

    # -- async twins of the reads ------------------------------------------------------------

    async def last_open_time(self, market: Market, symbol: str, interval: str) -> int | None:
        return await asyncio.to_thread(self.read_last_open_time, market, symbol, interval, False)

    async def arrays(self, market: Market, symbol: str, interval: str,
                     start_ms: int | None = None, end_ms: int | None = None) -> CandleArrays:
        return await asyncio.to_thread(self.read_arrays, market, symbol, interval, start_ms, end_ms)

    async def frame(self, market: Market, symbol: str, interval: str,
                    start_ms: int | None = None, end_ms: int | None = None) -> pd.DataFrame:
        return await asyncio.to_thread(self.read_frame, market, symbol, interval, start_ms, end_ms)

    async def candles(self, market: Market, symbol: str, interval: str,
                      start_ms: int | None = None, end_ms: int | None = None) -> list[Candle]:
        return await asyncio.to_thread(self.read_candles, market, symbol, interval, start_ms,
                                       end_ms)

    async def missing_ranges(self, market: Market, symbol: str, interval: str, start_ms: int,
                             end_ms: int) -> list[tuple[int, int]]:
        return await asyncio.to_thread(self.read_missing_ranges, market, symbol, interval,
                                       start_ms, end_ms)

    # -- blocking writes (bulk import; the live path uses the writer) ------------------------

    def write_candles(self, candles: Iterable[Candle]) -> None:
        """Upsert ``candles`` in one transaction now (blocking)."""
        self._write_rows([candle_to_row(c) for c in candles])

    def _write_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        with write_transaction(self._engine) as connection:
            upsert_rows(connection, candles_table, rows)

    # -- blocking reads ------------------------------------------------------------------------

    def _where(self, market: Market, symbol: str, interval: str, start_ms: int | None,
               end_ms: int | None) -> tuple[str, list[Any]]:
        p = placeholder(self._engine)
        clauses = [f'market = {p}', f'symbol = {p}', f'"interval" = {p}']
        params: list[Any] = [Market(market).value, symbol, interval]
        if start_ms is not None:
            clauses.append(f"open_time >= {p}")
            params.append(int(start_ms))
        if end_ms is not None:
            clauses.append(f"open_time < {p}")
            params.append(int(end_ms))
        return " AND ".join(clauses), params

    def _scalar_row(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...]:
        with self._engine.connect() as connection:
            row = connection.exec_driver_sql(sql, tuple(params)).one()
            return tuple(row)

    def read_count(self, market: Market, symbol: str, interval: str,
                   start_ms: int | None = None, end_ms: int | None = None) -> int:
        where, params = self._where(market, symbol, interval, start_ms, end_ms)
        (count,) = self._scalar_row(f"SELECT count(*) FROM candles WHERE {where}", params)  # noqa: S608
        return int(count)

    def read_bounds(self, market: Market, symbol: str, interval: str,
                    start_ms: int | None = None, end_ms: int | None = None
                    ) -> tuple[int, int, int] | None:
        """``(first open time, last open time, count)`` in the range, or ``None`` if empty."""
        where, params = self._where(market, symbol, interval, start_ms, end_ms)
        sql = f"SELECT min(open_time), max(open_time), count(*) FROM candles WHERE {where}"  # noqa: S608
        first, last, count = self._scalar_row(sql, params)
        if not count:
            return None
        return int(first), int(last), int(count)

    def read_last_open_time(self, market: Market, symbol: str, interval: str,
                            closed_only: bool = False) -> int | None:
        where, params = self._where(market, symbol, interval, None, None)
        if closed_only:
            where += f" AND closed = {placeholder(self._engine)}"
            params.append(True)
        (last,) = self._scalar_row(f"SELECT max(open_time) FROM candles WHERE {where}", params)  # noqa: S608
        return None if last is None else int(last)

    def read_arrays(self, market: Market, symbol: str, interval: str,
                    start_ms: int | None = None, end_ms: int | None = None) -> CandleArrays:
        """All stored candles of the series in the range, as numpy columns."""
        return CandleArrays(**self.read_columns(market, symbol, interval, tuple(_DTYPES),
                                                start_ms, end_ms))

    def read_columns(self, market: Market, symbol: str, interval: str,
                     columns: Sequence[str] = ("open_time", "open", "high", "low", "close",
                                               "volume"),
                     start_ms: int | None = None, end_ms: int | None = None) -> Columns:
        """Only some columns (default: time and OHLCV): from ``packed``, or column by column
        when a row in the range lacks it."""
        unknown = [name for name in columns if name not in _DTYPES]
        if unknown:
            raise ValueError(f"unknown candle columns {unknown}; known: {', '.join(_DTYPES)}")
        dtypes = {name: _DTYPES[name] for name in columns}
        packed = self._read_packed(market, symbol, interval, start_ms, end_ms)
        if packed is not None:
            return unpack(packed, dtypes)
        select = ", ".join(f'"{name}"' for name in dtypes)
        queries = [
            (f"SELECT {select} FROM candles WHERE {where} ORDER BY open_time", params)  # noqa: S608
            for where, params in self._slices(market, symbol, interval, start_ms, end_ms)
        ]
        return fetch_columns_parallel(self._engine, queries, dtypes, workers=len(queries))

    def _read_packed(self, market: Market, symbol: str, interval: str, start_ms: int | None,
                     end_ms: int | None) -> bytes | None:
        """The range's ``packed`` BLOBs joined, or ``None`` if a row lacks one (then the caller
        reads the columns)."""
        where, params = self._where(market, symbol, interval, start_ms, end_ms)
        # The partial index holds only rows without packed; SQLite must be told to use it.
        hint = " INDEXED BY ix_candles_unpacked" if is_sqlite(self._engine) else ""
        unpacked = f"SELECT 1 FROM candles{hint} WHERE {where} AND packed IS NULL LIMIT 1"  # noqa: S608
        with self._engine.connect() as connection:
            if connection.exec_driver_sql(unpacked, tuple(params)).first() is not None:
                return None
        if is_sqlite(self._engine):
            found = fetch_joined_blobs(
                self._engine, f"SELECT packed FROM candles WHERE {where} ORDER BY open_time",  # noqa: S608
                params)
        else:
            found = self._read_packed_postgres(market, symbol, interval, start_ms, end_ms)
        if found is None:  # a row without packed arrived after the check
            return None
        rows, joined = found
        if len(joined) != rows * PACKED_SIZE:
            log.warning("candles %s %s %s: packed values of the wrong size; reading columns",
                        Market(market).value, symbol, interval)
            return None
        return joined

    def _read_packed_postgres(self, market: Market, symbol: str, interval: str,
                              start_ms: int | None, end_ms: int | None
                              ) -> tuple[int, bytes] | None:
        """``(rows, joined BLOBs)`` aggregated ``_PG_ROWS_PER_AGGREGATE`` rows at a time.

        ``string_agg`` keeps its input's order in practice but not by promise; ``unpack``
        checks the order (the open time is inside each BLOB) and sorts if it must.
        """
        parts: list[bytes] = []
        total = 0
        start = start_ms
        while True:
            where, params = self._where(market, symbol, interval, start, end_ms)
            rows, present, joined = fetch_aggregated_blobs(
                self._engine,
                "SELECT count(*), count(packed), string_agg(packed, ''::bytea) FROM ("  # noqa: S608
                f"SELECT packed FROM candles WHERE {where} ORDER BY open_time "
                f"LIMIT {_PG_ROWS_PER_AGGREGATE}) AS chunk", params)
            if present != rows:
                return None
            total += rows
            parts.append(joined)
            if rows < _PG_ROWS_PER_AGGREGATE or len(joined) != rows * PACKED_SIZE:
                return total, b"".join(parts)
            start = int(np.frombuffer(joined, dtype=PACKED_DTYPE)["open_time"].max()) + 1

    def _slices(self, market: Market, symbol: str, interval: str, start_ms: int | None,
                end_ms: int | None) -> list[tuple[str, list[Any]]]:
        """Split a big SQLite read into time slices that threads can read in parallel."""
        threads = min(_MAX_READ_THREADS, os.cpu_count() or 1)
        if sqlite_path(self._engine) is None or threads < 2:
            return [self._where(market, symbol, interval, start_ms, end_ms)]
        bounds = self.read_bounds(market, symbol, interval, start_ms, end_ms)
        if bounds is None or bounds[2] < _PARALLEL_MIN_ROWS:
            return [self._where(market, symbol, interval, start_ms, end_ms)]
        first, last, _ = bounds
        edges = [first + (last + 1 - first) * i // threads for i in range(threads + 1)]
        return [self._where(market, symbol, interval, lo, hi) for lo, hi in
                itertools.pairwise(edges)]

    def read_frame(self, market: Market, symbol: str, interval: str,
                   start_ms: int | None = None, end_ms: int | None = None) -> pd.DataFrame:
        return self.read_arrays(market, symbol, interval, start_ms, end_ms).to_frame()

    def read_candles(self, market: Market, symbol: str, interval: str,
                     start_ms: int | None = None, end_ms: int | None = None) -> list[Candle]:
        arrays = self.read_arrays(market, symbol, interval, start_ms, end_ms)
        return candles_from_arrays(Market(market), symbol, interval, arrays)

    def read_missing_ranges(self, market: Market, symbol: str, interval: str, start_ms: int,
                            end_ms: int) -> list[tuple[int, int]]:
        """Open times missing in ``[start_ms, end_ms)``, as inclusive ``(first, last)`` runs."""
        step = interval_ms(interval)
        first_expected = interval_start(start_ms, interval)
        if first_expected < start_ms:
            first_expected += step
        last_expected = interval_start(end_ms - 1, interval)
        if last_expected < first_expected:
            return []
        where, params = self._where(market, symbol, interval, first_expected, last_expected + 1)
        p = placeholder(self._engine)
        sql = (
            "SELECT prev_time, open_time FROM ("  # noqa: S608 - only placeholders are interpolated
            " SELECT open_time, LAG(open_time) OVER (ORDER BY open_time) AS prev_time"
            f" FROM candles WHERE {where}) AS series"
            f" WHERE prev_time IS NULL OR open_time - prev_time > {p} ORDER BY open_time"
        )
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql(sql, (*params, step)).all()
        bounds = self.read_bounds(market, symbol, interval, first_expected, last_expected + 1)
        if bounds is None:
            return [(first_expected, last_expected)]
        first, last, _ = bounds
        missing: list[tuple[int, int]] = []
        if first > first_expected:
            missing.append((first_expected, first - step))
        missing.extend((int(prev) + step, int(current) - step)
                       for prev, current in rows if prev is not None)
        if last < last_expected:
            missing.append((last + step, last_expected))
        return missing

    def read_series(self) -> list[SeriesInfo]:
        """Every stored (market, symbol, interval) with its size and time span."""
        sql = ('SELECT market, symbol, "interval", count(*), min(open_time), max(open_time) '
               'FROM candles GROUP BY market, symbol, "interval" '
               'ORDER BY market, symbol, "interval"')
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql(sql).all()
        return [SeriesInfo(Market(m), s, i, int(n), int(a), int(b)) for m, s, i, n, a, b in rows]
