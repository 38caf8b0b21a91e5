"""Archive kline files -> exact integer columns, and the intrabar trades of a candle."""

from __future__ import annotations

import gzip
import zipfile
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from binbot.domain.price_path import intrabar_path
from binbot.exchange.klinedata import (
    KlineFileError,
    SymbolData,
    format_scaled,
    load_kline_files,
    symbol_from_filename,
)

from .conftest import DATA_DIR, FIL

HEADER = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
          "taker_buy_volume,taker_buy_quote_volume,ignore\n")
ROWS = [
    "1700000040000,1.2340,1.2400,1.2300,1.2350,100.5,1700000099999,124.0250,10,50.0,61.7000,0",
    "1700000100000,1.2350,1.2350,1.2200,1.2210,7.0,1700000159999,8.5470,3,1.5,1.8315,0",
]


def first_rows(path: Path, count: int) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        next(handle)
        return [next(handle).strip().split(",") for _ in range(count)]


def test_symbol_comes_from_the_file_name() -> None:
    assert symbol_from_filename(Path("FILUSDT-1m-2025-04.csv.gz")) == "FILUSDT"
    assert symbol_from_filename(Path("btcusdt-1m-2024-01.zip")) == "BTCUSDT"
    with pytest.raises(KlineFileError):
        symbol_from_filename(Path("klines.csv"))


def test_format_scaled_pads_like_fixed_point_text() -> None:
    assert format_scaled(5420, 3) == "5.420"
    assert format_scaled(7, 3) == "0.007"
    assert format_scaled(-15, 1) == "-1.5"
    assert format_scaled(42, 0) == "42"


def test_real_file_round_trips_every_printed_value(fil: SymbolData) -> None:
    rows = first_rows(FIL, 200)
    for i, row in enumerate(rows):
        assert int(fil.open_time[i]) == int(row[0])
        assert fil.fmt_price(int(fil.open[i])) == row[1]
        assert fil.fmt_price(int(fil.high[i])) == row[2]
        assert fil.fmt_price(int(fil.low[i])) == row[3]
        assert fil.fmt_price(int(fil.close[i])) == row[4]
        assert Decimal(fil.fmt_qty(int(fil.volume[i]))) == Decimal(row[5])
        assert fil.fmt_quote(int(fil.quote_volume[i])) == row[7]
        assert int(fil.count[i]) == int(row[8])


def test_header_less_csv_zip_and_microseconds_load_the_same(tmp_path: Path) -> None:
    plain = tmp_path / "ABCUSDT-1m-2023-11.csv"
    plain.write_text("".join(r + "\n" for r in ROWS))
    micro_rows = []
    for row in ROWS:
        fields = row.split(",")
        fields[0] += "000"
        fields[6] += "999"
        micro_rows.append(",".join(fields))
    zipped = tmp_path / "XYZUSDT-1m-2023-11.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("XYZUSDT-1m-2023-11.csv", HEADER + "".join(r + "\n" for r in micro_rows))
    loaded = load_kline_files([plain, zipped])
    abc, xyz = loaded["ABCUSDT"], loaded["XYZUSDT"]
    for data in (abc, xyz):
        assert data.open_time.tolist() == [1700000040000, 1700000100000]
        assert (data.price_dec, data.qty_dec, data.quote_dec) == (4, 1, 4)
        assert data.fmt_price(int(data.open[0])) == "1.2340"
        assert data.fmt_quote(int(data.taker_buy_quote_volume[1])) == "1.8315"


def test_explicit_symbol_overrides_the_name(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(HEADER + ROWS[0] + "\n")
    loaded = load_kline_files([path], {"history.csv": "ethusdt"})
    assert list(loaded) == ["ETHUSDT"]


def test_several_files_concatenate_in_time_order() -> None:
    later = DATA_DIR / "FILUSDT-1m-2025-06.csv.gz"
    data = load_kline_files([later, FIL])["FILUSDT"]
    assert len(data) == 43200 + 43200
    assert (data.open_time[1:] > data.open_time[:-1]).all()
    assert data.first_open_time == int(first_rows(FIL, 1)[0][0])
    assert data.last_open_time > int(first_rows(later, 1)[0][0])


def test_overlapping_files_keep_one_row_per_open_time(tmp_path: Path) -> None:
    a = tmp_path / "ABCUSDT-1m-a.csv"
    b = tmp_path / "ABCUSDT-1m-b.csv"
    a.write_text(ROWS[0] + "\n" + ROWS[1] + "\n")
    b.write_text(ROWS[1] + "\n")
    assert len(load_kline_files([a, b])["ABCUSDT"]) == 2


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "BADUSDT-1m-2020-01.csv"
    bad.write_text("1700000040000,abc,1,1,1,1,1700000099999,1,1,1,1,0\n")
    with pytest.raises(KlineFileError, match="BADUSDT"):
        load_kline_files([bad])


def test_path_lengths_match_the_shared_intrabar_path(fil: SymbolData) -> None:
    for i in range(0, len(fil), 97):
        assert fil.path(i) == tuple(int(p) for p in intrabar_path(
            float(fil.open[i]), float(fil.high[i]), float(fil.low[i]), float(fil.close[i])))
        assert int(fil.path_len[i]) == len(fil.path(i))


def test_a_candles_trades_add_up_to_its_row(fil: SymbolData) -> None:
    for i in range(0, 2000, 13):
        path = fil.path(i)
        trades = [fil.trade(i, k, path) for k in range(len(path))]
        assert [t.price for t in trades] == list(path)
        assert sum(t.qty for t in trades) == int(fil.volume[i])
        assert trades[0].time == int(fil.open_time[i])
        assert all(int(fil.open_time[i]) <= t.time < int(fil.open_time[i]) + 60_000
                   for t in trades)
        times = [t.time for t in trades]
        assert times == sorted(times)
        # trade ids are contiguous within and across candles
        assert trades[0].first_id == int(fil.trade_base[i])
        for a, b in pairwise(trades):
            assert b.first_id == a.last_id + 1
            assert b.agg_id == a.agg_id + 1
        assert trades[-1].last_id + 1 == int(fil.trade_base[i + 1])
        assert fil.cumulative(i, len(path)) == (
            int(fil.volume[i]), int(fil.quote_volume[i]), int(fil.taker_buy_volume[i]),
            int(fil.taker_buy_quote_volume[i]), int(fil.count[i]))
