"""Funding-rate files: Binance's archive format, REST history as CSV, plain time,rate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from binbot.backtest.funding import FundingFileError, read_funding


def test_archive_rest_and_plain_files(tmp_path: Path) -> None:
    archive = tmp_path / "FILUSDT-fundingRate-2024-02.csv"
    archive.write_text("calc_time,funding_interval_hours,last_funding_rate\n"
                       "1706774400000,8,0.00010000\n1706745600000,8,-0.00002500\n")
    rest = tmp_path / "rest.csv"
    rest.write_text("symbol,fundingTime,fundingRate,markPrice\n"
                    "FILUSDT,1706803200000,0.0001,4.9\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("1706832000000000,0.0003\n1706774400000,0.9\n")  # µs; a duplicate time
    events = read_funding([archive, rest, plain])
    assert events == (
        (1706745600000, Decimal("-0.000025")),
        (1706774400000, Decimal("0.0001")),  # the first file's value wins
        (1706803200000, Decimal("0.0001")),
        (1706832000000, Decimal("0.0003")),
    )


def test_bad_files_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time_ms,rate\n1706745600000,0.0001\nsoon,0.1\n")
    with pytest.raises(FundingFileError, match=r"bad\.csv: line 3"):
        read_funding([bad])
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FundingFileError, match="expected columns"):
        read_funding([wide])
    with pytest.raises(FundingFileError, match="cannot read"):
        read_funding([tmp_path / "missing.csv"])
