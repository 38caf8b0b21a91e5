"""A run's metrics, outputs (JSON, CSV, HTML) and its storage in the database."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from binbot.backtest import BacktestConfig, BacktestResult, run_backtest
from binbot.backtest.data import MarketData
from binbot.backtest.export import write_csv, write_json
from binbot.backtest.metrics import compute_metrics
from binbot.backtest.report import render_html
from binbot.backtest.store import downsample, find_run, list_runs, run_trades, save_run
from binbot.storage.database import make_engine
from binbot.storage.migrate import upgrade

FIL_FEB = (Path(__file__).resolve().parents[3].parent / "shared" / "data" / "klines"
           / "binance-um-1m" / "FILUSDT-1m-2024-02.csv.gz")
FEB_1 = 1_706_745_600_000
DAY = 86_400_000


@pytest.fixture(scope="module")
def week(fil_feb: MarketData) -> BacktestResult:
    config = BacktestConfig(data_files=(FIL_FEB,), start_ms=FEB_1 + DAY, end_ms=FEB_1 + 8 * DAY)
    return run_backtest(config, data=fil_feb)


def test_metrics_are_wired_to_the_trades_and_the_equity(week: BacktestResult,
                                                       fil_feb: MarketData) -> None:
    m = week.metrics
    trades = week.trades
    assert trades
    assert m.trades == sum(t.action.startswith("close_") for t in trades)
    # the final equity, rebuilt from the trade list alone: realised PnL - every fee +
    # the open position marked at the last close
    position = entry = 0.0
    for t in trades:
        if t.action.startswith("open_"):
            sign = 1.0 if t.action == "open_long" else -1.0
            position += sign * t.qty
            entry = t.price
        else:
            position -= t.qty if t.action == "close_long" else -t.qty
    minutes = fil_feb.bars.between(FEB_1 + DAY, FEB_1 + 8 * DAY)
    last = float(minutes.close[-1])
    rebuilt = (10_000 + sum(t.pnl for t in trades) - sum(t.fee for t in trades)
               + position * (last - entry))
    assert m.final_equity == pytest.approx(rebuilt, rel=1e-12)
    assert m.net_profit == pytest.approx(m.final_equity - 10_000, rel=1e-12)
    assert m.initial_equity == 10_000
    # round trips carry every fee of the trades they close
    closed_fees = sum(t.fee for t in trades) - (
        trades[-1].fee if trades[-1].action.startswith("open_") else 0.0)
    assert m.fees_paid == pytest.approx(closed_fees, rel=1e-9)
    assert math.fsum(t.pnl for t in week.round_trips) == pytest.approx(
        sum(t.pnl for t in trades) - closed_fees, rel=1e-9)
    # buy-and-hold: the first open to the last close of the range
    assert m.buy_and_hold_return == pytest.approx(last / float(minutes.open[0]) - 1, rel=1e-12)
    # one equity sample per 15m candle after the start point; metrics are compute_metrics'
    assert len(week.equity) == 7 * 96 + 1
    assert week.equity_time[0] == FEB_1 + DAY
    assert week.equity_time[1] == FEB_1 + DAY + 15 * 60_000 - 1  # the first candle's close
    assert (np.diff(week.equity_time[1:]) == 15 * 60_000).all()
    again = compute_metrics(week.equity_time, week.equity, week.round_trips,
                            closes=np.concatenate(([minutes.open[0]], week.candles.close)),
                            position_intervals=week.exposure)
    assert again == m
    assert 0 < m.exposure <= 1  # type: ignore[operator]


def test_json_is_exactly_metrics_and_trades(week: BacktestResult, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write_json(week, path)
    data = json.loads(path.read_text())
    assert set(data) == {"metrics", "trades"}
    assert data["metrics"]["net_profit"] == week.metrics.net_profit
    assert {"sharpe", "sortino", "calmar", "win_rate", "profit_factor", "max_drawdown",
            "buy_and_hold_return", "fees_paid", "exposure", "cagr"} <= set(data["metrics"])
    assert len(data["trades"]) == len(week.trades)
    for raw, trade in zip(data["trades"], week.trades, strict=True):
        assert list(raw) == ["time_ms", "action", "price", "qty", "fee", "pnl"]
        assert raw == trade.to_dict()
        assert raw["action"] in ("open_long", "close_long", "open_short", "close_short")


def test_csv_has_one_row_per_trade(week: BacktestResult, tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    write_csv(week, path)
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(week.trades)
    first = rows[0]
    assert int(first["time_ms"]) == week.trades[0].time_ms
    assert first["time"].startswith("2024-02-")
    assert float(first["price"]) == week.trades[0].price
    assert float(rows[-1]["pnl"]) == week.trades[-1].pnl


def test_html_report_is_self_contained(week: BacktestResult) -> None:
    page = render_html(week)
    # no script (or anything else) loaded from the network
    assert not re.search(r"<script[^>]+src\s*=", page, re.IGNORECASE)
    assert not re.search(r"""<link[^>]+href\s*=\s*["']https?:""", page, re.IGNORECASE)
    # plotly.js itself is inlined, and the chart holds the candles, bands, trades and equity
    assert "plotly.js v" in page  # the library's own banner: inlined, not linked
    assert "Plotly.newPlot" in page
    assert all("src" not in tag for tag in re.findall(r"<script[^>]*>", page))
    assert len(page) > 1_000_000
    for name in ("BB up (2)", "BB dn (2)", "equity", "drawdown %", "candlestick"):
        assert name in page
    assert ("open long" in page) or ("open short" in page)


def test_runs_are_stored_listed_and_shown(week: BacktestResult, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'binbot.db'}")
    try:
        upgrade(engine)
        run_id = save_run(engine, week, now_ms=1)
        other = save_run(engine, week, now_ms=2)
        runs = list_runs(engine)
        assert [r.run_id for r in runs] == [other, run_id]  # newest first
        assert runs[1].trades == len(week.trades)
        assert runs[1].metrics["net_profit"] == week.metrics.net_profit
        assert runs[1].params["period"] == 20
        assert runs[1].mode == "intrabar"
        found = find_run(engine, run_id[:8])
        assert found is not None
        assert found[0].run_id == run_id
        assert found[1][0] == [float(week.equity_time[0]), 10_000.0]
        assert run_trades(engine, run_id) == week.trades
        assert find_run(engine, "nope") is None
    finally:
        engine.dispose()


def test_downsample_keeps_the_ends() -> None:
    times = np.arange(10_000, dtype=np.int64)
    values = np.arange(10_000, dtype=np.float64)
    points = downsample(times, values, 100)
    assert len(points) == 100
    assert points[0] == [0, 0.0]
    assert points[-1] == [9999, 9999.0]
    assert downsample(times[:5], values[:5], 100) == [[i, float(i)] for i in range(5)]


def test_stored_candles_from_an_engine_give_the_file_results(fil_feb: MarketData,
                                                              tmp_path: Path) -> None:
    from binbot.backtest.data import DataError
    from binbot.services.archive_import import import_kline_file

    engine = make_engine(f"sqlite:///{tmp_path / 'candles.db'}")
    try:
        upgrade(engine)
        import_kline_file(engine, FIL_FEB)
        config = BacktestConfig(symbol="FILUSDT", start_ms=FEB_1 + DAY, end_ms=FEB_1 + 3 * DAY)
        from_engine = run_backtest(config, engine=engine)
        from_file = run_backtest(BacktestConfig(data_files=(FIL_FEB,), start_ms=FEB_1 + DAY,
                                                end_ms=FEB_1 + 3 * DAY), data=fil_feb)
        assert from_engine.trades == from_file.trades
        assert from_engine.metrics == from_file.metrics
        with pytest.raises(DataError, match="no data"):
            run_backtest(BacktestConfig(symbol="FILUSDT"))
        with pytest.raises(DataError, match="no stored usdm BTCUSDT"):
            run_backtest(BacktestConfig(symbol="BTCUSDT"), engine=engine)
    finally:
        engine.dispose()
