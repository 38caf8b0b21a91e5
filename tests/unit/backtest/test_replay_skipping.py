"""The replay skips the ticks at which neither the simulator nor the bot can act; the result
must be the same as feeding every tick, to the last Decimal and float."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from binbot.backtest import BacktestConfig
from binbot.backtest.data import MarketData
from binbot.backtest.runner import Prepared, execute, prepare
from binbot.strategy.builtin.boll import Boll

FIL = Path("FILUSDT-1m-2024-02.csv.gz")


def every_tick(prepared: Prepared) -> Prepared:
    """The same replay without the per-interval price extremes: every tick is fed."""
    plan = dataclasses.replace(prepared.plan, interval_low=(), interval_high=())
    return dataclasses.replace(prepared, plan=plan)


class Counting(Boll):
    """BOLL counting the prices its decisions were evaluated on (outside its quiet band)."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.evaluated = 0

    def _evaluate(self, price: float) -> None:
        self.evaluated += 1
        super()._evaluate(price)


@pytest.mark.parametrize("extra", [
    {},
    {"params": {"quantity": 100}},
    {"params": {"k": 1.5, "period": 14, "ddof": 1}, "price_path": "ohlc"},
    {"params": {"quote_amount": 900}, "interval": "1h", "leverage": 3},
])
def test_skipping_quiet_ticks_changes_nothing(fil_feb: MarketData, extra: dict[str, Any]
                                              ) -> None:
    kwargs: dict[str, Any] = {"data_files": (FIL,), "warmup_candles": 0, **extra}
    config = BacktestConfig(**kwargs)
    prepared = prepare(config, fil_feb)
    assert prepared.plan.interval_low  # the skipping loop is the one under test
    fast_strategy = Counting(config.params)
    fast = execute(config, prepared, strategy=fast_strategy)
    slow_strategy = Counting(config.params)
    slow = execute(config, every_tick(prepared), strategy=slow_strategy)
    assert len(fast.trades) > 50
    assert fast.trades == slow.trades
    assert fast.rejected_orders == slow.rejected_orders
    np.testing.assert_array_equal(fast.equity, slow.equity)
    assert fast.metrics == slow.metrics
    assert fast_strategy.evaluated == slow_strategy.evaluated  # the same decisions were made
    assert fast_strategy.save_state() == slow_strategy.save_state()


def test_the_collector_is_left_as_it_was(fil_feb: MarketData) -> None:
    config = BacktestConfig(data_files=(FIL,), warmup_candles=0, end_ms=1_707_004_800_000)
    prepared = prepare(config, fil_feb)
    assert gc.isenabled()
    execute(config, prepared)
    assert gc.isenabled()
    gc.disable()
    try:
        execute(config, prepared)
        assert not gc.isenabled()
    finally:
        gc.enable()
