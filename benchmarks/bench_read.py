"""Read 1,000,000 stored candles of one series back into numpy (target: at most 1 s).

The series is built from the real FILUSDT 1m archive files in ../shared/data, laid end to end
on a contiguous minute grid until it holds 1,000,000 candles, in a fresh SQLite file (or, with
``--postgres URL``, in a schema of its own on that server). Then the public reads are timed,
best of a few runs:

- ``read_columns`` time + OHLCV (what strategies and backtests need): the main figure;
- ``read_arrays`` (all 12 columns) and ``read_frame`` (pandas);
- the same two reads through the columns, as they ran before ``candles.packed`` existed (the
  path rows without ``packed`` still take), and the naive SQLAlchemy ``select().fetchall()``.

    python benchmarks/bench_read.py [--rows 1000000] [--keep PATH] [--postgres URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from binbot.domain.market import Market
from binbot.services.archive_import import prepare, write_prepared
from binbot.services.kline_archive import KlineColumns, read_kline_file
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


class ColumnsOnly(SqlCandleStore):
    """The store reading column by column, as before ``candles.packed``."""

    def _read_packed(self, *args: object) -> None:
        return None


PG_SCHEMA = "binbot_bench_read"


def open_engine(args: argparse.Namespace, tmp: str) -> Engine:
    if args.postgres is None:
        return make_engine(sqlite_url(args.keep or Path(tmp) / "bench_read.db"))
    admin = make_engine(args.postgres)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{PG_SCHEMA}"')
    admin.dispose()
    return make_engine(args.postgres, pg_schema=PG_SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep this SQLite file")
    parser.add_argument("--postgres", default=None, metavar="URL",
                        help=f"run on this PostgreSQL server instead (schema {PG_SCHEMA})")
    args = parser.parse_args()
    series = (Market.USDM, SYMBOL, "1m")

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(args, tmp)
        print(f"database: {engine.dialect.name}")
        upgrade(engine)
        store = SqlCandleStore(engine)
        if store.read_count(*series) != args.rows:
            started = time.perf_counter()
            with write_transaction(engine) as connection:
                connection.exec_driver_sql("DELETE FROM candles")
                write_prepared(connection,
                               prepare(synthetic_series(args.rows), engine.dialect.name))
            if engine.dialect.name == "postgresql":
                with engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE candles")
            print(f"built {args.rows:,} candles in {time.perf_counter() - started:.1f} s")

        def timed(label: str, fn, rows_of) -> None:  # type: ignore[no-untyped-def]
            seconds, result = best_of(args.runs, fn, label)
            rows = rows_of(result)
            assert rows == args.rows, (label, rows)
            print(f"{label}: {seconds:.3f} s ({rows / seconds:,.0f} candles/s, "
                  f"CPU {CPU[label]:.3f} s)")

        print(f"{args.rows:,} candles, best of {args.runs}; target <= 1 s")
        timed("read_columns, time + OHLCV      ", lambda: store.read_columns(*series),
              lambda r: len(r["close"]))
        timed("read_arrays, all 12 columns     ", lambda: store.read_arrays(*series), len)
        timed("read_frame (pandas, 12 columns) ", lambda: store.read_frame(*series), len)
        old = ColumnsOnly(engine)
        print("through the columns (before candles.packed; rows without it still read so):")
        timed("read_columns, time + OHLCV      ", lambda: old.read_columns(*series),
              lambda r: len(r["close"]))
        timed("read_arrays, all 12 columns     ", lambda: old.read_arrays(*series), len)

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
