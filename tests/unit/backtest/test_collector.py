"""A backtest leaves the garbage collector as it found it, and collects the reference cycles a
strategy makes while it replays (the collector's young passes keep running; only its full
passes wait until the backtest is done)."""

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
    thresholds_before = gc.get_threshold()
    strategy = CycleMaker()
    result = execute(config, prepare(config, data), strategy=strategy)
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen_before
    assert gc.get_threshold() == thresholds_before
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


def test_full_passes_wait_for_the_end_of_the_backtest() -> None:
    """During ``execute`` the oldest generation is never collected; young passes still run."""
    [path] = sorted(DATA.glob("FILUSDT-1m-*.csv.gz"))[:1]
    config = BacktestConfig(data_files=(path,), mode="bar_close", interval="1m",
                            warmup_candles=0)
    prepared = prepare(config, load_files([path], Market.USDM))
    passes: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    thresholds = gc.get_threshold()
    gc.set_threshold(100, 1, 1)  # without the deferral: a full pass every other young pass
    gc.callbacks.append(count)
    try:
        execute(config, prepared, strategy=CycleMaker())
        assert gc.get_threshold() == (100, 1, 1)  # restored
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)
    assert 0 in passes  # the young passes ran
    assert 2 not in passes
