"""Every read endpoint against the sample database, checked against independent computations."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from binbot.storage.candle_table import candles
from binbot.storage.trading_tables import equity_snapshots, trades
from tests.unit.api.conftest import AUTH
from tests.unit.api.sample_db import BOT_ID, Sample


def get(client: TestClient, path: str, **params: object) -> object:
    response = client.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def _frame(sample: Sample, symbol: str) -> pd.DataFrame:
    c = candles.c
    with sample.engine.connect() as conn:
        rows = conn.execute(select(c.open_time, c.open, c.high, c.low, c.close, c.volume,
                                   c.quote_volume).where(c.symbol == symbol)
                            .order_by(c.open_time)).all()
    return pd.DataFrame(rows, columns=["t", "o", "h", "l", "c", "v", "qv"])


def test_status_sums_the_stored_bots(client: TestClient, sample: Sample) -> None:
    status = get(client, "/api/v1/status")
    assert isinstance(status, dict)
    with sample.engine.connect() as conn:
        last = conn.execute(select(equity_snapshots.c.equity)
                            .order_by(equity_snapshots.c.time_ms.desc()).limit(1)).scalar_one()
    # boll-avax has snapshots; boll-link has none and counts at its capital (500).
    assert Decimal(status["equity"]) == Decimal(last) + 500
    assert Decimal(status["capital"]) == 1500
    assert Decimal(status["pnl_total"]) == Decimal(last) - 1000
    assert status["bots_total"] == 2
    assert status["bots_running"] == 1
    assert status["open_positions"] == 1
    assert status["open_orders"] == 1
    assert status["read_only"] is True
    assert status["mode"] == "paper"


def test_bots_count_closed_trades_and_wins(client: TestClient, sample: Sample) -> None:
    bots = get(client, "/api/v1/bots")
    assert isinstance(bots, list)
    avax = next(b for b in bots if b["bot_id"] == BOT_ID)
    with sample.engine.connect() as conn:
        pnls = [Decimal(p) for p in conn.execute(select(trades.c.pnl).where(
            trades.c.action == "close_long")).scalars()]
    assert avax["trades"] == len(pnls)
    assert avax["winning_trades"] == sum(1 for p in pnls if p > 0)
    assert avax["live"] is False
    assert get(client, f"/api/v1/bots/{BOT_ID}") == avax
    assert client.get("/api/v1/bots/nobody", headers=AUTH).status_code == 404


def test_positions_skip_flat_rows_and_compute_the_percentage(client: TestClient) -> None:
    positions = get(client, "/api/v1/positions")
    assert isinstance(positions, list)
    assert len(positions) == 1
    p = positions[0]
    assert p["side"] == "long"
    expected = Decimal(p["unrealized_pnl"]) / (Decimal(p["quantity"]) * Decimal(p["entry_price"]))
    assert p["unrealized_pct"] == pytest.approx(float(expected * 100))
    assert get(client, "/api/v1/positions", bot_id="boll-link") == []


def test_orders_open_by_default_and_filtered(client: TestClient) -> None:
    open_orders = get(client, "/api/v1/orders")
    assert [o["client_order_id"] for o in open_orders] == ["bb-tp-now"]  # type: ignore[union-attr]
    filled = get(client, "/api/v1/orders", status="FILLED", limit=5)
    assert isinstance(filled, list)
    assert len(filled) == 5
    assert all(o["status"] == "FILLED" for o in filled)
    times = [o["created_ms"] for o in filled]
    assert times == sorted(times, reverse=True)
    older = get(client, "/api/v1/orders", status="all", before_ms=times[-1])
    assert all(o["created_ms"] < times[-1] for o in older)  # type: ignore[union-attr]
    paper = get(client, "/api/v1/paper/orders", limit=1000)
    assert isinstance(paper, list)
    assert {o["mode"] for o in paper} == {"paper"}
    assert len(paper) == len(get(client, "/api/v1/orders", status="all", limit=1000))


def test_trades_page_through_all_with_totals(client: TestClient, sample: Sample) -> None:
    seen: list[int] = []
    before = None
    while True:
        params = {"limit": 7} | ({"before_id": before} if before else {})
        page = get(client, "/api/v1/trades", **params)
        assert isinstance(page, dict)
        seen += [t["id"] for t in page["items"]]
        before = page["next_before_id"]
        if before is None:
            break
    assert len(seen) == len(set(seen)) == sample.trade_count
    assert seen == sorted(seen, reverse=True)
    with sample.engine.connect() as conn:
        rows = conn.execute(select(trades.c.pnl, trades.c.fee)).all()
    assert Decimal(page["total_pnl"]) == sum(Decimal(r[0]) for r in rows)
    assert Decimal(page["total_fees"]) == sum(Decimal(r[1]) for r in rows)
    assert page["count"] == sample.trade_count


def test_trades_time_filter(client: TestClient, sample: Sample) -> None:
    everything = get(client, "/api/v1/trades", limit=1000)
    assert isinstance(everything, dict)
    middle = sorted(t["time_ms"] for t in everything["items"])[len(everything["items"]) // 2]
    later = get(client, "/api/v1/trades", from_ms=middle, limit=1000)
    assert isinstance(later, dict)
    assert later["items"]
    assert all(t["time_ms"] >= middle for t in later["items"])
    assert later["count"] == len(later["items"]) < everything["count"]


def test_signals_newest_first(client: TestClient) -> None:
    signals = get(client, "/api/v1/signals", limit=3)
    assert isinstance(signals, list)
    assert len(signals) == 3
    assert [s["id"] for s in signals] == sorted((s["id"] for s in signals), reverse=True)


def test_equity_history_is_thinned_keeping_the_ends(client: TestClient, sample: Sample) -> None:
    full = get(client, "/api/v1/equity", bot_id=BOT_ID, max_points=10_000)
    assert isinstance(full, dict)
    assert len(full["points"]) == 1440
    thin = get(client, "/api/v1/equity", max_points=50)
    assert isinstance(thin, dict)
    assert len(thin["points"]) == 50
    for index in (0, -1):  # one bot, so the sum over bots is that bot's value
        assert thin["points"][index]["time_ms"] == full["points"][index]["time_ms"]
        assert Decimal(thin["points"][index]["equity"]) == Decimal(full["points"][index]["equity"])
    assert thin["bot_id"] is None


def test_candles_aggregate_1m_and_compute_bollinger(client: TestClient, sample: Sample) -> None:
    data = get(client, "/api/v1/candles", symbol="AVAXUSDT", interval="15m", limit=100,
               indicators="bb:20:2")
    assert isinstance(data, dict)
    assert data["source_interval"] == "1m"
    assert data["interval"] == "15m"
    frame = _frame(sample, "AVAXUSDT")
    frame["bucket"] = frame["t"] // 900_000 * 900_000
    bars = frame.groupby("bucket").agg(o=("o", "first"), h=("h", "max"), l=("l", "min"),
                                       c=("c", "last"), v=("v", "sum"))
    got = data["candles"]
    assert got["time_ms"] == bars.index[-100:].tolist()
    assert got["open"] == bars["o"].iloc[-100:].tolist()
    assert got["high"] == bars["h"].iloc[-100:].tolist()
    assert got["low"] == bars["l"].iloc[-100:].tolist()
    assert got["close"] == bars["c"].iloc[-100:].tolist()
    assert np.allclose(got["volume"], bars["v"].iloc[-100:])
    mid = bars["c"].rolling(20).mean()
    std = bars["c"].rolling(20).std(ddof=0)
    (bb,) = data["indicators"]
    assert bb["name"] == "bb"
    assert bb["pane"] == "price"
    assert bb["params"] == [20, 2]
    # The warm-up came from earlier candles: every shown value is defined.
    assert np.allclose(bb["lines"]["mid"], mid.iloc[-100:], rtol=1e-9)
    assert np.allclose(bb["lines"]["up"], (mid + 2 * std).iloc[-100:], rtol=1e-9)
    assert np.allclose(bb["lines"]["dn"], (mid - 2 * std).iloc[-100:], rtol=1e-9)


def test_candles_from_a_start_time_with_oscillators(client: TestClient, sample: Sample) -> None:
    frame = _frame(sample, "AVAXUSDT")
    start = int(frame["t"].iloc[0])  # the very first candle: no history for a warm-up
    data = get(client, "/api/v1/candles", symbol="AVAXUSDT", interval="1m", from_ms=start,
               limit=40, indicators="rsi:14,macd,sma:5,ema:5")
    assert isinstance(data, dict)
    assert data["candles"]["time_ms"] == frame["t"].iloc[:40].tolist()
    by_name = {i["name"]: i for i in data["indicators"]}
    assert by_name["rsi"]["pane"] == "oscillator"
    assert by_name["macd"]["pane"] == "oscillator"
    rsi = by_name["rsi"]["lines"]["rsi"]
    assert rsi[:14] == [None] * 14
    assert all(0 <= v <= 100 for v in rsi[14:])
    sma = by_name["sma"]["lines"]["sma"]
    assert sma[:4] == [None] * 4
    assert np.allclose(sma[4:], frame["c"].rolling(5).mean().iloc[4:40])
    assert set(by_name["macd"]["lines"]) == {"macd", "signal", "hist"}


def test_candles_to_time_and_unknown_symbol(client: TestClient, sample: Sample) -> None:
    frame = _frame(sample, "AVAXUSDT")
    to = int(frame["t"].iloc[500])
    data = get(client, "/api/v1/candles", symbol="AVAXUSDT", interval="1m", to_ms=to, limit=10)
    assert isinstance(data, dict)
    assert data["candles"]["time_ms"][-1] == to
    missing = client.get("/api/v1/candles", params={"symbol": "NOPEUSDT"}, headers=AUTH)
    assert missing.status_code == 404
    assert "NOPEUSDT" in missing.json()["detail"]


def test_markets_24h_figures(client: TestClient, sample: Sample) -> None:
    markets = get(client, "/api/v1/markets")
    assert isinstance(markets, list)
    assert [m["symbol"] for m in markets] == ["AVAXUSDT", "DOTUSDT", "LINKUSDT"]
    for market in markets:
        day = _frame(sample, market["symbol"]).iloc[-1440:]
        assert market["last_price"] == day["c"].iloc[-1]
        assert market["change_24h_pct"] == pytest.approx(
            (day["c"].iloc[-1] / day["o"].iloc[0] - 1) * 100)
        assert market["high_24h"] == day["h"].max()
        assert market["low_24h"] == day["l"].min()
        assert market["volume_24h"] == pytest.approx(day["v"].sum())
        assert market["quote_volume_24h"] == pytest.approx(day["qv"].sum())
        assert market["intervals"] == ["1m"]


def test_logs_tail_filter_and_scrub(client: TestClient) -> None:
    logs = get(client, "/api/v1/logs")
    assert isinstance(logs, dict)
    assert len(logs["lines"]) == 6
    warnings = get(client, "/api/v1/logs", level="WARNING")
    assert isinstance(warnings, dict)
    assert [line["level"] for line in warnings["lines"]] == ["WARNING", "ERROR"]
    assert "********" in warnings["lines"][1]["line"]
    last_two = get(client, "/api/v1/logs", lines=2)
    assert isinstance(last_two, dict)
    assert last_two["lines"][-1]["line"].endswith("order filled")
    found = get(client, "/api/v1/logs", contains="STALE")
    assert isinstance(found, dict)
    assert len(found["lines"]) == 1


def test_config_masks_secrets(client: TestClient) -> None:
    config = get(client, "/api/v1/config")
    assert isinstance(config, dict)
    assert config["config"]["api"]["token"] == "********"
    assert config["config"]["database"]["url"] == "********"
    assert config["config"]["api"]["host"] == "127.0.0.1"


def test_system_reports_host_and_process(client: TestClient, sample: Sample) -> None:
    system = get(client, "/api/v1/system")
    assert isinstance(system, dict)
    assert system["cpu_count"] >= 1
    assert system["memory_total"] > system["memory_used"] > 0
    assert 0 < system["process_rss"] < system["memory_total"]
    assert len(system["load_avg"]) == 3
    assert system["db_size_bytes"] > 0


def test_backtests_list_detail_trades(client: TestClient, sample: Sample) -> None:
    runs = get(client, "/api/v1/backtests")
    assert isinstance(runs, list)
    assert [r["run_id"] for r in runs] == [sample.run_id]
    assert "equity" not in runs[0]
    detail = get(client, f"/api/v1/backtests/{sample.run_id}")
    assert isinstance(detail, dict)
    assert len(detail["equity"]) == 72
    assert detail["metrics"]["trades"] == 6
    trades_ = get(client, f"/api/v1/backtests/{sample.run_id}/trades", limit=5)
    assert isinstance(trades_, list)
    assert len(trades_) == 5
    rest = get(client, f"/api/v1/backtests/{sample.run_id}/trades", after_id=trades_[-1]["id"])
    assert isinstance(rest, list)
    assert rest[0]["id"] > trades_[-1]["id"]
    assert client.get("/api/v1/backtests/none", headers=AUTH).status_code == 404
    assert client.get("/api/v1/backtests/none/trades", headers=AUTH).status_code == 404
    assert get(client, "/api/v1/backtests", symbol="DOTUSDT") == []


def test_state_snapshot_carries_the_bus_sequence(make_client: object) -> None:
    from binbot.core.event_bus import EventBus

    bus = EventBus()
    bus.publish("log", {"line": "x"})
    client = make_client(bus=bus)  # type: ignore[operator]
    state = get(client, "/api/v1/state")
    assert isinstance(state, dict)
    assert state["last_seq"] == 1
    assert [o["client_order_id"] for o in state["open_orders"]] == ["bb-tp-now"]
    assert len(state["positions"]) == 1
    assert len(state["trades"]) == 25
