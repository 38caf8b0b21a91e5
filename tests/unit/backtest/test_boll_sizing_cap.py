"""BOLL sizes its entries at 0.9 x equity x leverage; the risk gate's position cap follows the
equity up, so a profitable run keeps trading (it used to refuse every entry once the equity
passed capital / 0.9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from binbot.backtest import BacktestConfig, run_backtest
from binbot.backtest.data import load_files
from binbot.domain.market import Market

# A month in which 15m bar-close BOLL takes 10,000 USDT past 11,111 (capital / 0.9).
MONTH = (Path(__file__).resolve().parents[3].parent / "shared" / "data" / "klines"
         / "binance-um-1m" / "FILUSDT-1m-2023-02.csv.gz")


def test_entries_above_the_starting_capital_are_not_refused() -> None:
    if not MONTH.exists():
        pytest.skip(f"real kline data not found at {MONTH}")
    data = load_files([MONTH], Market.USDM)
    config = BacktestConfig(data_files=(MONTH,), mode="bar_close", warmup_candles=0)
    result = run_backtest(config, data=data)
    capital = float(config.starting_capital)
    assert result.equity.max() > capital / 0.9
    assert result.rejected_orders == 0
    entries = [t for t in result.trades if t.action.startswith("open_")]
    big = [t for t in entries if t.price * t.qty > capital]
    assert big, "some entries should exceed the starting capital once the equity has grown"
    for trade in big:  # each is 0.9 x the equity at the time: below the cap, which grew
        assert trade.price * trade.qty <= 0.9 * result.equity.max() * 1.0001
