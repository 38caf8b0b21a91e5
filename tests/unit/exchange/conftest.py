"""Shared data for the local exchange's unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from binbot.exchange.klinedata import SymbolData, load_kline_files

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
FIL = DATA_DIR / "FILUSDT-1m-2025-04.csv.gz"


@pytest.fixture(scope="session")
def fil() -> SymbolData:
    return load_kline_files([FIL])["FILUSDT"]
