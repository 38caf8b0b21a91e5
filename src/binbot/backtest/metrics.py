"""Backtest performance metrics: pure functions over float64 data.

Inputs: the equity curve (timestamps in ms, equity in quote currency, marked to market), the
closed trades, optionally the candle closes for buy-and-hold and the intervals spent in a
position. Conventions, stated once here:

- Relative quantities are fractions: ``total_return == 0.05`` means +5 %.
- Profit is read from the equity curve (``final - initial``), so it includes any position still
  open at the end; trade statistics come from the closed trades only. A trade's ``pnl`` is net
  of its fees (what it added to equity); ``fees`` is reported separately.
- A year is 365 days (crypto trades every day). CAGR over a short backtest is extrapolated and
  can be huge; read it together with the duration.
- Sharpe and Sortino use the equity curve's own periodic returns ``e[t] / e[t-1] - 1`` with a
  risk-free rate of 0, annualised by ``sqrt(periods_per_year)``. The period is the median spacing
  of the timestamps (``periods_per_year = 365 days / median spacing``) unless given, which
  assumes a regularly sampled curve: sample it evenly (e.g. one point per candle or per day)
  before calling. Sharpe divides the mean by the sample standard deviation (ddof 1); Sortino by
  the downside deviation ``sqrt(mean(min(r, 0)^2))`` over all returns (target 0).
- Undefined values are ``None``, never a made-up number: Sharpe with fewer than two returns or
  zero variance (a flat curve), Sortino with no negative return, Calmar with no drawdown, win
  rate / average trade with no trades, profit factor with no losing *and* no winning trade.
  Profit factor with winners but no losers is ``math.inf``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from binbot.domain.values import fast_init

YEAR_MS = 365 * 24 * 60 * 60 * 1000
# A return series whose spread is this small next to its mean is constant up to rounding.
_ZERO_SPREAD = 1e-12


@fast_init  # a backtest builds one per round trip, tens of thousands
@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A closed trade as the metrics need it (convert Decimal ledger values with ``float``)."""

    entry_time_ms: int
    exit_time_ms: int
    pnl: float  # net of fees
    fees: float


@dataclass(frozen=True, slots=True)
class BacktestMetrics:
    start_ms: int
    end_ms: int
    initial_equity: float
    final_equity: float
    net_profit: float
    total_return: float
    cagr: float | None
    max_drawdown: float  # largest peak-to-trough fall, in quote currency (>= 0)
    max_drawdown_fraction: float  # largest fall relative to its peak (may come from another dip)
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    periods_per_year: float | None
    trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float | None
    gross_profit: float
    gross_loss: float  # sum of losing trades' pnl, as a positive number
    profit_factor: float | None
    average_trade: float | None
    fees_paid: float
    exposure: float | None  # share of [start, end] spent in a position
    buy_and_hold_return: float | None


def compute_metrics(
    timestamps_ms: npt.ArrayLike,
    equity: npt.ArrayLike,
    trades: Sequence[TradeRecord] = (),
    closes: npt.ArrayLike | None = None,
    position_intervals: Iterable[tuple[int, int]] | None = None,
    periods_per_year: float | None = None,
) -> BacktestMetrics:
    """All metrics of one backtest.

    ``position_intervals`` are ``(start_ms, end_ms)`` spans in a position, overlaps allowed;
    when omitted, each trade's ``(entry_time_ms, exit_time_ms)`` is used.
    """
    times, values = _equity_curve(timestamps_ms, equity)
    start, end = int(times[0]), int(times[-1])
    initial, final = float(values[0]), float(values[-1])
    if periods_per_year is None:
        periods_per_year = infer_periods_per_year(times)
    returns = periodic_returns(values)
    drawdown, drawdown_fraction = max_drawdown(values)
    growth = cagr(initial, final, end - start)
    # The trades' figures as arrays: the filters and counts run in numpy, the sums stay
    # ``math.fsum`` (exact, so independent of the order and of numpy's pairwise summing).
    pnl = np.fromiter([t.pnl for t in trades], np.float64, len(trades))
    won = pnl[pnl > 0]
    lost = pnl[pnl < 0]
    gross_profit = math.fsum(won.tolist())
    gross_loss = -math.fsum(lost.tolist())
    winners = len(won)
    if position_intervals is None:
        position_intervals = [(t.entry_time_ms, t.exit_time_ms) for t in trades]
    return BacktestMetrics(
        start_ms=start,
        end_ms=end,
        initial_equity=initial,
        final_equity=final,
        net_profit=final - initial,
        total_return=final / initial - 1.0,
        cagr=growth,
        max_drawdown=drawdown,
        max_drawdown_fraction=drawdown_fraction,
        sharpe=sharpe_ratio(returns, periods_per_year),
        sortino=sortino_ratio(returns, periods_per_year),
        calmar=growth / drawdown_fraction if growth is not None and drawdown_fraction > 0 else None,
        periods_per_year=periods_per_year,
        trades=len(trades),
        winning_trades=winners,
        losing_trades=len(lost),
        win_rate=winners / len(trades) if trades else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=profit_factor(gross_profit, gross_loss),
        average_trade=math.fsum(pnl.tolist()) / len(trades) if trades else None,
        fees_paid=math.fsum([t.fees for t in trades]),
        exposure=exposure(position_intervals, start, end),
        buy_and_hold_return=None if closes is None else buy_and_hold_return(closes),
    )


def _equity_curve(
    timestamps_ms: npt.ArrayLike, equity: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    times = np.asarray(timestamps_ms, dtype=np.int64)
    values = np.asarray(equity, dtype=np.float64)
    if times.ndim != 1 or values.shape != times.shape:
        raise ValueError(
            f"timestamps and equity must be 1-D of one length: {times.shape} vs {values.shape}"
        )
    if len(values) == 0:
        raise ValueError("the equity curve is empty")
    if np.any(np.diff(times) <= 0):
        raise ValueError("equity timestamps must be strictly increasing")
    if not np.isfinite(values).all():
        raise ValueError("equity contains NaN or infinity")
    if values[0] <= 0:
        raise ValueError(f"initial equity must be positive, was {values[0]}")
    return times, values


def infer_periods_per_year(timestamps_ms: npt.NDArray[np.int64]) -> float | None:
    """365 days divided by the median timestamp spacing; None for fewer than two points."""
    if len(timestamps_ms) < 2:
        return None
    return YEAR_MS / float(np.median(np.diff(timestamps_ms)))


def periodic_returns(equity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Simple returns between consecutive equity points.

    A step starting from zero or negative equity (an account already wiped out) has no return
    and is left out rather than turned into NaN or a sign-flipped ratio.
    """
    prev, curr = equity[:-1], equity[1:]
    alive = prev > 0
    returns: npt.NDArray[np.float64] = curr[alive] / prev[alive] - 1.0
    return returns


def max_drawdown(equity: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(largest absolute fall from a running peak, largest fall relative to its peak)."""
    peaks = np.maximum.accumulate(equity)
    falls = peaks - equity
    return float(falls.max()), float((falls / peaks).max())


def cagr(initial: float, final: float, duration_ms: int) -> float | None:
    """Compound annual growth rate; -1 when everything was lost, None for a zero duration."""
    if duration_ms <= 0:
        return None
    if final <= 0:
        return -1.0
    try:
        return math.exp(math.log(final / initial) * YEAR_MS / duration_ms) - 1.0
    except OverflowError:  # a tiny duration extrapolated to a year
        return math.inf


def sharpe_ratio(returns: npt.NDArray[np.float64], periods_per_year: float | None) -> float | None:
    if len(returns) < 2 or periods_per_year is None:
        return None
    mean = float(np.mean(returns))
    spread = float(np.std(returns, ddof=1))
    if spread <= _ZERO_SPREAD * abs(mean) or spread == 0.0:
        return None
    return mean / spread * math.sqrt(periods_per_year)


def sortino_ratio(returns: npt.NDArray[np.float64], periods_per_year: float | None) -> float | None:
    if len(returns) < 1 or periods_per_year is None:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0.0:
        return None
    return float(np.mean(returns)) / downside * math.sqrt(periods_per_year)


def profit_factor(gross_profit: float, gross_loss: float) -> float | None:
    if gross_loss > 0:
        return gross_profit / gross_loss
    return math.inf if gross_profit > 0 else None


def exposure(intervals: Iterable[tuple[int, int]], start_ms: int, end_ms: int) -> float | None:
    """Length of the union of ``intervals`` (integer milliseconds) inside [start, end], over
    ``end - start``."""
    if end_ms <= start_ms:
        return None
    # ``fromiter`` over the flattened pairs: 2.5x faster than ``np.array`` of the tuples.
    spans = np.fromiter(itertools.chain.from_iterable(intervals), np.int64).reshape(-1, 2)
    lows = np.maximum(spans[:, 0], start_ms)
    highs = np.minimum(spans[:, 1], end_ms)
    inside = highs > lows
    order = np.argsort(lows[inside], kind="stable")
    lows = lows[inside][order]
    highs = highs[inside][order]
    if len(lows) == 0:
        return 0.0
    # Sorted by start, a span begins a new run of overlapping spans when it starts after every
    # span before it has ended; a run then covers from its first start to the furthest end
    # so far at its last span. Integer milliseconds: the sum is exact.
    reach = np.maximum.accumulate(highs)
    first = np.flatnonzero(np.concatenate(([True], lows[1:] > reach[:-1])))
    last = np.concatenate((first[1:] - 1, [len(lows) - 1]))
    covered = int((reach[last] - lows[first]).sum())
    return covered / (end_ms - start_ms)


def buy_and_hold_return(closes: npt.ArrayLike) -> float | None:
    """Return of buying at the first close and selling at the last; None without closes."""
    prices = np.asarray(closes, dtype=np.float64)
    if prices.ndim != 1:
        raise ValueError("closes must be one-dimensional")
    if len(prices) == 0:
        return None
    if not prices[0] > 0:
        raise ValueError(f"the first close must be positive, was {prices[0]}")
    return float(prices[-1] / prices[0]) - 1.0
