"""``binbot backtest`` end to end, as a new user runs it: import a month of real candles into a
fresh data dir, backtest BOLL on them, read the outputs, list and show the stored run."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from binbot.backtest import BacktestConfig, run_backtest

REPO = Path(__file__).resolve().parents[3]
FIL_FEB = REPO.parent / "shared" / "data" / "klines" / "binance-um-1m" / "FILUSDT-1m-2024-02.csv.gz"

pytestmark = pytest.mark.skipif(not FIL_FEB.exists(), reason=f"no kline data at {FIL_FEB}")


def binbot(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINBOT_")}
    return subprocess.run([sys.executable, "-m", "binbot", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("user")
    done = binbot("data", "import", "--datadir", home / "data", FIL_FEB, cwd=home)
    assert done.returncode == 0, done.stderr
    assert "41,760" in done.stdout
    return home


def test_backtest_a_month_from_the_database(imported: Path) -> None:
    home = imported
    done = binbot("backtest", "--datadir", home / "data", "--symbol", "FILUSDT",
                  "--from", "2024-02-01", "--to", "2024-03-01", "--json", home / "run.json",
                  "--csv", home / "trades.csv", "--html", home / "report.html", cwd=home)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for label in ("net profit", "sharpe", "max drawdown", "win rate", "profit factor",
                  "buy and hold return", "fees paid", "exposure", "bars replayed"):
        assert label in out
    assert "41,760" in out  # every 1m candle replayed
    run_id = re.search(r"stored as run ([0-9a-f]{32})", out)
    assert run_id is not None

    data = json.loads((home / "run.json").read_text())
    assert set(data) == {"metrics", "trades"}
    # the CLI over the database makes the same trades as the API over the archive file
    direct = run_backtest(BacktestConfig(data_files=(FIL_FEB,), symbol="FILUSDT",
                                         start_ms=1_706_745_600_000, end_ms=1_709_251_200_000))
    assert data["trades"] == [t.to_dict() for t in direct.trades]
    assert data["metrics"]["net_profit"] == pytest.approx(direct.metrics.net_profit, rel=1e-12)
    with (home / "trades.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(direct.trades)
    page = (home / "report.html").read_text()
    assert not re.search(r"<script[^>]+src\s*=", page, re.IGNORECASE)
    assert "BB up" in page

    listed = binbot("backtest", "list", "--datadir", home / "data", cwd=home)
    assert listed.returncode == 0, listed.stderr
    assert run_id[1][:8] in listed.stdout
    shown = binbot("backtest", "show", run_id[1][:8], "--datadir", home / "data", "--trades",
                   "3", cwd=home)
    assert shown.returncode == 0, shown.stderr
    assert "open_long" in shown.stdout or "open_short" in shown.stdout
    assert f"of {len(direct.trades)})" in shown.stdout


def test_backtest_archive_files_bar_close_without_storing(imported: Path) -> None:
    home = imported
    done = binbot("backtest", "--datadir", home / "data", "--data", FIL_FEB, "--bar-close",
                  "--param", "k=2.5", "--no-store", "--json", home / "bar.json", cwd=home)
    assert done.returncode == 0, done.stderr
    assert "bar-close" in done.stdout
    assert "stored as run" not in done.stdout
    trades = json.loads((home / "bar.json").read_text())["trades"]
    # bar-close fills happen at 15m candle close times
    assert trades
    assert all((t["time_ms"] + 1) % 900_000 == 0 for t in trades)


def test_grid_sweep_prints_a_ranked_table(imported: Path) -> None:
    home = imported
    done = binbot("backtest", "--datadir", home / "data", "--data", FIL_FEB, "--bar-close",
                  "--to", "2024-02-08", "--grid", "k=1.5,2.5", "--grid", "period=10,20",
                  "--rank", "sharpe", "--workers", "2", cwd=home)
    assert done.returncode == 0, done.stderr
    assert "4 combinations" in done.stdout
    assert "ranked by sharpe" in done.stdout
    rows = [line for line in done.stdout.splitlines() if re.match(r"^│\s+[1-4]\s+│", line)]
    assert len(rows) == 4


def test_walk_forward_reports_windows_and_stitched_result(imported: Path) -> None:
    home = imported
    done = binbot("backtest", "--datadir", home / "data", "--data", FIL_FEB, "--bar-close",
                  "--to", "2024-02-15", "--grid", "k=1.5,2.5", "--walk-forward", "6:3",
                  "--workers", "1", cwd=home)
    assert done.returncode == 0, done.stderr
    assert "walk-forward windows" in done.stdout
    assert "stitched out-of-sample" in done.stdout


def test_bad_input_is_one_line_on_stderr(imported: Path) -> None:
    home = imported
    done = binbot("backtest", "--datadir", home / "data", "--symbol", "BTCUSDT", cwd=home)
    assert done.returncode == 1
    assert "no stored usdm BTCUSDT candles" in done.stderr
    bad = binbot("backtest", "--datadir", home / "data", "--data", FIL_FEB, "--param",
                 "period=1", "--no-store", cwd=home)
    assert bad.returncode == 1
    assert "period" in bad.stderr
