"""Backtest metrics against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from binbot.backtest.metrics import (
    YEAR_MS,
    BacktestMetrics,
    TradeRecord,
    compute_metrics,
    exposure,
    max_drawdown,
)

DAY = 24 * 60 * 60 * 1000
HOUR = 60 * 60 * 1000

# Daily equity 100 -> 110 -> 99 -> 108.9 -> 119.79: returns +10 %, -10 %, +10 %, +10 %.
TIMES = [0, DAY, 2 * DAY, 3 * DAY, 4 * DAY]
EQUITY = [100.0, 110.0, 99.0, 108.9, 119.79]
TRADES = [
    TradeRecord(entry_time_ms=0, exit_time_ms=DAY, pnl=12.0, fees=1.0),
    TradeRecord(entry_time_ms=DAY + DAY // 2, exit_time_ms=2 * DAY, pnl=-5.0, fees=0.5),
    TradeRecord(entry_time_ms=2 * DAY, exit_time_ms=3 * DAY, pnl=3.0, fees=0.5),
]


def _metrics(**overrides: object) -> BacktestMetrics:
    kwargs: dict[str, object] = {
        "timestamps_ms": TIMES,
        "equity": EQUITY,
        "trades": TRADES,
        "closes": [50.0, 52.0, 45.0, 40.0],
    }
    kwargs.update(overrides)
    return compute_metrics(**kwargs)  # type: ignore[arg-type]


def test_profit_and_returns() -> None:
    m = _metrics()
    # net profit 119.79 - 100 = 19.79; total return 19.79 / 100
    assert m.net_profit == pytest.approx(19.79)
    assert m.total_return == pytest.approx(0.1979)
    assert (m.initial_equity, m.final_equity) == (100.0, 119.79)
    assert (m.start_ms, m.end_ms) == (0, 4 * DAY)
    # 4 days = 4/365 years: CAGR = 1.1979 ** (365 / 4) - 1
    assert m.cagr == pytest.approx(1.1979 ** (365 / 4) - 1, rel=1e-9)
    # buy and hold: 40 / 50 - 1
    assert m.buy_and_hold_return == pytest.approx(-0.2)


def test_drawdown_and_calmar() -> None:
    m = _metrics()
    # the only fall: peak 110 -> 99, 11 in money, 11 / 110 = 10 %
    assert m.max_drawdown == pytest.approx(11.0)
    assert m.max_drawdown_fraction == pytest.approx(0.1)
    assert m.calmar == pytest.approx((1.1979 ** (365 / 4) - 1) / 0.1, rel=1e-9)


def test_absolute_and_relative_drawdowns_can_come_from_different_dips() -> None:
    # 100 -> 50 (fall 50, 50 %), then 1000 -> 900 (fall 100, 10 %)
    assert max_drawdown(np.array([100.0, 50.0, 1000.0, 900.0])) == (100.0, 0.5)


def test_sharpe_and_sortino() -> None:
    m = _metrics()
    # daily points -> 365 periods a year
    assert m.periods_per_year == pytest.approx(365.0)
    # returns .1, -.1, .1, .1: mean .05; deviations .05 -.15 .05 .05, squares sum
    # .0025 + .0225 + .0025 + .0025 = .03; sample variance .03 / 3 = .01, std .1
    # Sharpe = .05 / .1 * sqrt(365)
    assert m.sharpe == pytest.approx(0.5 * math.sqrt(365), rel=1e-9)
    # downside: min(r, 0) = 0, -.1, 0, 0 -> mean square .01 / 4 = .0025, root .05
    # Sortino = .05 / .05 * sqrt(365)
    assert m.sortino == pytest.approx(math.sqrt(365), rel=1e-9)


def test_periodicity_is_inferred_from_median_spacing_or_given() -> None:
    hourly = [i * HOUR for i in range(5)]
    assert _metrics(timestamps_ms=hourly).periods_per_year == pytest.approx(365 * 24)
    # same returns, hourly: Sharpe scales with sqrt(8760) instead of sqrt(365)
    assert _metrics(timestamps_ms=hourly).sharpe == pytest.approx(0.5 * math.sqrt(8760))
    assert _metrics(periods_per_year=52.0).sharpe == pytest.approx(0.5 * math.sqrt(52))


def test_trade_statistics() -> None:
    m = _metrics()
    assert (m.trades, m.winning_trades, m.losing_trades) == (3, 2, 1)
    assert m.win_rate == pytest.approx(2 / 3)
    # gross profit 12 + 3 = 15, gross loss 5 -> profit factor 3
    assert (m.gross_profit, m.gross_loss) == (15.0, 5.0)
    assert m.profit_factor == pytest.approx(3.0)
    # average (12 - 5 + 3) / 3
    assert m.average_trade == pytest.approx(10 / 3)
    # fees 1 + 0.5 + 0.5
    assert m.fees_paid == pytest.approx(2.0)


def test_exposure_from_trades() -> None:
    # trades cover [0, 1d], [1.5d, 2d], [2d, 3d] -> union 1 + 1.5 = 2.5 days of 4
    assert _metrics().exposure == pytest.approx(2.5 / 4)


def test_exposure_from_overlapping_and_overhanging_intervals() -> None:
    intervals = [(0, DAY), (DAY + DAY // 2, 2 * DAY), (DAY + 3 * DAY // 4, 3 * DAY)]
    intervals.append((3 * DAY + DAY // 2, 5 * DAY))  # clipped to [3.5d, 4d]
    intervals.append((-DAY, -1))  # entirely before the curve
    # union: [0, 1d] + [1.5d, 3d] + [3.5d, 4d] = 1 + 1.5 + 0.5 = 3 days of 4
    assert _metrics(position_intervals=intervals).exposure == pytest.approx(0.75)
    assert exposure([], 0, DAY) == 0.0
    assert exposure([(0, DAY)], 5, 5) is None


def test_no_trades() -> None:
    m = _metrics(trades=[])
    assert (m.trades, m.winning_trades, m.losing_trades) == (0, 0, 0)
    assert m.win_rate is None
    assert m.profit_factor is None
    assert m.average_trade is None
    assert m.fees_paid == 0.0
    assert (m.gross_profit, m.gross_loss) == (0.0, 0.0)
    assert m.exposure == 0.0
    # equity-based figures do not depend on the trades
    assert m.net_profit == pytest.approx(19.79)


def test_all_winners_profit_factor_is_infinite() -> None:
    winners = [TradeRecord(0, DAY, 2.0, 0.1), TradeRecord(DAY, 2 * DAY, 1.0, 0.1)]
    m = _metrics(trades=winners)
    assert m.profit_factor == math.inf
    assert m.win_rate == 1.0


def test_breakeven_trades_only() -> None:
    m = _metrics(trades=[TradeRecord(0, DAY, 0.0, 0.2)])
    # neither a win nor a loss; nothing to divide
    assert (m.winning_trades, m.losing_trades, m.win_rate) == (0, 0, 0.0)
    assert m.profit_factor is None
    assert m.fees_paid == pytest.approx(0.2)


def test_flat_equity() -> None:
    m = _metrics(equity=[100.0] * 5, trades=[])
    assert (m.net_profit, m.total_return, m.cagr) == (0.0, 0.0, 0.0)
    assert (m.max_drawdown, m.max_drawdown_fraction) == (0.0, 0.0)
    assert m.sharpe is None  # zero variance: undefined, not 0
    assert m.sortino is None  # no downside
    assert m.calmar is None  # no drawdown


def test_constant_growth_has_no_sharpe() -> None:
    # +1 % every day: the spread is rounding noise, so the ratio is undefined rather than ~1e16
    equity = [100.0 * 1.01**i for i in range(5)]
    m = _metrics(equity=equity)
    assert m.sharpe is None
    assert m.sortino is None
    assert m.max_drawdown == 0.0


def test_single_point_curve() -> None:
    m = _metrics(timestamps_ms=[0], equity=[100.0], closes=None)
    assert (m.cagr, m.sharpe, m.sortino, m.periods_per_year, m.exposure) == (None,) * 5
    assert m.buy_and_hold_return is None
    assert m.net_profit == 0.0


def test_total_loss() -> None:
    m = _metrics(equity=[100.0, 50.0, 0.0, 0.0, 0.0])
    assert m.cagr == -1.0
    assert m.max_drawdown == 100.0
    assert m.max_drawdown_fraction == 1.0
    assert m.total_return == -1.0
    # returns exist only while there was equity: -50 %, -100 %; mean -.75, sample std
    # sqrt((.25^2 + .25^2) / 1) = sqrt(.125); downside sqrt((.25 + 1) / 2) = sqrt(.625)
    assert m.sharpe == pytest.approx(-0.75 / math.sqrt(0.125) * math.sqrt(365))
    assert m.sortino == pytest.approx(-0.75 / math.sqrt(0.625) * math.sqrt(365))


def test_one_year_cagr_equals_total_return() -> None:
    m = _metrics(timestamps_ms=[0, YEAR_MS], equity=[100.0, 121.0])
    assert m.cagr == pytest.approx(0.21)
    # two years: sqrt(1.21) - 1 = 0.1
    m = _metrics(timestamps_ms=[0, 2 * YEAR_MS], equity=[100.0, 121.0])
    assert m.cagr == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("times", "equity", "message"),
    [
        ([0, 0], [1.0, 1.0], "strictly increasing"),
        ([0, 1], [1.0], "one length"),
        ([], [], "empty"),
        ([0, 1], [0.0, 1.0], "initial equity"),
        ([0, 1], [1.0, math.nan], "NaN"),
    ],
)
def test_invalid_curves_raise(times: list[int], equity: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(times, equity)


def test_metrics_are_frozen() -> None:
    m = _metrics()
    with pytest.raises(AttributeError):
        m.sharpe = 1.0  # type: ignore[misc]
