"""The ``candles`` table (SQLAlchemy Core). Rows are mapped to ``Candle`` by ``candle_rows``.

The schema itself is created by the Alembic migrations (``0001``; ``0004`` adds ``packed``); this
description must match them (a test compares the two).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    text,
)

candle_metadata = MetaData()

candles = Table(
    "candles",
    candle_metadata,
    Column("market", String(8), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("interval", String(4), primary_key=True),
    Column("open_time", BigInteger, primary_key=True, autoincrement=False),
    Column("close_time", BigInteger, nullable=False),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=False),
    Column("quote_volume", Double, nullable=False),
    Column("trades", BigInteger, nullable=False),
    Column("taker_buy_volume", Double, nullable=False),
    Column("taker_buy_quote_volume", Double, nullable=False),
    Column("closed", Boolean, nullable=False),
    # Every value above in one BLOB (layout in ``packed.py``): bulk reads build one object per
    # row. NULL in rows not written by binbot; those are read through the columns.
    Column("packed", LargeBinary, nullable=True),
    # Only the rows lacking ``packed``: empty in practice, so "does this range have any?"
    # costs one probe instead of a scan.
    Index("ix_candles_unpacked", "market", "symbol", "interval", "open_time",
          sqlite_where=text("packed IS NULL"), postgresql_where=text("packed IS NULL")),
    # One B-tree ordered by the key: range reads of one series are sequential.
    sqlite_with_rowid=False,
)

KEY_COLUMNS: Final = ("market", "symbol", "interval", "open_time")
# Per-candle values in storage order (everything after the key).
VALUE_COLUMNS: Final = (
    "close_time", "open", "high", "low", "close", "volume", "quote_volume", "trades",
    "taker_buy_volume", "taker_buy_quote_volume", "closed", "packed",
)
ALL_COLUMNS: Final = KEY_COLUMNS + VALUE_COLUMNS
