"""The ``candles`` table (SQLAlchemy Core). Rows are mapped to ``Candle`` by ``candle_rows``.

The schema itself is created by the Alembic migration ``0001``; this description must match it
(a test compares the two).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, Boolean, Column, Double, MetaData, String, Table

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
    # One B-tree ordered by the key: range reads of one series are sequential.
    sqlite_with_rowid=False,
)

KEY_COLUMNS: Final = ("market", "symbol", "interval", "open_time")
# Per-candle values in storage order (everything after the key).
VALUE_COLUMNS: Final = (
    "close_time", "open", "high", "low", "close", "volume", "quote_volume", "trades",
    "taker_buy_volume", "taker_buy_quote_volume", "closed",
)
ALL_COLUMNS: Final = KEY_COLUMNS + VALUE_COLUMNS
