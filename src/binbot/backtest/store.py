"""Backtest runs in the database (``backtest_runs`` / ``backtest_trades``).

A run is saved in one transaction: its row (config, validated params, metrics, the equity
curve downsampled to at most ``MAX_EQUITY_POINTS``) and one row per trade action.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sqlalchemy import Engine, func, insert, select

from binbot.backtest.ledger import Trade
from binbot.backtest.result import BacktestResult, metrics_dict
from binbot.storage.database import write_transaction
from binbot.storage.trading_tables import backtest_runs, backtest_trades

MAX_EQUITY_POINTS: Final = 2000


@dataclass(frozen=True, slots=True)
class StoredRun:
    run_id: str
    created_ms: int
    strategy: str
    market: str
    symbol: str
    interval: str
    params: dict[str, Any]
    start_ms: int
    end_ms: int
    mode: str
    metrics: dict[str, Any]
    trades: int


def downsample(times: np.ndarray[Any, Any], values: np.ndarray[Any, Any],
               limit: int = MAX_EQUITY_POINTS) -> list[list[float]]:
    """At most ``limit`` evenly spaced points, the first and last always kept."""
    n = len(times)
    index = np.arange(n) if n <= limit else np.unique(np.linspace(0, n - 1, limit).round()
                                                        .astype(np.int64))
    return [[int(times[i]), float(values[i])] for i in index.tolist()]


def save_run(engine: Engine, result: BacktestResult, *, now_ms: int | None = None) -> str:
    """Store ``result``; return its new run id."""
    run_id = uuid.uuid4().hex
    config = result.config
    row = {
        "run_id": run_id,
        "created_ms": now_ms if now_ms is not None else int(time.time() * 1000),
        "strategy": result.strategy,
        "market": config.market.value,
        "symbol": result.symbol,
        "interval": config.interval,
        "params": result.params,
        "start_ms": result.metrics.start_ms,
        "end_ms": result.metrics.end_ms,
        "mode": config.mode,
        "metrics": metrics_dict(result.metrics),
        "equity": downsample(result.equity_time, result.equity),
    }
    trades = [{"run_id": run_id, "time_ms": t.time_ms, "action": t.action, "price": t.price,
               "quantity": t.qty, "fee": t.fee, "pnl": t.pnl} for t in result.trades]
    with write_transaction(engine) as connection:
        connection.execute(insert(backtest_runs), [row])
        if trades:
            connection.execute(insert(backtest_trades), trades)
    return run_id


def _stored(row: Any, trades: int) -> StoredRun:
    return StoredRun(row.run_id, int(row.created_ms), row.strategy, row.market, row.symbol,
                     row.interval, dict(row.params), int(row.start_ms), int(row.end_ms),
                     row.mode, dict(row.metrics), trades)


def list_runs(engine: Engine, limit: int = 50) -> list[StoredRun]:
    """The newest runs first, with their trade counts."""
    counts = (select(backtest_trades.c.run_id, func.count().label("n"))
              .group_by(backtest_trades.c.run_id).subquery())
    columns = [c for c in backtest_runs.c if c.name != "equity"]
    query = (select(*columns, func.coalesce(counts.c.n, 0).label("n"))
             .outerjoin(counts, counts.c.run_id == backtest_runs.c.run_id)
             .order_by(backtest_runs.c.created_ms.desc()).limit(limit))
    with engine.connect() as connection:
        return [_stored(row, int(row.n)) for row in connection.execute(query)]


def find_run(engine: Engine, prefix: str) -> tuple[StoredRun, list[list[float]]] | None:
    """The run whose id is ``prefix`` or starts with it (when unique), with its equity."""
    query = select(backtest_runs).where(backtest_runs.c.run_id.startswith(prefix,
                                                                          autoescape=True))
    with engine.connect() as connection:
        rows = connection.execute(query.limit(2)).all()
        if len(rows) != 1:
            return None
        row = rows[0]
        count = connection.execute(select(func.count()).where(
            backtest_trades.c.run_id == row.run_id)).scalar_one()
    return _stored(row, int(count)), [list(p) for p in (row.equity or [])]


def run_trades(engine: Engine, run_id: str) -> list[Trade]:
    query = (select(backtest_trades).where(backtest_trades.c.run_id == run_id)
             .order_by(backtest_trades.c.id))
    with engine.connect() as connection:
        return [Trade(int(r.time_ms), r.action, float(r.price), float(r.quantity), float(r.fee),
                      float(r.pnl)) for r in connection.execute(query)]
