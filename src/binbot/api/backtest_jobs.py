"""Backtests started from the dashboard: one at a time, in a separate process.

A backtest is CPU-bound for seconds to minutes; running it in a worker thread would still hold
the GIL against the event loop, so it runs in a one-worker process pool (spawned: no inherited
threads or open database handles), which loads the candles, runs ``run_backtest`` and stores the
result itself. Only built-in strategies may be named: a ``module:Class`` reference would import
arbitrary code on the caller's say-so.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from binbot.core.worker_process import exit_with_parent


class BacktestBusy(RuntimeError):
    """A backtest is already running."""


@dataclass(frozen=True, slots=True)
class BacktestJob:
    database_url: str
    strategy: str
    params: dict[str, Any]
    market: str
    symbol: str
    interval: str
    start_ms: int
    end_ms: int
    mode: str
    capital: str | None


def builtin_strategies() -> list[str]:
    from binbot.strategy.builtin import BUILTIN

    return sorted(BUILTIN)


def run_job(job: BacktestJob) -> str:
    """Run and store one backtest (in the worker process); return the run id."""
    from binbot.backtest.config import BacktestConfig
    from binbot.backtest.runner import run_backtest
    from binbot.backtest.store import save_run
    from binbot.domain.market import Market
    from binbot.storage.database import make_engine

    config = BacktestConfig(
        strategy=job.strategy, params=job.params, market=Market(job.market), symbol=job.symbol,
        interval=job.interval, start_ms=job.start_ms, end_ms=job.end_ms,
        database_url=job.database_url, mode=job.mode,  # type: ignore[arg-type]
        capital=Decimal(job.capital) if job.capital is not None else None,
    )
    result = run_backtest(config)
    engine = make_engine(job.database_url)
    try:
        return save_run(engine, result)
    finally:
        engine.dispose()


class BacktestRunner:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()

    async def run(self, job: BacktestJob) -> str:
        if self._lock.locked():
            raise BacktestBusy("a backtest is already running; try again when it is done")
        async with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=exit_with_parent)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, run_job, job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
