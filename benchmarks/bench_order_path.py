"""What one order costs in a backtest, end to end through the product's pipeline.

A strategy that reverses its position at every closed 15m candle (a close order then an open
order, like BOLL's reversals) runs in bar-close mode on real FILUSDT candles, and again with
the same strategy placing no order. The difference, divided by the number of orders, is the
cost of one market order from the strategy's command through the risk gate, the simulator,
the fill and the portfolio: no event sink and no order hook, as in a backtest of a strategy
that keeps the base ``on_order``/``on_fill`` (as BOLL does for filled orders: its
``order_updates`` names only the states of orders that end unexecuted). Printed
as wall-clock time (best of R) and as Python function calls per order (exact, independent of
the machine's load), with the same figures per closed candle.

This is the number behind ``bench_backtest.py``'s intrabar figure: the BOLL rules place about
one order per 32 1m bars there, so the per-order cost bounds the bars per second.

Usage: python benchmarks/bench_order_path.py [--months N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from _machine import describe

from binbot.backtest import BacktestConfig, execute, prepare
from binbot.backtest.bars import aggregate
from binbot.backtest.data import MarketData, load_files
from binbot.domain.candle import Candle
from binbot.domain.market import Market
from binbot.strategy.base import Strategy

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "klines" / "binance-um-1m"
QTY = 100


class Reverser(Strategy):
    """Reverses the position at every closed candle (``trade=False``: only counts them)."""

    name = "reverser"

    def __init__(self, trade: bool) -> None:
        super().__init__()
        self.trade = trade
        self.long = False

    def on_candle(self, candle: Candle) -> None:
        if not self.trade:
            return
        self.close()
        self.long = not self.long
        if self.long:
            self.buy(QTY)
        else:
            self.sell(QTY)


def run(data: MarketData, trade: bool, repeat: int) -> tuple[float, int, int]:
    """(best replay seconds, orders, candles)."""
    config = BacktestConfig(data_files=(Path("unused"),), mode="bar_close", warmup_candles=0)
    prepared = prepare(config, data)
    best = float("inf")
    orders = 0
    for _ in range(repeat):
        result = execute(config, prepared, strategy=Reverser(trade))
        best = min(best, result.seconds)
        orders = len(result.trades)  # one leg per market order: close or open
    return best, orders, prepared.bars


def count_calls(data: MarketData, trade: bool) -> int:
    """Python function calls made by one whole backtest (setup included)."""
    calls = 0

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    config = BacktestConfig(data_files=(Path("unused"),), mode="bar_close", warmup_candles=0)
    prepared = prepare(config, data)
    sys.setprofile(profiler)
    try:
        execute(config, prepared, strategy=Reverser(trade))
    finally:
        sys.setprofile(None)
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(DATA.glob("FILUSDT-1m-*.csv.gz"))[: args.months]
    minute = load_files(files, Market.USDM)
    fifteen = aggregate(minute.bars, "15m").bars
    data = MarketData(minute.market, minute.symbol, fifteen, minute.price_decimals,
                      minute.qty_decimals)
    quiet, _, candles = run(data, False, args.repeat)
    busy, orders, _ = run(data, True, args.repeat)
    quiet_calls = count_calls(data, False)
    busy_calls = count_calls(data, True)
    print(f"machine: {describe()}")
    print(f"FILUSDT: {len(files)} months, {candles:,} closed 15m candles, bar-close replay, "
          f"best of {args.repeat}")
    print(f"per closed candle (no order): {quiet / candles * 1e6:8.2f} us, "
          f"{quiet_calls / candles:6.1f} Python calls")
    print(f"per market order ({orders:,}):   {(busy - quiet) / orders * 1e6:8.2f} us, "
          f"{(busy_calls - quiet_calls) / orders:6.1f} Python calls")


if __name__ == "__main__":
    main()
