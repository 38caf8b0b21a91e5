"""Reading and validating Binance archive kline files."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from binbot.domain.market import Market
from binbot.services.kline_archive import ArchiveFormatError, name_parts, read_kline_file

REPO_ROOT = Path(__file__).resolve().parents[3]
KLINES = REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
REAL = KLINES / "FILUSDT-1m-2023-02.csv.gz"
HEADER = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
          "taker_buy_volume,taker_buy_quote_volume,ignore")


def real_lines(n: int) -> list[str]:
    with gzip.open(REAL, "rt") as f:
        return [next(f).rstrip("\n") for _ in range(n + 1)][1:]


def write(tmp_path: Path, name: str, lines: list[str], header: bool = True) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(([HEADER] if header else []) + lines) + "\n")
    return path


def test_reads_a_real_monthly_file() -> None:
    with gzip.open(REAL, "rt") as f:
        lines = f.read().splitlines()
    columns = read_kline_file(REAL)
    assert (columns.symbol, columns.interval, columns.market) == ("FILUSDT", "1m", Market.USDM)
    assert len(columns) == len(lines) - 1
    first = lines[1].split(",")
    assert columns.open_time[0] == int(first[0])
    assert columns.close[0] == float(first[4])
    assert columns.trades[0] == int(first[8])
    assert columns.taker_buy_quote_volume[0] == float(first[10])
    assert columns.time_unit == "ms"
    assert np.all(np.diff(columns.open_time) == 60_000)


def test_headerless_plain_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "FILUSDT-1m-2023-02-01.csv", real_lines(3), header=False)
    columns = read_kline_file(path)
    assert len(columns) == 3
    assert columns.open_time.tolist() == [int(x.split(",")[0]) for x in real_lines(3)]


def test_zip_with_one_csv(tmp_path: Path) -> None:
    path = tmp_path / "FILUSDT-1m-2023-02.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("FILUSDT-1m-2023-02.csv", "\n".join(real_lines(4)) + "\n")
    assert len(read_kline_file(path)) == 4


def test_microsecond_times_become_milliseconds(tmp_path: Path) -> None:
    lines = []
    for line in real_lines(3):
        fields = line.split(",")
        fields[0] += "000"
        fields[6] += "999"
        lines.append(",".join(fields))
    columns = read_kline_file(write(tmp_path, "FILUSDT-1m-2025-01-01.csv", lines, header=False),
                              Market.SPOT)
    assert columns.time_unit == "us"
    assert columns.open_time.tolist() == [int(x.split(",")[0]) for x in real_lines(3)]
    assert columns.close_time.tolist() == [int(x.split(",")[6]) for x in real_lines(3)]
    assert columns.market is Market.SPOT


def test_names() -> None:
    assert name_parts(Path("BTCUSDT-15m-2024-02-03.csv.gz")) == ("BTCUSDT", "15m")
    assert name_parts(Path("x/ETHUSDT-1h-2024-02.zip")) == ("ETHUSDT", "1h")
    assert name_parts(Path("candles.csv")) is None


def test_overrides_and_unknown_names(tmp_path: Path) -> None:
    path = write(tmp_path, "candles.csv", real_lines(2))
    with pytest.raises(ArchiveFormatError, match="pass --symbol and --interval"):
        read_kline_file(path)
    columns = read_kline_file(path, Market.USDM, "FILUSDT", "1m")
    assert (columns.symbol, len(columns)) == ("FILUSDT", 2)


def _with(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def _bad_cases() -> list[tuple[str, list[str], int | None, str]]:
    good = real_lines(4)
    return [
        ("truncated row", [good[0], good[1][:20], good[2]], 3, "expected 12 columns, found 2"),
        ("text in a number", [good[0], _with(good[1], 2, "abc"), good[2]], 3,
         "high is not a number: 'abc'"),
        ("extra column", [good[0], good[1] + ",7", good[2]], 3, "expected 12 columns, found 13"),
        ("short first row", [good[0].rsplit(",", 1)[0], good[1]], 2,
         "expected 12 columns, found 11"),
        ("high below low", [good[0], _with(_with(good[1], 2, "1.0"), 3, "2.0")], 3,
         "high < low"),
        ("open time repeats", [good[0], good[1], good[1]], 4, "open_time does not increase"),
        ("open time goes back", [good[1], good[0]], 3, "open_time does not increase"),
        ("close time past the candle",
         [good[0], _with(good[1], 6, str(int(good[1].split(",")[0]) + 120_000))], 3,
         "close_time does not belong to a 1m candle"),
        ("blank line inside", [good[0], "", good[1]], 3, "expected 12 columns, found 0"),
        ("empty value", [good[0], _with(good[1], 5, "")], 3, "empty value in column volume"),
        ("fractional count", [good[0], _with(good[1], 8, "1.5")], 3, "count is not an integer"),
        ("negative volume", [good[0], _with(good[1], 5, "-1")], 3, "negative"),
    ]


@pytest.mark.parametrize(("lines", "line", "message"),
                         [case[1:] for case in _bad_cases()], ids=[c[0] for c in _bad_cases()])
def test_bad_rows_name_file_and_line(tmp_path: Path, lines: list[str], line: int,
                                     message: str) -> None:
    path = write(tmp_path, "FILUSDT-1m-2023-02.csv", lines)
    with pytest.raises(ArchiveFormatError) as caught:
        read_kline_file(path)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert f"line {line}" in str(caught.value)


def test_wrong_interval_on_boundaries_is_caught(tmp_path: Path) -> None:
    # 1m candles claimed to be 5m: close_time is inside the 5m span but the open times are not
    # on 5m boundaries.
    good = real_lines(3)
    path = write(tmp_path, "FILUSDT-1m-2023-02.csv", good)
    with pytest.raises(ArchiveFormatError, match="line 3: open_time is not on a 5m boundary"):
        read_kline_file(path, interval="5m")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("FILUSDT-1m-2023-02.csv", b"", "the file is empty"),
    ("FILUSDT-1m-2023-02.csv", HEADER.encode() + b"\n", "the file holds no rows"),
    ("FILUSDT-1m-2023-02.zip", b"PK\x03\x04 definitely not a zip", "not a valid compressed"),
    ("FILUSDT-1m-2023-02.csv.gz", b"\x1f\x8b\x08\x00broken", "not a valid compressed"),
    ("FILUSDT-1m-2023-02.csv", b"\n\n\n", "the file holds no rows"),
])
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArchiveFormatError, match=message) as caught:
        read_kline_file(path)
    assert str(path) in str(caught.value)


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / REAL.name
    path.write_bytes(REAL.read_bytes()[:5000])
    with pytest.raises(ArchiveFormatError, match="not a valid compressed file"):
        read_kline_file(path)


def test_zip_with_two_members(tmp_path: Path) -> None:
    path = tmp_path / "FILUSDT-1m-2023-02.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "\n".join(real_lines(2)))
        archive.writestr("b.csv", "\n".join(real_lines(2)))
    with pytest.raises(ArchiveFormatError, match="exactly one csv, found 2"):
        read_kline_file(path)


def test_mixed_time_units(tmp_path: Path) -> None:
    good = real_lines(2)
    second = _with(_with(good[1], 0, good[1].split(",")[0] + "000"), 6,
                   good[1].split(",")[6] + "999")
    path = write(tmp_path, "FILUSDT-1m-2023-02.csv", [good[0], second])
    with pytest.raises(ArchiveFormatError, match="line 3: open_time switches"):
        read_kline_file(path)
