"""A backtest leaves the garbage collector as it found it, and collects the reference cycles a
strategy makes while it replays (the collector keeps running; only older objects are frozen)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

from binbot.backtest import BacktestConfig, execute, prepare
from binbot.backtest.data import load_files
from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.strategy.base import Strategy

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "klines" / "binance-um-1m"


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


class CycleMaker(Strategy):
    """Makes one garbage cycle per closed candle and remembers weak references to them."""

    name = "cycle_maker"

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[weakref.ref[Any]] = []
        self.most_alive = 0  # the most cycles alive at once, sampled while the replay runs

    def on_candle(self, candle: Candle) -> None:
        self.refs.append(weakref.ref(_Node()))
        if len(self.refs) % 1000 == 0:
            alive = sum(ref() is not None for ref in self.refs)
            self.most_alive = max(self.most_alive, alive)


def test_cycles_made_during_a_replay_are_collected_and_gc_state_is_restored() -> None:
    [path] = sorted(DATA.glob("FILUSDT-1m-*.csv.gz"))[:1]
    config = BacktestConfig(data_files=(path,), mode="bar_close", interval="1m",
                            warmup_candles=0)
    data = load_files([path], Market.USDM)
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    strategy = CycleMaker()
    result = execute(config, prepare(config, data), strategy=strategy)
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen_before
    made = len(strategy.refs)
    assert made == result.bars > 10_000
    # Collected while the replay ran: never more than a few young generations' worth alive
    # (with the collector stopped, all of them would be).
    assert strategy.most_alive < 5_000, f"{strategy.most_alive} of {made} cycles alive at once"


def test_objects_frozen_by_someone_else_stay_frozen() -> None:
    [path] = sorted(DATA.glob("FILUSDT-1m-*.csv.gz"))[:1]
    config = BacktestConfig(data_files=(path,), mode="bar_close", interval="15m",
                            warmup_candles=0)
    data = load_files([path], Market.USDM)
    gc.freeze()  # an application that froze its start-up objects
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        execute(config, prepare(config, data))
        # Still frozen (an unfreeze leaves 0); a few of them may have been freed meanwhile.
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
