"""Exports read back exactly: CSV re-import, Parquet, SQL into sqlite3 and PostgreSQL."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.services.archive_export import ExportFormat, export_arrays
from binbot.services.archive_import import ImportResult, import_kline_files
from binbot.storage.candles import CandleArrays, SqlCandleStore
from binbot.storage.migrate import upgrade
from binbot.storage.packed import pack_columns

from .conftest import KLINES_DIR, postgres_url

SOURCE = KLINES_DIR / "FILUSDT-1m-2024-02.csv.gz"
DAY = 86_400_000


@pytest.fixture
def stored(engine: Engine) -> tuple[SqlCandleStore, CandleArrays]:
    import_kline_files(engine, [SOURCE])
    store = SqlCandleStore(engine)
    # A forming candle after the archive's last one: exported by parquet/sql, not by csv.
    arrays = store.read_arrays(Market.USDM, "FILUSDT", "1m")
    t = int(arrays.open_time[-1]) + 60_000
    store.write_candles([Candle(Market.USDM, "FILUSDT", "1m", t, t + 59_999, 1.5, 1.75, 1.25,
                                1.625, 3.0, 4.5, 9, 1.0, 1.5, False)])
    return store, store.read_arrays(Market.USDM, "FILUSDT", "1m")


def assert_same(a: CandleArrays, b: CandleArrays) -> None:
    for name, column in a.as_dict().items():
        assert np.array_equal(column, b.as_dict()[name]), name


def test_csv_round_trip(stored: tuple[SqlCandleStore, CandleArrays], make_db,  # type: ignore[no-untyped-def]
                        tmp_path: Path) -> None:
    _, arrays = stored
    output = tmp_path / "FILUSDT-1m-2024-02.csv"
    written = export_arrays(Market.USDM, "FILUSDT", "1m", arrays, "csv", output)
    assert written == len(arrays) - 1
    assert output.read_text().splitlines()[0].startswith("open_time,open,high,low,close")
    fresh = make_db("sqlite")
    upgrade(fresh)
    [outcome] = import_kline_files(fresh, [output])
    assert isinstance(outcome, ImportResult)
    back = SqlCandleStore(fresh).read_arrays(Market.USDM, "FILUSDT", "1m")
    closed = arrays.closed
    assert_same(back, CandleArrays(**{k: v[closed] for k, v in arrays.as_dict().items()}))


def test_csv_export_of_a_range(stored: tuple[SqlCandleStore, CandleArrays],
                               tmp_path: Path) -> None:
    store, arrays = stored
    start = int(arrays.open_time[0]) + DAY
    part = store.read_arrays(Market.USDM, "FILUSDT", "1m", start, start + DAY)
    output = tmp_path / "FILUSDT-1m-2024-02-02.csv.gz"
    assert export_arrays(Market.USDM, "FILUSDT", "1m", part, "csv", output) == 1440


def test_parquet_round_trip(stored: tuple[SqlCandleStore, CandleArrays], tmp_path: Path) -> None:
    _, arrays = stored
    output = tmp_path / "out.parquet"
    assert export_arrays(Market.USDM, "FILUSDT", "1m", arrays, "parquet", output) == len(arrays)
    table = pq.read_table(output)
    assert set(table.column("symbol").to_pylist()) == {"FILUSDT"}
    assert set(table.column("market").to_pylist()) == {"usdm"}
    back = CandleArrays(**{name: table.column(name).to_numpy()
                           for name in arrays.as_dict()})
    assert_same(back, arrays)
    assert table.schema.field("open_time").type == "int64"
    assert table.schema.field("closed").type == "bool"


def test_sql_loads_into_sqlite3(stored: tuple[SqlCandleStore, CandleArrays],
                                tmp_path: Path) -> None:
    _, arrays = stored
    script = tmp_path / "out.sql"
    assert export_arrays(Market.USDM, "FILUSDT", "1m", arrays, "sql", script) == len(arrays)
    with closing(sqlite3.connect(tmp_path / "loaded.db")) as connection:
        connection.executescript(script.read_text())
        connection.executescript(script.read_text())  # loading twice keeps one copy
        rows = connection.execute(
            'SELECT open_time, close_time, open, high, low, close, volume, quote_volume, trades,'
            ' taker_buy_volume, taker_buy_quote_volume, closed, packed FROM candles'
            " WHERE market = 'usdm' AND symbol = 'FILUSDT' AND \"interval\" = '1m'"
            " ORDER BY open_time").fetchall()
    columns = list(zip(*rows, strict=True))
    for index, (name, column) in enumerate(arrays.as_dict().items()):
        assert np.array_equal(np.asarray(columns[index], dtype=column.dtype), column), name
    assert b"".join(columns[-1]) == pack_columns(arrays.as_dict(), len(arrays))


@pytest.mark.parametrize("fmt", ["sql", "sql-postgres"])
def test_sql_loads_into_a_binbot_database_and_reads_through_packed(
        stored: tuple[SqlCandleStore, CandleArrays], make_db,  # type: ignore[no-untyped-def]
        tmp_path: Path, fmt: ExportFormat) -> None:
    _, arrays = stored
    script = tmp_path / "out.sql"
    export_arrays(Market.USDM, "FILUSDT", "1m", arrays, fmt, script)
    target = make_db("sqlite" if fmt == "sql" else "postgres")
    upgrade(target)
    raw = target.raw_connection()
    try:
        cursor = raw.cursor()
        if fmt == "sql":
            raw.driver_connection.executescript(script.read_text())  # type: ignore[union-attr]
        else:
            cursor.execute(script.read_text())
        raw.commit()
    finally:
        raw.close()
    store = SqlCandleStore(target)
    # Every row has the BLOB binbot would have written, so bulk reads take the fast path.
    series = (Market.USDM, "FILUSDT", "1m")
    assert store._read_packed(*series, None, None) == pack_columns(arrays.as_dict(), len(arrays))
    assert_same(store.read_arrays(*series), arrays)


def test_the_sql_of_one_database_is_not_for_the_other(
        stored: tuple[SqlCandleStore, CandleArrays], tmp_path: Path) -> None:
    # A PostgreSQL script in SQLite fails loudly instead of storing the BLOBs as text.
    few = CandleArrays(**{name: column[:3] for name, column in stored[1].as_dict().items()})
    script = tmp_path / "out.sql"
    export_arrays(Market.USDM, "FILUSDT", "1m", few, "sql-postgres", script)
    with closing(sqlite3.connect(tmp_path / "loaded.db")) as connection, \
            pytest.raises(sqlite3.OperationalError):
        connection.executescript(script.read_text())


def test_postgres_url_fixture_is_consistent() -> None:
    # The SQL export test above runs on PostgreSQL only when this URL is configured.
    assert postgres_url() is None or postgres_url().startswith("postgresql")  # type: ignore[union-attr]
