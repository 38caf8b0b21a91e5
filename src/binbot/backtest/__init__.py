"""Backtests: the strategy classes that trade live, in ``BotCore``, on a replay clock.

Public API: ``run_backtest(BacktestConfig) -> BacktestResult``, ``BacktestConfig``,
``BacktestResult``, ``Trade``, ``load_data``/``prepare``/``execute`` (the three steps of a
run, for callers that reuse data), ``compute_metrics``/``BacktestMetrics`` (``metrics``).
Nothing here is imported eagerly beyond these names' modules.
"""

from binbot.backtest.config import BacktestConfig
from binbot.backtest.ledger import Trade
from binbot.backtest.metrics import BacktestMetrics, compute_metrics
from binbot.backtest.result import BacktestResult
from binbot.backtest.runner import execute, load_data, prepare, run_backtest

__all__ = [
    "BacktestConfig",
    "BacktestMetrics",
    "BacktestResult",
    "Trade",
    "compute_metrics",
    "execute",
    "load_data",
    "prepare",
    "run_backtest",
]
