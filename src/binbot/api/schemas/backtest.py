"""Stored backtest runs and their trades."""

from __future__ import annotations

from typing import Any

from binbot.api.schemas.common import Out


class BacktestRunOut(Out):
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


class BacktestRunDetail(BacktestRunOut):
    equity: list[list[float]]


class BacktestTradeOut(Out):
    id: int
    run_id: str
    time_ms: int
    action: str
    price: float
    quantity: float
    fee: float
    pnl: float
