"""Writing a backtest's results: ``--json`` and ``--csv``."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from binbot.backtest.result import BacktestResult

CSV_COLUMNS = ("time_ms", "time", "action", "price", "qty", "fee", "pnl")


def write_json(result: BacktestResult, path: Path) -> None:
    """Exactly ``{"metrics": {...}, "trades": [...]}`` (strict JSON: no NaN/Infinity)."""
    text = json.dumps(result.to_json(), indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def iso_time(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds")


def write_csv(result: BacktestResult, path: Path) -> None:
    """One row per trade action; ``time`` repeats ``time_ms`` as ISO-8601 UTC."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for t in result.trades:
            writer.writerow((t.time_ms, iso_time(t.time_ms), t.action, repr(t.price),
                             repr(t.qty), repr(t.fee), repr(t.pnl)))
