"""Real Binance 1m klines (shared/data) as float64 arrays for the indicator tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

KLINES_DIR = (
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "klines" / "binance-um-1m"
)
# Different coins, price levels (0.1 .. 100 USDT) and years; each is a full month of 1m candles.
KLINE_FILES = (
    "ALGOUSDT-1m-2023-02.csv.gz",
    "AVAXUSDT-1m-2026-07.csv.gz",
    "FILUSDT-1m-2024-02.csv.gz",
    "LTCUSDT-1m-2026-02.csv.gz",
)


@dataclass(frozen=True)
class Klines:
    name: str
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]


_cache: dict[str, Klines] = {}


def load_klines(name: str) -> Klines:
    if name not in _cache:
        path = KLINES_DIR / name
        if not path.exists():
            pytest.skip(f"shared kline data not found at {path}")
        frame = pd.read_csv(path, usecols=["high", "low", "close"])
        _cache[name] = Klines(
            name,
            frame["high"].to_numpy(np.float64),
            frame["low"].to_numpy(np.float64),
            frame["close"].to_numpy(np.float64),
        )
    return _cache[name]


@pytest.fixture(params=KLINE_FILES)
def klines(request: pytest.FixtureRequest) -> Klines:
    return load_klines(request.param)


def assert_series_close(
    actual: npt.NDArray[np.float64],
    expected: npt.NDArray[np.float64],
    rtol: float = 1e-9,
    atol: float = 0.0,
) -> None:
    """Same NaN warm-up, and |actual - expected| <= atol + rtol * |expected| elsewhere."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg="NaN layout")
    mask = ~np.isnan(expected)
    np.testing.assert_allclose(actual[mask], expected[mask], rtol=rtol, atol=atol)
