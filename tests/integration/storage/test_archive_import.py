"""Importing Binance archive files into the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from binbot.domain.market import Market
from binbot.services.archive_import import ImportFailure, ImportResult, import_kline_files
from binbot.storage.candles import SqlCandleStore

from .conftest import KLINES_DIR, ColumnsOnly

ALL_FILES = sorted(KLINES_DIR.glob("*.csv.gz"))


def data_rows(path: Path) -> int:
    """Rows in an archive file, counted without the importer: lines minus a header line."""
    with gzip.open(path, "rt") as f:
        lines = [line for line in f if line.strip()]
    return len(lines) - (0 if lines[0][0].isdigit() else 1)


def series_of(path: Path) -> tuple[str, str]:
    symbol, interval = path.name.split("-")[:2]
    return symbol, interval


def total_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM candles").scalar_one())


def test_shared_data_is_present() -> None:
    assert len(ALL_FILES) >= 30, f"expected the shared kline files under {KLINES_DIR}"


def test_import_every_shared_file_with_exact_counts_then_reimport(make_db) -> None:  # type: ignore[no-untyped-def]
    from binbot.storage.migrate import upgrade

    engine = make_db("sqlite")
    upgrade(engine)
    outcomes = import_kline_files(engine, ALL_FILES)
    expected = {path: data_rows(path) for path in ALL_FILES}
    for outcome in outcomes:
        assert isinstance(outcome, ImportResult), outcome
        assert outcome.rows == expected[outcome.path], outcome.path
        assert outcome.new_rows == expected[outcome.path], outcome.path
    assert total_rows(engine) == sum(expected.values())
    store = SqlCandleStore(engine)
    per_series: dict[tuple[str, str], int] = {}
    for path, rows in expected.items():
        per_series[series_of(path)] = per_series.get(series_of(path), 0) + rows
    for (symbol, interval), rows in per_series.items():
        assert store.read_count(Market.USDM, symbol, interval) == rows

    again = import_kline_files(engine, ALL_FILES)
    assert all(isinstance(o, ImportResult) and o.new_rows == 0 for o in again)
    assert total_rows(engine) == sum(expected.values())


def test_import_matches_the_file_values(engine: Engine) -> None:
    path = KLINES_DIR / "AVAXUSDT-1m-2026-07.csv.gz"
    [outcome] = import_kline_files(engine, [path])
    assert isinstance(outcome, ImportResult)
    with gzip.open(path, "rt") as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    arrays = SqlCandleStore(engine).read_arrays(Market.USDM, "AVAXUSDT", "1m")
    assert arrays.open_time.tolist() == [int(r[0]) for r in rows]
    assert arrays.close.tolist() == [float(r[4]) for r in rows]
    assert arrays.quote_volume.tolist() == [float(r[7]) for r in rows]
    assert arrays.trades.tolist() == [int(r[8]) for r in rows]
    assert bool(np.all(arrays.closed))


def test_imported_columns_equal_packed_and_keep_integer_types(engine: Engine) -> None:
    path = KLINES_DIR / "AVAXUSDT-1m-2026-07.csv.gz"
    series = (Market.USDM, "AVAXUSDT", "1m")
    for _ in range(2):  # inserted, then upserted over itself
        [outcome] = import_kline_files(engine, [path])
        assert isinstance(outcome, ImportResult)
        packed = SqlCandleStore(engine).read_arrays(*series)
        columns = ColumnsOnly(engine).read_arrays(*series)
        for name, column in columns.as_dict().items():
            assert column.tobytes() == packed.as_dict()[name].tobytes(), name
        if engine.dialect.name == "sqlite":  # integers are bound as exact floats
            with engine.connect() as connection:
                types = connection.exec_driver_sql(
                    "SELECT DISTINCT typeof(open_time), typeof(close_time), typeof(trades), "
                    "typeof(open), typeof(closed), typeof(packed) FROM candles").all()
            assert [tuple(row) for row in types] == [
                ("integer", "integer", "integer", "real", "integer", "blob")]


def test_reimport_on_each_backend_adds_no_duplicates(engine: Engine) -> None:
    files = [KLINES_DIR / "DOTUSDT-1m-2024-11.csv.gz", KLINES_DIR / "LTCUSDT-1m-2026-02.csv.gz"]
    first = import_kline_files(engine, files)
    assert [o.new_rows for o in first if isinstance(o, ImportResult)] == [
        data_rows(f) for f in files]
    second = import_kline_files(engine, files)
    assert [o.new_rows for o in second if isinstance(o, ImportResult)] == [0, 0]
    assert total_rows(engine) == sum(data_rows(f) for f in files)


def test_a_bad_file_imports_nothing_and_the_others_go_on(engine: Engine, tmp_path: Path) -> None:
    good = KLINES_DIR / "LINKUSDT-1m-2023-02.csv.gz"
    with gzip.open(good, "rt") as f:
        lines = f.read().splitlines()
    # A bad row near the end: everything before it is valid, and still nothing is imported.
    lines[-3] = lines[-3].replace(",", ",x", 1)
    bad = tmp_path / "LTCUSDT-1m-2026-02.csv"
    bad.write_text("\n".join(lines) + "\n")
    seen: list[ImportResult | ImportFailure] = []
    outcomes = import_kline_files(engine, [bad, good], on_done=seen.append)
    assert seen == outcomes
    failure, result = outcomes
    assert isinstance(failure, ImportFailure)
    assert failure.error.line == len(lines) - 2
    assert str(bad) in str(failure.error)
    assert isinstance(result, ImportResult)
    assert SqlCandleStore(engine).read_count(Market.USDM, "LTCUSDT", "1m") == 0
    assert total_rows(engine) == data_rows(good)


def test_microsecond_spot_file(engine: Engine, tmp_path: Path) -> None:
    with gzip.open(KLINES_DIR / "LTCUSDT-1m-2026-02.csv.gz", "rt") as f:
        lines = f.read().splitlines()[1:101]
    micro = []
    for line in lines:
        fields = line.split(",")
        fields[0] = str(int(fields[0]) * 1000)
        fields[6] = str(int(fields[6]) * 1000 + 999)
        micro.append(",".join(fields))
    path = tmp_path / "LTCUSDT-1m-2026-02-01.csv"
    path.write_text("\n".join(micro) + "\n")
    [outcome] = import_kline_files(engine, [path], market=Market.SPOT)
    assert isinstance(outcome, ImportResult)
    assert outcome.time_unit == "us"
    arrays = SqlCandleStore(engine).read_arrays(Market.SPOT, "LTCUSDT", "1m")
    assert arrays.open_time.tolist() == [int(x.split(",")[0]) for x in lines]
    assert arrays.close_time.tolist() == [int(x.split(",")[6]) for x in lines]


def test_new_rows_are_the_ones_not_stored_before(engine: Engine, tmp_path: Path) -> None:
    with gzip.open(KLINES_DIR / "DOTUSDT-1m-2026-02.csv.gz", "rt") as f:
        lines = f.read().splitlines()[1:201]
    path = tmp_path / "DOTUSDT-1m-2026-02.csv"
    for part, new_rows in ((lines[50:150], 100), (lines[:50] + lines[150:], 100),
                           (lines, 0), (lines[20:30], 0)):
        path.write_text("\n".join(part) + "\n")
        [outcome] = import_kline_files(engine, [path])
        assert isinstance(outcome, ImportResult)
        assert (outcome.rows, outcome.new_rows) == (len(part), new_rows)
    assert total_rows(engine) == 200


@pytest.mark.parametrize("rows", [1, 63, 64, 65, 130])
def test_statement_chunking_edges(engine: Engine, tmp_path: Path, rows: int) -> None:
    with gzip.open(KLINES_DIR / "DOTUSDT-1m-2026-02.csv.gz", "rt") as f:
        lines = f.read().splitlines()[1:rows + 1]
    path = tmp_path / "DOTUSDT-1m-2026-02.csv"
    path.write_text("\n".join(lines) + "\n")
    [outcome] = import_kline_files(engine, [path])
    assert isinstance(outcome, ImportResult)
    assert outcome.new_rows == rows
    stored = SqlCandleStore(engine).read_arrays(Market.USDM, "DOTUSDT", "1m")
    assert stored.volume.tolist() == [float(x.split(",")[5]) for x in lines]
