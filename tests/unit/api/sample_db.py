"""A SQLite database filled like a running paper bot leaves it (real candles, made-up trading).

Candles are real Binance USD-M 1m klines from ../shared, shifted by whole days so the newest one
is recent (the dashboard's "today" then has data). Used by the API tests and the browser tests.
"""

from __future__ import annotations

import csv
import gzip
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, insert

from binbot.storage.candle_table import candles
from binbot.storage.database import make_engine, sqlite_url
from binbot.storage.migrate import upgrade
from binbot.storage.trading_tables import (
    backtest_runs,
    backtest_trades,
    bots,
    equity_snapshots,
    orders,
    positions,
    signals,
    trades,
)

REPO = Path(__file__).resolve().parents[3]
KLINES = REPO.parent / "shared" / "data" / "klines" / "binance-um-1m"
DAY_MS = 86_400_000
MINUTE_MS = 60_000
SERIES = (("AVAXUSDT", "AVAXUSDT-1m-2026-07.csv.gz"), ("LINKUSDT", "LINKUSDT-1m-2026-02.csv.gz"),
          ("DOTUSDT", "DOTUSDT-1m-2026-02.csv.gz"))
BOT_ID = "boll-avax"
CAPITAL = Decimal("1000")


@dataclass
class Sample:
    url: str
    engine: Engine
    symbol: str
    last_open_ms: int
    closes: list[float]
    trade_count: int
    run_id: str


def _read_klines(name: str, minutes: int) -> list[list[str]]:
    with gzip.open(KLINES / name, "rt", encoding="ascii") as handle:
        rows = list(csv.reader(handle))[1:]
    return rows[-minutes:]


def build_sample_db(path: Path, minutes: int = 3 * 1440, now_ms: int | None = None) -> Sample:
    url = sqlite_url(path)
    upgrade(url)
    engine = make_engine(url)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    current_minute = now_ms // MINUTE_MS * MINUTE_MS
    closes: list[float] = []
    times: list[int] = []
    with engine.begin() as conn:
        for index, (symbol, file) in enumerate(SERIES):
            rows = _read_klines(file, minutes)
            last = int(rows[-1][0])
            shift = current_minute - MINUTE_MS - last
            conn.execute(insert(candles), [{
                "market": "usdm", "symbol": symbol, "interval": "1m",
                "open_time": int(r[0]) + shift, "close_time": int(r[6]) + shift,
                "open": float(r[1]), "high": float(r[2]), "low": float(r[3]),
                "close": float(r[4]), "volume": float(r[5]), "quote_volume": float(r[7]),
                "trades": int(r[8]), "taker_buy_volume": float(r[9]),
                "taker_buy_quote_volume": float(r[10]), "closed": True,
            } for r in rows])
            if index == 0:
                closes = [float(r[4]) for r in rows]
                times = [int(r[0]) + shift for r in rows]
        trade_count = _trading(conn, closes, times, now_ms)
        run_id = _backtest(conn, closes, times)
    return Sample(url, engine, SERIES[0][0], times[-1], closes, trade_count, run_id)


def _trading(conn: object, closes: list[float], times: list[int], now_ms: int) -> int:
    from sqlalchemy import Connection

    assert isinstance(conn, Connection)
    conn.execute(insert(bots), [{
        "bot_id": BOT_ID, "market": "usdm", "symbol": "AVAXUSDT", "interval": "15m",
        "strategy": "boll", "params": {"period": 20, "k": 2}, "capital": str(CAPITAL),
        "mode": "paper", "risk": {}, "auto_start": True, "status": "running",
        "created_ms": times[0], "updated_ms": now_ms,
    }, {
        "bot_id": "boll-link", "market": "usdm", "symbol": "LINKUSDT", "interval": "1h",
        "strategy": "boll", "params": {}, "capital": "500", "mode": "paper", "risk": {},
        "auto_start": False, "status": "stopped", "created_ms": times[0], "updated_ms": now_ms,
    }])
    # A round trip every 6 hours: open long, close 3 hours later.
    trade_rows, order_rows = [], []
    realized = Decimal(0)
    qty = Decimal("2")
    fee_rate = Decimal("0.0005")
    for n, start in enumerate(range(120, len(closes) - 200, 360)):
        entry, exit_ = Decimal(str(closes[start])), Decimal(str(closes[start + 180]))
        fee_in, fee_out = entry * qty * fee_rate, exit_ * qty * fee_rate
        pnl = (exit_ - entry) * qty - fee_in - fee_out
        realized += pnl
        for action, i, price, fee, value, side in (
                ("open_long", start, entry, fee_in, Decimal(0), "BUY"),
                ("close_long", start + 180, exit_, fee_out, pnl, "SELL")):
            cid = f"bb-{n:04d}-{action}"
            trade_rows.append({"bot_id": BOT_ID, "symbol": "AVAXUSDT", "action": action,
                               "time_ms": times[i], "price": str(price), "quantity": str(qty),
                               "fee": str(fee.quantize(Decimal("0.00000001"))),
                               "pnl": str(value.quantize(Decimal("0.00000001"))),
                               "client_order_id": cid})
            order_rows.append(_order(cid, side, "MARKET", str(qty), None, "FILLED", str(price),
                                     times[i]))
    conn.execute(insert(trades), trade_rows)
    last_price = Decimal(str(closes[-1]))
    entry = Decimal(str(closes[-30]))
    conn.execute(insert(trades), [{
        "bot_id": BOT_ID, "symbol": "AVAXUSDT", "action": "open_long", "time_ms": times[-30],
        "price": str(entry), "quantity": str(qty), "fee": "0.01", "pnl": "0",
        "client_order_id": "bb-open-now"}])
    order_rows.append(_order("bb-open-now", "BUY", "MARKET", str(qty), None, "FILLED",
                             str(entry), times[-30]))
    order_rows.append(_order("bb-tp-now", "SELL", "LIMIT", str(qty),
                             str((entry * Decimal("1.02")).quantize(Decimal("0.001"))), "NEW",
                             None, times[-29]))
    conn.execute(insert(orders), order_rows)
    upnl = (last_price - entry) * qty
    conn.execute(insert(positions), [{
        "bot_id": BOT_ID, "symbol": "AVAXUSDT", "quantity": str(qty), "entry_price": str(entry),
        "realized_pnl": str(realized), "unrealized_pnl": str(upnl), "mark_price": str(last_price),
        "liquidation_price": None, "leverage": 1, "updated_ms": times[-1],
    }, {
        "bot_id": "boll-link", "symbol": "LINKUSDT", "quantity": "0", "entry_price": "0",
        "realized_pnl": "0", "unrealized_pnl": "0", "mark_price": None,
        "liquidation_price": None, "leverage": 1, "updated_ms": times[0],
    }])
    conn.execute(insert(signals), [{
        "bot_id": BOT_ID, "kind": "lower_band_touch" if k % 2 else "upper_band_touch",
        "exchange": "binance", "market": "usdm", "symbol": "AVAXUSDT", "interval": "15m",
        "time_ms": times[i], "price": closes[i], "last_price": closes[-1],
        "return_since": (closes[-1] - closes[i]) / closes[i], "updated_ms": times[-1],
    } for k, i in enumerate(range(100, len(closes), 400))])
    # Equity each minute of the last day: realized so far plus the open trade's PnL.
    equity_rows = []
    closes_by_time = dict(zip(times, closes, strict=True))
    running = Decimal(0)
    done = iter(sorted((r["time_ms"], Decimal(r["pnl"])) for r in trade_rows))
    pending = next(done, None)
    for t in times[-1440:]:
        while pending is not None and pending[0] <= t:
            running += pending[1]
            pending = next(done, None)
        price = closes_by_time[t]
        equity = CAPITAL + running
        equity_rows.append({"bot_id": BOT_ID, "time_ms": t, "equity": str(equity),
                            "balance": str(equity), "unrealized_pnl": "0", "position_qty": "0",
                            "price": price})
    conn.execute(insert(equity_snapshots), equity_rows)
    return len(trade_rows) + 1


def _order(cid: str, side: str, kind: str, qty: str, price: str | None, status: str,
           avg: str | None, t: int) -> dict[str, object]:
    return {"client_order_id": cid, "bot_id": BOT_ID, "mode": "paper", "market": "usdm",
            "symbol": "AVAXUSDT", "side": side, "type": kind, "quantity": qty, "price": price,
            "stop_price": None, "reduce_only": side == "SELL", "status": status,
            "exchange_order_id": None, "filled_qty": qty if status == "FILLED" else "0",
            "avg_price": avg, "reason": None, "created_ms": t, "updated_ms": t}


def _backtest(conn: object, closes: list[float], times: list[int]) -> str:
    from sqlalchemy import Connection

    assert isinstance(conn, Connection)
    run_id = "run-avax-1"
    equity = [[float(t), 1000.0 + (c - closes[0]) * 3] for t, c in
              zip(times[::60], closes[::60], strict=True)]
    conn.execute(insert(backtest_runs), [{
        "run_id": run_id, "created_ms": times[-1], "strategy": "boll", "market": "usdm",
        "symbol": "AVAXUSDT", "interval": "15m", "params": {"period": 20, "k": 2},
        "start_ms": times[0], "end_ms": times[-1], "mode": "intrabar",
        "metrics": {"net_profit": equity[-1][1] - 1000.0, "total_return": equity[-1][1] / 1000 - 1,
                    "trades": 6, "win_rate": 0.5, "max_drawdown": 12.5,
                    "max_drawdown_fraction": 0.0125, "profit_factor": 1.4, "sharpe": 1.1,
                    "initial_equity": 1000.0, "final_equity": equity[-1][1],
                    "average_trade": 1.2, "fees_paid": 3.4, "buy_and_hold_return": 0.02},
        "equity": equity,
    }])
    conn.execute(insert(backtest_trades), [{
        "run_id": run_id, "time_ms": times[i], "action": "open_long" if k % 2 == 0 else
        "close_long", "price": closes[i], "quantity": 2.0, "fee": 0.05,
        "pnl": 0.0 if k % 2 == 0 else (closes[i] - closes[i - 300]) * 2,
    } for k, i in enumerate(range(300, len(closes), 300))])
    return run_id
