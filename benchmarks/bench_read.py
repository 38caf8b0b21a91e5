"""Read 1,000,000 stored candles of one series back into numpy (target: at most 1 s on SQLite).

The series is built from the real FILUSDT 1m archive files in ../shared/data, laid end to end
on a contiguous minute grid until it holds 1,000,000 candles, in a fresh SQLite file. Then
``SqlCandleStore.read_arrays`` (every column) and ``read_frame`` are timed, best of a few runs,
next to the naive SQLAlchemy ``select`` + ``fetchall`` for comparison.

    python benchmarks/bench_read.py [--rows 1000000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from binbot.domain.market import Market
from binbot.services.archive_import import prepare, write_prepared
from binbot.services.kline_archive import KlineColumns, read_kline_file
from binbot.storage import candles as candles_module
from binbot.storage.candle_table import candles
from binbot.storage.candles import SqlCandleStore
from binbot.storage.database import make_engine, sqlite_url, write_transaction
from binbot.storage.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[1]
KLINES = REPO_ROOT.parent / "shared" / "data" / "klines" / "binance-um-1m"
SYMBOL = "FILUSDT"
MINUTE = 60_000


def synthetic_series(rows: int) -> KlineColumns:
    """Real FILUSDT candles, concatenated and re-timed onto one contiguous minute grid."""
    parts = [read_kline_file(path) for path in sorted(KLINES.glob(f"{SYMBOL}-1m-*.csv.gz"))]
    fields = ("open", "high", "low", "close", "volume", "quote_volume", "trades",
              "taker_buy_volume", "taker_buy_quote_volume")
    joined = {name: np.concatenate([getattr(p, name) for p in parts]) for name in fields}
    reps = -(-rows // len(joined["open"]))
    tiled = {name: np.tile(values, reps)[:rows] for name, values in joined.items()}
    open_time = 1_600_000_000_000 - 1_600_000_000_000 % MINUTE + np.arange(rows) * MINUTE
    return KlineColumns(path=Path("synthetic"), market=Market.USDM, symbol=SYMBOL, interval="1m",
                        time_unit="ms", open_time=open_time, close_time=open_time + MINUTE - 1,
                        **tiled)


CPU: dict[str, float] = {}


def best_of(runs: int, fn, label: str = ""):  # type: ignore[no-untyped-def]
    """Best wall time of ``runs`` calls (and the CPU time of that call in CPU[label])."""
    best = float("inf")
    result = None
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = time.perf_counter() - started
        if wall < best:
            best, CPU[label] = wall, time.process_time() - cpu
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep this SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench_read.db"
        engine = make_engine(sqlite_url(path))
        upgrade(engine)
        store = SqlCandleStore(engine)
        if store.read_count(Market.USDM, SYMBOL, "1m") != args.rows:
            started = time.perf_counter()
            with write_transaction(engine) as connection:
                connection.exec_driver_sql("DELETE FROM candles")
                write_prepared(connection, prepare(synthetic_series(args.rows)))
            print(f"built {args.rows:,} candles in {time.perf_counter() - started:.1f} s")

        seconds, arrays = best_of(args.runs, lambda: store.read_arrays(Market.USDM, SYMBOL, "1m"),
                                  "arrays")
        assert len(arrays) == args.rows
        print(f"read_arrays, 12 columns ({len(arrays):,} candles): {seconds:.3f} s "
              f"({len(arrays) / seconds:,.0f} candles/s)  target <= 1 s; "
              f"CPU {CPU['arrays']:.3f} s over 2 threads")

        original = candles_module._PARALLEL_MIN_ROWS
        candles_module._PARALLEL_MIN_ROWS = 10**12  # one query, one thread
        single, _ = best_of(args.runs, lambda: store.read_arrays(Market.USDM, SYMBOL, "1m"),
                            "single")
        candles_module._PARALLEL_MIN_ROWS = original
        print(f"read_arrays in one thread: {single:.3f} s (CPU {CPU['single']:.3f} s)")

        ohlcv_s, ohlcv = best_of(args.runs, lambda: store.read_columns(Market.USDM, SYMBOL, "1m"))
        print(f"read_columns, time + OHLCV: {ohlcv_s:.3f} s ({len(ohlcv['close']):,} candles)")

        frame_s, frame = best_of(args.runs, lambda: store.read_frame(Market.USDM, SYMBOL, "1m"))
        print(f"read_frame (pandas):       {frame_s:.3f} s ({len(frame):,} rows)")

        def naive() -> int:
            with engine.connect() as connection:
                rows = connection.execute(
                    select(candles).where(candles.c.symbol == SYMBOL)
                    .order_by(candles.c.open_time)).fetchall()
            return len(rows)

        naive_s, _ = best_of(1, naive)
        print(f"naive SQLAlchemy select().fetchall(): {naive_s:.3f} s (for comparison)")
        engine.dispose()


if __name__ == "__main__":
    main()
