"""The outcome of one backtest and its JSON form."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from binbot.backtest.bars import Bars
from binbot.backtest.config import BacktestConfig
from binbot.backtest.ledger import Trade
from binbot.backtest.metrics import BacktestMetrics, TradeRecord
from binbot.domain.instrument import Instrument


def json_number(value: Any) -> Any:
    """Floats as JSON allows them: NaN and infinities become ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_dict(metrics: BacktestMetrics) -> dict[str, Any]:
    """Every metric by name; non-finite values (profit factor without losers) are ``None``."""
    return {name: json_number(value) for name, value in asdict(metrics).items()}


@dataclass(frozen=True, slots=True, eq=False)
class BacktestResult:
    """Metrics, trades (in time order) and the equity curve of one run.

    ``equity_time``/``equity``: the account marked to the last price, first at the start then
    after every interval candle. ``candles``: the replayed interval candles (for charts).
    ``params``: the strategy's validated parameters, defaults included.
    """

    config: BacktestConfig
    symbol: str
    strategy: str
    params: dict[str, Any]
    instrument: Instrument
    metrics: BacktestMetrics
    trades: list[Trade]
    equity_time: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    candles: Bars
    bars: int  # lower-timeframe candles replayed
    ticks: int  # prices fed to the bot
    funding: float  # funding received (negative: paid)
    seconds: float  # wall time of the replay itself
    round_trips: list[TradeRecord]  # closed trades, net of fees (what the metrics count)
    exposure: list[tuple[int, int]]  # spans spent in a position
    rejected_orders: int  # refused by the risk gate or the simulator (the log says why)

    @property
    def mode(self) -> str:
        return self.config.mode

    def to_json(self) -> dict[str, Any]:
        """``{"metrics": {...}, "trades": [{time_ms, action, price, qty, fee, pnl}, ...]}``."""
        return {"metrics": metrics_dict(self.metrics),
                "trades": [t.to_dict() for t in self.trades]}

    def drawdown(self) -> npt.NDArray[np.float64]:
        """The fall from the running peak of the equity, as a fraction of that peak."""
        peaks = np.maximum.accumulate(self.equity)
        result: npt.NDArray[np.float64] = (peaks - self.equity) / peaks
        return result
