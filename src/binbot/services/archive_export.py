"""Export stored candles: Binance-archive CSV, Parquet, or a SQL script.

- ``csv``: the archive's twelve columns with a header row (``.csv.gz`` compresses), closed
  candles only (the format has no "closed" flag); ``binbot data import`` reads it back.
- ``parquet``: every stored column plus market/symbol/interval, typed (int64/float64/bool).
- ``sql`` (SQLite: ``sqlite3 db < file.sql``) and ``sql-postgres`` (``psql -f file.sql``): a
  text script (``BEGIN``; ``CREATE TABLE IF NOT EXISTS candles``; multi-row ``INSERT ... ON
  CONFLICT DO NOTHING``; ``COMMIT``) that loads into any database, a binbot one included.
  The rows carry ``candles.packed`` too, so binbot reads them at full speed (a row without it
  is read column by column). Its bytes need each database's own BLOB syntax (SQLite ``X'..'``,
  PostgreSQL ``E'\\\\x..'::bytea``): no one script can serve both.
Floats are written with Python's shortest round-trip repr, so every format reads back exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import pandas as pd

from binbot.domain.market import Market
from binbot.services.kline_archive import ARCHIVE_COLUMNS
from binbot.storage.candle_table import ALL_COLUMNS
from binbot.storage.candles import CandleArrays
from binbot.storage.packed import PACKED_SIZE, pack_columns

ExportFormat = Literal["csv", "parquet", "sql", "sql-postgres"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("csv", "parquet", "sql", "sql-postgres")
SqlDialect = Literal["sqlite", "postgresql"]
_SQL_ROWS_PER_INSERT: Final = 500

# The packed BLOB's type and the literal of its bytes (``{}``: hex digits) in each database.
# No comma in a literal: the rows are written by a CSV writer, which would quote it. An E''
# string reads the same whatever PostgreSQL's standard_conforming_strings says.
_BLOB_TYPE: Final[dict[SqlDialect, str]] = {"sqlite": "BLOB", "postgresql": "BYTEA"}
_BLOB_LITERAL: Final[dict[SqlDialect, str]] = {"sqlite": "X'{}'",
                                               "postgresql": "E'\\\\x{}'::bytea"}
_CREATE_TABLE: Final = """CREATE TABLE IF NOT EXISTS candles (
    market VARCHAR(8) NOT NULL,
    symbol VARCHAR(32) NOT NULL,
    "interval" VARCHAR(4) NOT NULL,
    open_time BIGINT NOT NULL,
    close_time BIGINT NOT NULL,
    open DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL,
    low DOUBLE PRECISION NOT NULL,
    close DOUBLE PRECISION NOT NULL,
    volume DOUBLE PRECISION NOT NULL,
    quote_volume DOUBLE PRECISION NOT NULL,
    trades BIGINT NOT NULL,
    taker_buy_volume DOUBLE PRECISION NOT NULL,
    taker_buy_quote_volume DOUBLE PRECISION NOT NULL,
    closed BOOLEAN NOT NULL,
    packed {blob_type},
    PRIMARY KEY (market, symbol, "interval", open_time)
);
"""


def archive_frame(arrays: CandleArrays) -> pd.DataFrame:
    """The closed candles in the archive's column layout."""
    closed = arrays.closed
    return pd.DataFrame({
        "open_time": arrays.open_time[closed], "open": arrays.open[closed],
        "high": arrays.high[closed], "low": arrays.low[closed], "close": arrays.close[closed],
        "volume": arrays.volume[closed], "close_time": arrays.close_time[closed],
        "quote_volume": arrays.quote_volume[closed], "count": arrays.trades[closed],
        "taker_buy_volume": arrays.taker_buy_volume[closed],
        "taker_buy_quote_volume": arrays.taker_buy_quote_volume[closed],
        "ignore": 0,
    }, columns=list(ARCHIVE_COLUMNS))


def full_frame(market: Market, symbol: str, interval: str, arrays: CandleArrays) -> pd.DataFrame:
    frame = arrays.to_frame()
    frame.insert(0, "interval", interval)
    frame.insert(0, "symbol", symbol)
    frame.insert(0, "market", Market(market).value)
    return frame


def write_csv(arrays: CandleArrays, output: Path) -> int:
    frame = archive_frame(arrays)
    frame.to_csv(output, index=False)
    return len(frame)


def write_parquet(market: Market, symbol: str, interval: str, arrays: CandleArrays,
                  output: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = full_frame(market, symbol, interval, arrays)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), output)
    return len(frame)


def _sql_literal_frame(market: Market, symbol: str, interval: str, arrays: CandleArrays,
                       dialect: SqlDialect) -> pd.DataFrame:
    frame = full_frame(market, symbol, interval, arrays)
    for name in ("market", "symbol", "interval"):
        value = str(frame[name].iloc[0]) if len(frame) else ""
        frame[name] = "'" + value.replace("'", "''") + "'"
    frame["closed"] = frame["closed"].map({True: "TRUE", False: "FALSE"})
    # The same bytes as binbot writes (storage/packed.py), so the rows read at full speed.
    digits = pack_columns(arrays.as_dict(), len(arrays)).hex()
    width = 2 * PACKED_SIZE
    literal = _BLOB_LITERAL[dialect]
    frame["packed"] = [literal.format(digits[start:start + width])
                       for start in range(0, len(digits), width)]
    return frame


def write_sql(market: Market, symbol: str, interval: str, arrays: CandleArrays,
              output: Path, dialect: SqlDialect = "sqlite") -> int:
    """A script that loads the candles into a ``dialect`` database (binbot's or any other)."""
    frame = _sql_literal_frame(market, symbol, interval, arrays, dialect)
    # pandas writes the value tuples fast; each CSV line becomes one "(...)" row.
    lines = frame.to_csv(columns=list(ALL_COLUMNS), index=False, header=False,
                         lineterminator="\n").splitlines()
    columns = ", ".join(f'"{name}"' for name in ALL_COLUMNS)
    with output.open("w", encoding="utf-8", newline="\n") as out:
        out.write(f"-- binbot candles: {Market(market).value} {symbol} {interval}, "
                  f"{len(lines)} rows, for {dialect}\nBEGIN;\n"
                  + _CREATE_TABLE.format(blob_type=_BLOB_TYPE[dialect]))
        for start in range(0, len(lines), _SQL_ROWS_PER_INSERT):
            rows = "),\n(".join(lines[start:start + _SQL_ROWS_PER_INSERT])
            out.write(f"INSERT INTO candles ({columns}) VALUES\n({rows})\n"
                      "ON CONFLICT DO NOTHING;\n")
        out.write("COMMIT;\n")
    return len(lines)


def export_arrays(market: Market, symbol: str, interval: str, arrays: CandleArrays,
                  fmt: ExportFormat, output: Path) -> int:
    """Write ``arrays`` to ``output`` in ``fmt``; return the number of candles written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return write_csv(arrays, output)
    if fmt == "parquet":
        return write_parquet(market, symbol, interval, arrays, output)
    if fmt == "sql":
        return write_sql(market, symbol, interval, arrays, output, "sqlite")
    if fmt == "sql-postgres":
        return write_sql(market, symbol, interval, arrays, output, "postgresql")
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")

