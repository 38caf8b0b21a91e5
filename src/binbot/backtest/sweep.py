"""Parameter sweeps: every combination of a grid across all cores, and walk-forward analysis.

Workers are processes (``ProcessPoolExecutor``; forked on Linux so the candles are shared, not
copied). Each worker keeps the loaded candles and prepares each time range once, then runs one
combination per task and sends back only the metrics. BLAS libraries are told to use a single
thread in workers: the cores are already all busy with backtests.

Walk-forward (``IS_DAYS:OOS_DAYS``): from the start of the data, optimise the grid on
``IS_DAYS`` (in-sample), run the best combination on the following ``OOS_DAYS``
(out-of-sample, with the in-sample candles as warm-up history), then move on by ``OOS_DAYS``.
The stitched out-of-sample result chains the windows: each window's equity curve and trades
are scaled so that it starts with the equity the previous one ended with (compounding).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from binbot.backtest.config import BacktestConfig
from binbot.backtest.data import DataError, MarketData
from binbot.backtest.ledger import Trade
from binbot.backtest.metrics import BacktestMetrics, TradeRecord, compute_metrics
from binbot.backtest.result import BacktestResult
from binbot.backtest.runner import Prepared, execute, prepare
from binbot.core.worker_process import exit_with_parent
from binbot.domain.market import interval_ms

DAY_MS: Final = 86_400_000
# Metrics where smaller is better; every other one ranks larger first.
_ASCENDING: Final = frozenset({"max_drawdown", "max_drawdown_fraction", "fees_paid",
                               "losing_trades", "gross_loss"})
RANK_METRICS: Final = ("net_profit", "total_return", "sharpe", "sortino", "calmar", "cagr",
                       "profit_factor", "win_rate", "average_trade", "max_drawdown",
                       "max_drawdown_fraction", "trades")

SweepProgress = Callable[[int, int], None]


class GridError(ValueError):
    """A ``--grid`` or ``--walk-forward`` value that cannot be used."""


def parse_value(text: str) -> Any:
    """``20`` -> 20, ``2.5`` -> 2.5, ``true`` -> True, anything else stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["k=1.5,2,2.5", "period=14,20"]`` -> ``{"k": [1.5, 2, 2.5], "period": [14, 20]}``."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise GridError(f"expected NAME=V1,V2,..., was {item!r}")
        if name in grid:
            raise GridError(f"parameter {name!r} given twice")
        grid[name] = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(grid[n] for n in names))]


def parse_walk_forward(text: str) -> tuple[float, float]:
    is_days, sep, oos_days = text.partition(":")
    try:
        result = float(is_days), float(oos_days)
    except ValueError:
        result = (0.0, 0.0)
    if not sep or result[0] <= 0 or result[1] <= 0:
        raise GridError(f"expected IS_DAYS:OOS_DAYS (e.g. 60:15), was {text!r}")
    return result


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One combination's outcome (``error``: why it could not run, e.g. invalid params)."""

    params: dict[str, Any]
    metrics: BacktestMetrics | None
    error: str = ""


def rank(rows: Sequence[SweepRow], metric: str) -> list[SweepRow]:
    """Best first by ``metric``; rows without a value (or that failed) last."""
    if metric not in BacktestMetrics.__dataclass_fields__:
        raise GridError(f"unknown metric {metric!r}; e.g. {', '.join(RANK_METRICS)}")
    sign = 1.0 if metric in _ASCENDING else -1.0

    def key(row: SweepRow) -> tuple[int, float]:
        value = None if row.metrics is None else getattr(row.metrics, metric)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return (1, 0.0)
        return (0, sign * float(value))

    return sorted(rows, key=key)


# -- workers ----------------------------------------------------------------------------------

_worker_data: MarketData | None = None  # set in each worker process by _init_worker
_worker_prepared: dict[tuple[Any, ...], Prepared] = {}


def _init_pool_worker(data: MarketData) -> None:
    exit_with_parent()  # a sweep whose command is killed must not leave its workers behind
    _init_worker(data)


def _init_worker(data: MarketData) -> None:
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    global _worker_data  # per-process state of a pool worker
    _worker_data = data
    _worker_prepared.clear()


def _range_key(config: BacktestConfig) -> tuple[Any, ...]:
    return (config.start_ms, config.end_ms, config.interval, config.mode, config.price_path,
            config.warmup_candles, config.funding)


def _prepared(config: BacktestConfig, data: MarketData) -> Prepared:
    key = _range_key(config)
    prepared = _worker_prepared.get(key)
    if prepared is None:
        prepared = prepare(config, data)
        _worker_prepared[key] = prepared
    return prepared


def _run_one(config: BacktestConfig) -> SweepRow:
    data = _worker_data
    if data is None:
        raise RuntimeError("sweep worker used before it was initialised")
    try:
        result = execute(config, _prepared(config, data))
    except (ValueError, DataError) as e:  # StrategyParamsError is a ValueError
        return SweepRow(dict(config.params), None, str(e))
    return SweepRow(dict(config.params), result.metrics)


def _pool(data: MarketData, workers: int) -> ProcessPoolExecutor:
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context(method),
                               initializer=_init_pool_worker, initargs=(data,))


def run_configs(configs: Sequence[BacktestConfig], data: MarketData, *,
                workers: int | None = None,
                progress: SweepProgress | None = None) -> list[SweepRow]:
    """Run each config (same data), in parallel when ``workers`` > 1; results in input order."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    count = max(1, min(count, len(configs)))
    rows: list[SweepRow | None] = [None] * len(configs)
    if count == 1:
        _init_worker(data)
        for i, config in enumerate(configs):
            rows[i] = _run_one(config)
            if progress is not None:
                progress(i + 1, len(configs))
    else:
        with _pool(data, count) as pool:
            futures: dict[Future[SweepRow], int] = {
                pool.submit(_run_one, config): i for i, config in enumerate(configs)}
            for done, future in enumerate(as_completed(futures), start=1):
                rows[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(configs))
    return [row for row in rows if row is not None]


def run_grid(config: BacktestConfig, grid: dict[str, list[Any]], data: MarketData, *,
             workers: int | None = None,
             progress: SweepProgress | None = None) -> list[SweepRow]:
    """Every combination of ``grid`` over ``config.params``, in grid order."""
    configs = [config.with_params({**config.params, **combo}) for combo in combinations(grid)]
    return run_configs(configs, data, workers=workers, progress=progress)


# -- walk-forward -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, eq=False)
class Window:
    in_sample: tuple[int, int]
    out_of_sample: tuple[int, int]
    best: SweepRow
    result: BacktestResult  # the best params on the out-of-sample range


@dataclass(frozen=True, slots=True, eq=False)
class WalkForward:
    windows: list[Window]
    metrics: BacktestMetrics  # of the stitched out-of-sample curve
    equity_time: np.ndarray[Any, np.dtype[np.int64]]
    equity: np.ndarray[Any, np.dtype[np.float64]]
    trades: list[Trade]


def windows(start_ms: int, end_ms: int, is_days: float, oos_days: float,
            interval: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(in-sample, out-of-sample) ranges, on interval boundaries, the last OOS cut at the end."""
    length = interval_ms(interval)

    def align(ms: float) -> int:
        return int(ms) - int(ms) % length

    is_ms, oos_ms = is_days * DAY_MS, oos_days * DAY_MS
    result = []
    cursor = align(start_ms + length - 1)
    while True:
        split = align(cursor + is_ms)
        stop = min(align(split + oos_ms), end_ms)
        if split >= end_ms or stop - split < length or split <= cursor:
            break
        result.append(((cursor, split), (split, stop)))
        cursor = align(cursor + oos_ms)
    return result


def walk_forward(config: BacktestConfig, grid: dict[str, list[Any]], data: MarketData,
                 is_days: float, oos_days: float, *, rank_by: str = "net_profit",
                 workers: int | None = None,
                 progress: SweepProgress | None = None) -> WalkForward:
    bars = data.bars
    start = config.start_ms if config.start_ms is not None else int(bars.open_time[0])
    end = config.end_ms if config.end_ms is not None else int(bars.close_time[-1]) + 1
    spans = windows(start, end, is_days, oos_days, config.interval)
    if not spans:
        raise GridError(f"the data ({(end - start) / DAY_MS:.1f} days) is too short for "
                        f"{is_days:g} in-sample + {oos_days:g} out-of-sample days")
    combos = combinations(grid)
    configs = [config.with_range(*is_range).with_params({**config.params, **combo})
               for is_range, _ in spans for combo in combos]
    total = len(configs) + len(spans)
    rows = run_configs(configs, data, workers=workers,
                       progress=None if progress is None else lambda d, _t: progress(d, total))
    found: list[Window] = []
    for w, (is_range, oos_range) in enumerate(spans):
        chosen = rank(rows[w * len(combos):(w + 1) * len(combos)], rank_by)[0]
        if chosen.metrics is None:
            raise GridError(f"no combination ran in window {w + 1}: {chosen.error}")
        oos_config = config.with_range(*oos_range).with_params(chosen.params)
        outcome = execute(oos_config, prepare(oos_config, data))
        found.append(Window(is_range, oos_range, chosen, outcome))
        if progress is not None:
            progress(len(configs) + w + 1, total)
    return _stitch(found, float(config.starting_capital))


def _stitch(found: list[Window], capital: float) -> WalkForward:
    times: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    values: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    closes: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    trades: list[Trade] = []
    trips: list[TradeRecord] = []
    spans: list[tuple[int, int]] = []
    level = capital
    for i, window in enumerate(found):
        result = window.result
        scale = level / float(result.equity[0])
        skip = 0 if i == 0 else 1  # the start point equals the previous window's end
        times.append(result.equity_time[skip:])
        values.append(result.equity[skip:] * scale)
        closes.append(result.candles.close if i else
                      np.concatenate(([result.candles.open[0]], result.candles.close)))
        trades.extend(Trade(t.time_ms, t.action, t.price, t.qty * scale, t.fee * scale,
                            t.pnl * scale) for t in result.trades)
        trips.extend(TradeRecord(t.entry_time_ms, t.exit_time_ms, t.pnl * scale, t.fees * scale)
                     for t in result.round_trips)
        spans.extend(result.exposure)
        level = float(result.equity[-1]) * scale
    stitched_time = np.concatenate(times)
    stitched = np.concatenate(values)
    metrics = compute_metrics(stitched_time, stitched, trips, closes=np.concatenate(closes),
                              position_intervals=spans)
    return WalkForward(found, metrics, stitched_time, stitched, trades)
