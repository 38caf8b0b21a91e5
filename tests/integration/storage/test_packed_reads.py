"""Bulk reads through ``candles.packed`` (SQLite and PostgreSQL): the same values as the
columns, kept current by every write path, and the columns used whenever a row lacks it."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.services.archive_import import prepare, write_prepared
from binbot.services.kline_archive import KlineColumns
from binbot.storage import candles as candles_module
from binbot.storage.candle_table import candles
from binbot.storage.candles import CandleArrays, SqlCandleStore, candle_to_row
from binbot.storage.database import write_transaction
from binbot.storage.fast_read import fetch_joined_blobs
from binbot.storage.packed import PACKED_COLUMNS, pack_values
from binbot.storage.writer import Writer

from .conftest import ColumnsOnly

M = 60_000
SERIES = (Market.USDM, "BTCUSDT", "1m")
FLOATS = st.floats(allow_nan=False)  # SQLite cannot store NaN (it becomes NULL)


def candle(i: int, close: float = 10.0, *, closed: bool = True) -> Candle:
    return Candle(Market.USDM, "BTCUSDT", "1m", i * M, i * M + M - 1, close - 1, close + 2,
                  close - 2, close, 100.0 + i, 1000.0 + i, 7 + i, 40.0, 400.0, closed)


@st.composite
def candle_lists(draw: st.DrawFn, min_size: int = 1, max_size: int = 30) -> list[Candle]:
    times = draw(st.lists(st.integers(-(2**62), 2**62), min_size=min_size, max_size=max_size,
                          unique=True))
    return [Candle(Market.USDM, "BTCUSDT", "1m", t, draw(st.integers(-(2**63), 2**63 - 1)),
                   *draw(st.tuples(*[FLOATS] * 6)), draw(st.integers(0, 2**63 - 1)),
                   draw(FLOATS), draw(FLOATS), draw(st.booleans()))
            for t in sorted(times)]


def assert_same_arrays(a: CandleArrays, b: CandleArrays) -> None:
    for name, column in a.as_dict().items():
        other = b.as_dict()[name]
        assert column.dtype == other.dtype, name
        assert np.array_equal(column, other), name  # == on floats: -0.0 equals 0.0


def stored_packed(engine: Engine) -> dict[int, bytes | None]:
    with engine.connect() as connection:
        rows = connection.execute(select(candles.c.open_time, candles.c.packed)).all()
    return {int(t): p for t, p in rows}


def clear(engine: Engine) -> None:
    with write_transaction(engine) as connection:
        connection.exec_driver_sql("DELETE FROM candles")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=candle_lists())
def test_written_candles_read_back_identical_via_packed_and_columns(
        engine: Engine, written: list[Candle]) -> None:
    clear(engine)
    store = SqlCandleStore(engine)
    store.write_candles(written)
    assert stored_packed(engine) == {c.open_time: candle_to_row(c)["packed"] for c in written}
    packed = store.read_arrays(*SERIES)
    assert_same_arrays(packed, ColumnsOnly(engine).read_arrays(*SERIES))
    assert store.read_candles(*SERIES) == written
    # Bit for bit where the database keeps bits: the sign of zero, the largest and the
    # subnormal floats, the int64 extremes (SQLite stores -0.0 as 0 in its REAL columns;
    # the BLOB keeps it).
    expected = CandleArrays(**{name: np.array([getattr(c, name) for c in written],
                                              dtype=packed.as_dict()[name].dtype)
                               for name in PACKED_COLUMNS})
    for name in PACKED_COLUMNS:
        assert packed.as_dict()[name].tobytes() == expected.as_dict()[name].tobytes(), name
    middle = written[len(written) // 2].open_time
    subset = store.read_columns(*SERIES, ("close", "trades"), start_ms=middle)
    assert subset["close"].tolist() == [c.close for c in written if c.open_time >= middle]
    assert subset["trades"].tolist() == [c.trades for c in written if c.open_time >= middle]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written=candle_lists(1, 150))  # more than one 64-row statement, and a tail
def test_bulk_import_packs_the_same_bytes(engine: Engine, written: list[Candle]) -> None:
    clear(engine)
    with write_transaction(engine) as connection:
        assert write_prepared(connection, prepare(archive_columns(written))) == len(written)
    closed = [replace(c, closed=True) for c in written]  # archive files hold closed candles
    assert stored_packed(engine) == {c.open_time: candle_to_row(c)["packed"] for c in closed}
    assert SqlCandleStore(engine).read_candles(*SERIES) == closed
    assert_same_arrays(ColumnsOnly(engine).read_arrays(*SERIES),
                       SqlCandleStore(engine).read_arrays(*SERIES))


def archive_columns(written: list[Candle]) -> KlineColumns:
    return KlineColumns(
        Path("test"), Market.USDM, "BTCUSDT", "1m", "ms",
        **{name: np.array([getattr(c, name) for c in written],
                          dtype=np.int64 if name in ("open_time", "close_time", "trades")
                          else np.float64)
           for name in PACKED_COLUMNS if name != "closed"})


@pytest.mark.parametrize("trades", [2**53, 2**53 + 1, -(2**53) - 1])
def test_bulk_import_keeps_integers_exact_beyond_float64(engine: Engine, trades: int) -> None:
    # SQLite gets integers within +-2**53 as floats (exact there), any other as ints.
    written = [replace(candle(i), trades=trades - i) for i in range(70)]
    with write_transaction(engine) as connection:
        assert write_prepared(connection, prepare(archive_columns(written))) == len(written)
    columns = ColumnsOnly(engine).read_arrays(*SERIES)
    assert columns.trades.tolist() == [c.trades for c in written]
    assert_same_arrays(columns, SqlCandleStore(engine).read_arrays(*SERIES))


def test_bulk_import_prepared_for_postgres_still_writes_sqlite(engine: Engine) -> None:
    # Nothing is laid out for PostgreSQL's COPY; SQLite then lays the rows out itself.
    written = [candle(i, 10.0 + i) for i in range(3)]
    with write_transaction(engine) as connection:
        prepared = prepare(archive_columns(written), "postgresql")
        assert write_prepared(connection, prepared) == len(written)
    assert SqlCandleStore(engine).read_candles(*SERIES) == written


async def test_forming_candle_updates_its_packed_value(engine: Engine) -> None:
    async with Writer(engine, max_rows=1000, max_delay_s=10) as writer:
        store = SqlCandleStore(engine, writer)
        await store.upsert([candle(0), candle(1, 11.0, closed=False)])
        await store.flush()
        await store.upsert([candle(1, 12.0, closed=False)])
        await store.flush()
        assert stored_packed(engine)[M] == candle_to_row(candle(1, 12.0, closed=False))["packed"]
        await store.upsert([candle(1, 12.5, closed=True)])
        await store.flush()
    assert stored_packed(engine)[M] == candle_to_row(candle(1, 12.5))["packed"]
    arrays = store.read_arrays(*SERIES)
    assert arrays.close.tolist() == [10.0, 12.5]
    assert arrays.high.tolist() == [12.0, 14.5]
    assert arrays.closed.tolist() == [True, True]


def insert_without_packed(engine: Engine, *written: Candle) -> None:
    """As an older binbot or a hand-written INSERT leaves them: ``packed`` NULL."""
    rows = [{k: v for k, v in candle_to_row(c).items() if k != "packed"} for c in written]
    with write_transaction(engine) as connection:
        connection.execute(candles.insert(), rows)


def set_packed(engine: Engine, open_time: int, value: bytes) -> None:
    with write_transaction(engine) as connection:
        connection.execute(candles.update().where(candles.c.open_time == open_time)
                           .values(packed=value))


def test_rows_without_packed_are_read_through_the_columns(engine: Engine) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i, 10.0 + i) for i in range(5)])
    insert_without_packed(engine, candle(5, 15.0), candle(6, 16.0))
    # A row whose BLOB disagrees with its columns tells which path a read took.
    set_packed(engine, 0, candle_to_row(candle(0, 99.0))["packed"])
    assert store.read_arrays(*SERIES).close.tolist() == [10, 11, 12, 13, 14, 15, 16]
    assert store.read_columns(*SERIES, ("close",), end_ms=6 * M)["close"].tolist() == [
        10, 11, 12, 13, 14, 15]
    # Ranges without such rows use packed.
    assert store.read_arrays(*SERIES, end_ms=5 * M).close.tolist() == [99, 11, 12, 13, 14]
    assert_same_arrays(store.read_arrays(*SERIES, M, 5 * M),
                       ColumnsOnly(engine).read_arrays(*SERIES, M, 5 * M))
    # Written again by binbot, the rows get packed and the whole series reads through it.
    store.write_candles([candle(5, 15.0), candle(6, 16.0)])
    assert store.read_arrays(*SERIES).close.tolist() == [99, 11, 12, 13, 14, 15, 16]


def test_packed_of_the_wrong_size_falls_back_to_the_columns(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i, 10.0 + i) for i in range(3)])
    set_packed(engine, M, b"\x00" * 88)
    with caplog.at_level(logging.WARNING, logger="binbot.storage.candles"):
        assert store.read_arrays(*SERIES).close.tolist() == [10.0, 11.0, 12.0]
    assert "wrong size" in caplog.text


def test_a_null_met_while_reading_means_none(engine: Engine) -> None:
    # The NULL check and the read are two statements: a row may arrive between them.
    store = SqlCandleStore(engine)
    store.write_candles([candle(0)])
    insert_without_packed(engine, candle(1))
    if engine.dialect.name == "sqlite":
        assert fetch_joined_blobs(engine, "SELECT packed FROM candles ORDER BY open_time",
                                  ()) is None
    else:
        assert store._read_packed_postgres(*SERIES, None, None) is None


def test_postgres_aggregates_of_any_size_read_the_whole_range(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqlCandleStore(engine)
    store.write_candles([candle(i, 10.0 + i) for i in range(20) if i % 4])
    whole = ColumnsOnly(engine).read_arrays(*SERIES)
    for size in (1, 3, 5, 15, 16):  # 15 rows: chunks that divide them and ones that don't
        monkeypatch.setattr(candles_module, "_PG_ROWS_PER_AGGREGATE", size)
        assert_same_arrays(store.read_arrays(*SERIES), whole)
        assert store.read_arrays(*SERIES, 6 * M, 13 * M).open_time.tolist() == [
            6 * M, 7 * M, 9 * M, 10 * M, 11 * M]


def test_pack_values_is_what_the_writer_stores() -> None:
    row = candle_to_row(candle(3, 12.25, closed=False))
    assert row["packed"] == pack_values(*(row[name] for name in PACKED_COLUMNS))
