"""candles.packed: every value of a candle in one BLOB (fast bulk reads), filled for old rows

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import struct
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of binbot.storage.packed at this revision: big-endian open_time, close_time
# (int64), open, high, low, close, volume, quote_volume (float64), trades (int64),
# taker_buy_volume, taker_buy_quote_volume (float64), closed (one byte), 89 bytes.
_LAYOUT: Final = struct.Struct(">qq6dq2d?")
_COLUMNS: Final = ('open_time, close_time, "open", high, low, "close", volume, quote_volume, '
                   'trades, taker_buy_volume, taker_buy_quote_volume, closed')
_POSTGRES_PACK: Final = (
    'int8send(open_time) || int8send(close_time) || float8send("open") || float8send(high)'
    ' || float8send(low) || float8send("close") || float8send(volume)'
    " || float8send(quote_volume) || int8send(trades) || float8send(taker_buy_volume)"
    " || float8send(taker_buy_quote_volume)"
    " || CASE WHEN closed THEN '\\x01'::bytea ELSE '\\x00'::bytea END"
)
_SQLITE_FUNCTION: Final = "binbot_pack_0004"
_KEY: Final = ["market", "symbol", "interval", "open_time"]


def _pack(open_time: int, close_time: int, open_: float, high: float, low: float,
          close: float, volume: float, quote_volume: float, trades: int,
          taker_buy_volume: float, taker_buy_quote_volume: float, closed: int) -> bytes:
    return _LAYOUT.pack(int(open_time), int(close_time), float(open_), float(high), float(low),
                        float(close), float(volume), float(quote_volume), int(trades),
                        float(taker_buy_volume), float(taker_buy_quote_volume), bool(closed))


def upgrade() -> None:
    with op.batch_alter_table("candles") as batch:  # SQLite: a plain ADD COLUMN, no copy
        batch.add_column(sa.Column("packed", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(f"UPDATE candles SET packed = {_POSTGRES_PACK}")  # noqa: S608 - constants
    else:
        # SQLite has no function that packs a float: register one on this connection for the
        # one statement (each row costs a few microseconds; no rows travel through Python).
        driver = connection.connection.driver_connection
        assert driver is not None  # noqa: S101 - an open connection
        driver.create_function(_SQLITE_FUNCTION, 12, _pack, deterministic=True)
        try:
            op.execute(f"UPDATE candles SET packed = {_SQLITE_FUNCTION}({_COLUMNS})")  # noqa: S608
        finally:
            driver.create_function(_SQLITE_FUNCTION, 12, None)
    op.create_index("ix_candles_unpacked", "candles", _KEY,
                    sqlite_where=sa.text("packed IS NULL"),
                    postgresql_where=sa.text("packed IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_candles_unpacked", table_name="candles")
    with op.batch_alter_table("candles") as batch:
        batch.drop_column("packed")
