"""Where a backtest's end-to-end time goes: ``prepare`` (aggregation, ticks, candles), the
replay loop, and what ``execute`` does after it (round trips, trades, metrics).

BOLL on every FILUSDT month in ../shared/data, intrabar on 1m and bar-close on 15m, the same
runs as ``bench_backtest.py``; best of R for each phase.

Usage: python benchmarks/bench_backtest_phases.py [--months N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from binbot.backtest import BacktestConfig, execute, prepare
from binbot.backtest.bars import aggregate
from binbot.backtest.data import MarketData, load_files
from binbot.domain.market import Market

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "klines" / "binance-um-1m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=None, help="only the first N months")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    minute = load_files(sorted(DATA.glob("FILUSDT-1m-*.csv.gz"))[: args.months], Market.USDM)
    fifteen = MarketData(minute.market, minute.symbol, aggregate(minute.bars, "15m").bars,
                         minute.price_decimals, minute.qty_decimals)
    print(f"{'run':<22} {'prepare':>9} {'replay':>9} {'results':>9} {'total':>9}  (seconds)")
    for mode, data in (("intrabar", minute), ("bar_close", fifteen)):
        config = BacktestConfig(data_files=(Path("unused"),), mode=mode,  # type: ignore[arg-type]
                                params={"quantity": 100}, warmup_candles=0)
        best = [float("inf")] * 4
        for _ in range(args.repeat):
            started = time.perf_counter()
            prepared = prepare(config, data)
            prepared_at = time.perf_counter()
            result = execute(config, prepared)
            done = time.perf_counter()
            phases = (prepared_at - started, result.seconds,
                      done - prepared_at - result.seconds, done - started)
            best = [min(a, b) for a, b in zip(best, phases, strict=True)]
            del prepared, result  # freed here, outside the timed phases
        print(f"{mode:<22} {best[0]:>9.3f} {best[1]:>9.3f} {best[2]:>9.3f} {best[3]:>9.3f}")


if __name__ == "__main__":
    main()
