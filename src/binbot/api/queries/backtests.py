"""Reads of stored backtest runs."""

from __future__ import annotations

from sqlalchemy import Engine, select

from binbot.api.schemas.backtest import BacktestRunDetail, BacktestRunOut, BacktestTradeOut
from binbot.storage.trading_tables import backtest_runs, backtest_trades

_SUMMARY = [col for col in backtest_runs.c if col.name != "equity"]


def list_runs(engine: Engine, *, symbol: str | None, strategy: str | None, limit: int
              ) -> list[BacktestRunOut]:
    query = select(*_SUMMARY)
    if symbol is not None:
        query = query.where(backtest_runs.c.symbol == symbol)
    if strategy is not None:
        query = query.where(backtest_runs.c.strategy == strategy)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(backtest_runs.c.created_ms.desc()).limit(limit))
        return [BacktestRunOut.model_validate(dict(r)) for r in rows.mappings()]


def get_run(engine: Engine, run_id: str) -> BacktestRunDetail | None:
    with engine.connect() as conn:
        row = conn.execute(select(backtest_runs).where(backtest_runs.c.run_id == run_id)
                           ).mappings().one_or_none()
    if row is None:
        return None
    data = dict(row)
    data["equity"] = [[float(t), float(v)] for t, v in (data["equity"] or [])]
    return BacktestRunDetail.model_validate(data)


def run_trades(engine: Engine, run_id: str, limit: int, after_id: int | None
               ) -> list[BacktestTradeOut]:
    query = select(backtest_trades).where(backtest_trades.c.run_id == run_id)
    if after_id is not None:
        query = query.where(backtest_trades.c.id > after_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(backtest_trades.c.id).limit(limit)).mappings()
        return [BacktestTradeOut.model_validate(dict(r)) for r in rows]
