"""Grid sweeps (in-process and across processes) and walk-forward on a small range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from binbot.backtest import BacktestConfig, run_backtest
from binbot.backtest.data import MarketData
from binbot.backtest.sweep import (
    DAY_MS,
    GridError,
    SweepRow,
    combinations,
    parse_grid,
    parse_walk_forward,
    rank,
    run_grid,
    walk_forward,
    windows,
)

FIL_FEB = (Path(__file__).resolve().parents[3].parent / "shared" / "data" / "klines"
           / "binance-um-1m" / "FILUSDT-1m-2024-02.csv.gz")
FEB_1 = 1_706_745_600_000


def small(**kwargs: object) -> BacktestConfig:
    base: dict[str, object] = {"data_files": (FIL_FEB,), "mode": "bar_close",
                               "end_ms": FEB_1 + 6 * DAY_MS}
    base.update(kwargs)
    return BacktestConfig(**base)  # type: ignore[arg-type]


def test_parse_grid_and_combinations() -> None:
    grid = parse_grid(["k=1.5,2,2.5", "period=14, 20", "price_source=trade"])
    assert grid == {"k": [1.5, 2, 2.5], "period": [14, 20], "price_source": ["trade"]}
    combos = combinations(grid)
    assert len(combos) == 6
    assert combos[0] == {"k": 1.5, "period": 14, "price_source": "trade"}
    assert combos[-1] == {"k": 2.5, "period": 20, "price_source": "trade"}
    for bad in (["k"], ["=1,2"], ["k="], ["k=1", "k=2"]):
        with pytest.raises(GridError):
            parse_grid(bad)
    assert parse_walk_forward("60:15") == (60.0, 15.0)
    for bad_wf in ("60", "a:b", "0:5", "5:-1"):
        with pytest.raises(GridError):
            parse_walk_forward(bad_wf)


def test_grid_rows_equal_single_runs_in_and_across_processes(fil_feb: MarketData) -> None:
    config = small()
    grid = {"k": [1.5, 2.5], "period": [10, 20]}
    seen: list[tuple[int, int]] = []
    local = run_grid(config, grid, fil_feb, workers=1,
                     progress=lambda d, t: seen.append((d, t)))
    pooled = run_grid(config, grid, fil_feb, workers=2)
    assert seen[-1] == (4, 4)
    assert [r.params for r in local] == combinations(grid)
    assert local == pooled
    for row in local:
        direct = run_backtest(config.with_params(row.params), data=fil_feb)
        assert row.metrics == direct.metrics


def test_invalid_combinations_are_reported_not_fatal(fil_feb: MarketData) -> None:
    rows = run_grid(small(), {"period": [20, 1]}, fil_feb, workers=1)
    assert rows[0].metrics is not None
    assert rows[1].metrics is None
    assert "period" in rows[1].error


def test_rank_orders_best_first_and_missing_last(fil_feb: MarketData) -> None:
    rows = run_grid(small(), {"k": [1.0, 2.0, 3.0]}, fil_feb, workers=1)
    failed = SweepRow({"k": -1}, None, "bad")
    by_profit = rank([failed, *rows], "net_profit")
    profits = [r.metrics.net_profit for r in by_profit if r.metrics is not None]
    assert profits == sorted(profits, reverse=True)
    assert by_profit[-1] is failed
    by_drawdown = rank(rows, "max_drawdown")
    drawdowns = [r.metrics.max_drawdown for r in by_drawdown if r.metrics is not None]
    assert drawdowns == sorted(drawdowns)
    with pytest.raises(GridError):
        rank(rows, "luck")


def test_windows_roll_by_the_out_of_sample_length() -> None:
    spans = windows(FEB_1, FEB_1 + 10 * DAY_MS, 4, 2, "15m")
    assert spans == [
        ((FEB_1, FEB_1 + 4 * DAY_MS), (FEB_1 + 4 * DAY_MS, FEB_1 + 6 * DAY_MS)),
        ((FEB_1 + 2 * DAY_MS, FEB_1 + 6 * DAY_MS), (FEB_1 + 6 * DAY_MS, FEB_1 + 8 * DAY_MS)),
        ((FEB_1 + 4 * DAY_MS, FEB_1 + 8 * DAY_MS), (FEB_1 + 8 * DAY_MS, FEB_1 + 10 * DAY_MS)),
    ]
    # a last out-of-sample window shorter than asked is cut at the end
    assert windows(FEB_1, FEB_1 + 5 * DAY_MS, 4, 2, "15m")[-1][1] == (
        FEB_1 + 4 * DAY_MS, FEB_1 + 5 * DAY_MS)
    assert windows(FEB_1, FEB_1 + 3 * DAY_MS, 4, 2, "15m") == []


def test_walk_forward_picks_the_in_sample_best_and_stitches_out_of_sample(
        fil_feb: MarketData) -> None:
    config = small(end_ms=FEB_1 + 8 * DAY_MS)
    grid = {"k": [1.5, 2.5], "period": [10, 20]}
    outcome = walk_forward(config, grid, fil_feb, 4, 2, rank_by="net_profit", workers=1)
    assert len(outcome.windows) == 2
    level = 10_000.0
    for window in outcome.windows:
        in_sample = run_grid(config.with_range(*window.in_sample), grid, fil_feb, workers=1)
        best = rank(in_sample, "net_profit")[0]
        assert window.best.params == best.params
        direct = run_backtest(config.with_range(*window.out_of_sample)
                              .with_params(best.params), data=fil_feb)
        assert window.result.metrics == direct.metrics
        assert window.result.trades == direct.trades
        level *= direct.metrics.final_equity / 10_000
    # the stitched curve compounds the windows and is continuous
    assert outcome.equity[0] == 10_000.0
    assert outcome.equity[-1] == pytest.approx(level, rel=1e-12)
    assert outcome.metrics.final_equity == pytest.approx(level, rel=1e-12)
    assert (np.diff(outcome.equity_time) > 0).all()
    assert outcome.equity_time[0] == FEB_1 + 4 * DAY_MS
    assert len(outcome.trades) == sum(len(w.result.trades) for w in outcome.windows)
    assert outcome.metrics.trades == sum(w.result.metrics.trades for w in outcome.windows)


def test_walk_forward_needs_enough_data(fil_feb: MarketData) -> None:
    with pytest.raises(GridError, match="too short"):
        walk_forward(small(end_ms=FEB_1 + 2 * DAY_MS), {"k": [2]}, fil_feb, 4, 2, workers=1)
