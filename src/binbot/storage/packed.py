"""``candles.packed``: every value of a candle in one 89-byte BLOB, for fast bulk reads.

Reading a million candles column by column makes the sqlite3 module build twelve million
Python objects, which costs far more than SQLite's scan. Reading one BLOB per row builds one,
and ``np.frombuffer`` turns the concatenated BLOBs into every column at once.

Layout (big-endian, no padding): ``open_time`` and ``close_time`` int64, ``open high low close
volume quote_volume`` float64, ``trades`` int64, ``taker_buy_volume taker_buy_quote_volume``
float64, ``closed`` one byte (0 or 1). Big-endian because it is what PostgreSQL's
``int8send``/``float8send`` produce, so PostgreSQL builds the same bytes in SQL (migration
backfill, bulk import); converting to native order on read is the copy that makes each column
contiguous anyway.

The separate columns stay the source of truth for SQL (ranges, gaps, charts). Every binbot
write fills ``packed`` with them; a row written without it (``packed IS NULL``: by hand, by an
older tool) is read through the columns instead. Changing this layout needs a migration that
rewrites every row.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

PACKED_COLUMNS: Final = (
    "open_time", "close_time", "open", "high", "low", "close", "volume", "quote_volume",
    "trades", "taker_buy_volume", "taker_buy_quote_volume", "closed",
)
# The int64 fields; every other one but ``closed`` is a float64.
INTEGER_COLUMNS: Final = frozenset({"open_time", "close_time", "trades"})

PACKED_DTYPE: Final = np.dtype([
    (name, "?" if name == "closed" else ">i8" if name in INTEGER_COLUMNS else ">f8")
    for name in PACKED_COLUMNS
])
PACKED_SIZE: Final = PACKED_DTYPE.itemsize  # 89
_STRUCT: Final = struct.Struct(">qq6dq2d?")
_UNPACK_BLOCK_ROWS: Final = 32_768  # ~3 MB of records

# The same bytes built by PostgreSQL from the columns of a ``candles`` row.
POSTGRES_PACK_SQL: Final = " || ".join(
    "CASE WHEN closed THEN '\\x01'::bytea ELSE '\\x00'::bytea END" if name == "closed"
    else f'{"int8send" if name in INTEGER_COLUMNS else "float8send"}("{name}")'
    for name in PACKED_COLUMNS
)

Columns = dict[str, np.ndarray[Any, Any]]


def pack_values(open_time: int, close_time: int, open_: float, high: float, low: float,
                close: float, volume: float, quote_volume: float, trades: int,
                taker_buy_volume: float, taker_buy_quote_volume: float, closed: bool) -> bytes:
    """One candle's BLOB (the live write path: a few candles at a time)."""
    return _STRUCT.pack(open_time, close_time, open_, high, low, close, volume, quote_volume,
                        trades, taker_buy_volume, taker_buy_quote_volume, closed)


def pack_columns(columns: Mapping[str, Any], rows: int) -> bytes:
    """The BLOBs of ``rows`` rows back to back, from whole columns (scalars broadcast):
    vectorised for bulk imports, which cut it with ``substr`` in SQL (no object per row)."""
    records = np.empty(rows, dtype=PACKED_DTYPE)
    for name in PACKED_COLUMNS:
        records[name] = columns[name]
    return records.tobytes()


def unpack(buffer: bytes, dtypes: Mapping[str, np.dtype[Any]]) -> Columns:
    """Concatenated BLOBs to native, contiguous columns of ``dtypes``, in open-time order."""
    records = np.frombuffer(buffer, dtype=PACKED_DTYPE)
    times = records["open_time"]
    if not np.all(times[1:] > times[:-1]):  # only if the database returned them unordered
        records = records[np.argsort(times, kind="stable")]
    columns = {name: np.empty(records.shape[0], dtype) for name, dtype in dtypes.items()}
    # Block by block, so each block stays in the CPU cache while its fields are copied out
    # (a whole column at a time strides through all the records once per column: 3x slower).
    for start in range(0, records.shape[0], _UNPACK_BLOCK_ROWS):
        block = records[start:start + _UNPACK_BLOCK_ROWS]
        for name, column in columns.items():
            column[start:start + _UNPACK_BLOCK_ROWS] = block[name]
    return columns
