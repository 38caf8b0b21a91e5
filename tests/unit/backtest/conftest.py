"""Real Binance 1m candles for the backtest tests (../shared/data beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

from binbot.backtest.data import MarketData, load_files
from binbot.domain.market import Market

REPO = Path(__file__).resolve().parents[3]
KLINES = REPO.parent / "shared" / "data" / "klines" / "binance-um-1m"
FIL_FEB = KLINES / "FILUSDT-1m-2024-02.csv.gz"


@pytest.fixture(scope="session")
def fil_feb() -> MarketData:
    """FILUSDT USD-M 1m candles of February 2024 (41,760 of them)."""
    if not FIL_FEB.exists():
        pytest.skip(f"real kline data not found at {FIL_FEB}")
    return load_files([FIL_FEB], Market.USDM)
