"""ServiceRuntime with real runners, hub, paper accounts and SQLite, over scripted market data:
shared subscriptions, isolation of bots, creation rules, stop/start/remove, restarts, risk."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from binbot.domain.market import Market
from binbot.domain.streams import StreamKey, StreamKind
from binbot.services.runtime import BotDefinitionError, ControlRefused, DuplicateBot, UnknownBot
from binbot.storage import trading_tables as t
from tests.unit.services.live_runtime import (
    CRASHING,
    SLOW,
    Live,
    ScriptedMarket,
    bot,
    instrument,
    start_live,
)


def kline(symbol: str) -> StreamKey:
    return StreamKey(Market.USDM, symbol, StreamKind.KLINE, "1m")


def trades_key(symbol: str) -> StreamKey:
    return StreamKey(Market.USDM, symbol, StreamKind.AGG_TRADE)


def count_rows(live: Live, table: Any, bot_id: str) -> int:
    with live.engine.connect() as connection:
        return int(connection.execute(
            select(func.count()).select_from(table).where(table.c.bot_id == bot_id)).scalar_one())


def stored_status(live: Live, bot_id: str) -> str | None:
    with live.engine.connect() as connection:
        row = connection.execute(
            select(t.bots.c.status).where(t.bots.c.bot_id == bot_id)).first()
    return None if row is None else str(row[0])


def trade_list(live: Live, bot_id: str) -> list[tuple[str, int, Decimal, Decimal]]:
    runner = next(r for r in live.runtime.runners if r.bot_id == bot_id)
    return [(x.kind.value, x.time, x.price, x.quantity) for x in runner.core.portfolio.trades]


async def test_ten_bots_on_one_symbol_share_one_upstream_subscription(tmp_path: Path) -> None:
    bots = [bot(f"flip-{i}") for i in range(10)]
    live = await start_live(tmp_path / "db.sqlite", bots)
    try:
        market = live.market
        assert market.subscribes[kline("BTCUSDT")] == 1
        assert market.subscribes[trades_key("BTCUSDT")] == 1
        last = market.advance(4)
        await live.settle(last)
        for view in live.runtime.bots():
            assert view.status == "running"
            assert view.trades >= 1, view.bot_id  # every bot traded on the shared feed
        # Stopping bots releases nothing while one still needs the streams.
        for i in range(9):
            await live.runtime.stop(f"flip-{i}")
        assert market.unsubscribes[kline("BTCUSDT")] == 0
        assert live.hub.dropped().keys() == {"flip-9"}
        await live.runtime.stop("flip-9")
        assert market.unsubscribes[kline("BTCUSDT")] == 1
        assert market.unsubscribes[trades_key("BTCUSDT")] == 1
        assert market.active == set()
        assert live.hub.dropped() == {}  # no consumer left
    finally:
        await live.close()


async def _flip_trades(db: Path, neighbours: list[Any]) -> tuple[list[Any], Live]:
    live = await start_live(db, [bot("flip"), *neighbours])
    last = live.market.advance(12)
    await live.settle(last, ["flip"])
    return trade_list(live, "flip"), live


async def test_a_crashing_and_a_slow_strategy_leave_their_neighbour_trading(
    tmp_path: Path,
) -> None:
    alone, live = await _flip_trades(tmp_path / "alone.sqlite", [])
    await live.close()
    assert len(alone) >= 10

    crowded, live = await _flip_trades(tmp_path / "crowded.sqlite", [
        bot("crash", strategy=CRASHING), bot("slow", strategy=SLOW),
        bot("crash-eth", symbol="ETHUSDT", strategy=CRASHING)])
    try:
        assert crowded == alone
        crash = live.runtime.view("crash")
        # The engine pauses a strategy that keeps failing and says why.
        assert crash.status == "paused"
        assert crash.last_error is not None
        assert "strategy bug" in crash.last_error
        assert live.runtime.view("flip").status == "running"
        slow = next(r for r in live.runtime.runners if r.bot_id == "slow")
        last = live.market.advance(1)
        await live.settle(last, ["slow"])
        assert slow.core.time >= last  # slow, yet it saw every minute
    finally:
        await live.close()


async def test_invalid_bots_are_refused_and_nothing_is_created(tmp_path: Path) -> None:
    listed = [instrument("BTCUSDT"), instrument("OLDUSDT", status="BREAK")]
    live = await start_live(tmp_path / "db.sqlite", [bot("config-bot")],
                            ScriptedMarket(listed=listed))
    runtime = live.runtime
    cases: list[tuple[Any, type[Exception], str]] = [
        (bot("a", strategy="nope"), BotDefinitionError, "unknown strategy 'nope'"),
        (bot("a", strategy="tests.unit.services.live_runtime:Flip"), BotDefinitionError,
         "unknown strategy"),  # the API imports no module by name
        (bot("a", strategy="boll", params={"period": 1}), BotDefinitionError, "period"),
        (bot("a", strategy="boll", params={"bogus": 1}), BotDefinitionError,
         "unknown parameter 'bogus'"),
        (bot("a", strategy="boll", symbol="XYZUSDT"), BotDefinitionError,
         "unknown symbol XYZUSDT"),
        (bot("a", strategy="boll", symbol="OLDUSDT"), BotDefinitionError, "not trading"),
        (bot("a", strategy="boll", mode="live"), BotDefinitionError, "confirm_live"),
        (bot("a", strategy="boll", mode="testnet"), BotDefinitionError, "test venue"),
        (bot("config-bot", strategy="boll"), DuplicateBot, "exists already"),
    ]
    try:
        for definition, error, message in cases:
            with pytest.raises(error, match=message):
                await runtime.create_bot(definition)
        with pytest.raises(BotDefinitionError, match="risk_per_trade"):
            await runtime.create_bot(bot("a", strategy="boll"), risk_per_trade=0.01)
        assert [v.bot_id for v in runtime.bots()] == ["config-bot"]
        assert count_rows(live, t.bots, "a") == 0
        assert live.market.symbols() == {"BTCUSDT"}
    finally:
        await live.close()


async def test_risk_per_trade_goes_to_a_strategy_sized_by_it(tmp_path: Path) -> None:
    live = await start_live(tmp_path / "db.sqlite")
    try:
        view = await live.runtime.create_bot(bot("turtle", strategy="macd_turtle"),
                                             risk_per_trade=0.02)
        assert view.params["risk_per_trade"] == 0.02
        with pytest.raises(BotDefinitionError, match="give it once"):
            await live.runtime.create_bot(
                bot("turtle2", strategy="macd_turtle", params={"risk_per_trade": 0.05}),
                risk_per_trade=0.02)
    finally:
        await live.close()


async def test_created_bot_trades_stops_resumes_after_restart_and_is_removed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db.sqlite"
    market = ScriptedMarket()
    live = await start_live(db, [bot("cfg")], market)
    try:
        made = await live.runtime.create_bot(
            bot("eth", symbol="ETHUSDT", strategy="ma_cross",
                params={"fast": 2, "slow": 3}, leverage=2, risk={"max_drawdown_pct": 50}))
        assert made.status == "running"
        assert market.subscribes[kline("ETHUSDT")] == 1
        await live.runtime.create_bot(bot("idle", symbol="FILUSDT", strategy="boll",
                                          auto_start=False))
        assert live.runtime.view("idle").status == "created"
        assert "FILUSDT" not in market.symbols()  # not started: no subscription
        last = market.advance(10)
        await live.settle(last)
        await live.runtime.stop("cfg")
        assert stored_status(live, "eth") == "running"
        assert stored_status(live, "cfg") == "stopped"
    finally:
        await live.close()

    # A restart: the created bot is back and running, the stopped one stays stopped.
    live = await start_live(db, [bot("cfg")], market)
    try:
        runtime = live.runtime
        assert {v.bot_id: v.status for v in runtime.bots()} == {
            "cfg": "stopped", "eth": "running", "idle": "created"}
        eth = next(r for r in runtime.runners if r.bot_id == "eth")
        assert eth.settings.leverage == 2
        assert eth.settings.risk == {"max_drawdown_pct": 50.0}
        assert eth.core.risk.limits.max_drawdown_pct == 50.0
        assert "BTCUSDT" not in market.symbols()
        started = await runtime.start("cfg")
        assert started.status == "running"
        assert "BTCUSDT" in market.symbols()

        with pytest.raises(ControlRefused, match="config file"):
            await runtime.remove("cfg")
        await runtime.remove("eth", force=True)
        assert "ETHUSDT" not in market.symbols()
        assert market.unsubscribes[kline("ETHUSDT")] >= 1
        for table in (t.bots, t.bot_state, t.positions, t.orders, t.trades):
            assert count_rows(live, table, "eth") == 0
        with pytest.raises(UnknownBot):
            runtime.view("eth")
        assert [v.bot_id for v in runtime.bots()] == ["cfg", "idle"]
    finally:
        await live.close()


async def test_remove_refuses_a_bot_holding_a_position_unless_forced(tmp_path: Path) -> None:
    live = await start_live(tmp_path / "db.sqlite")
    try:
        await live.runtime.create_bot(bot("b", strategy="ma_cross",
                                          params={"fast": 2, "slow": 3}))
        runner = live.runtime.runners[0]
        for _ in range(30):
            await live.settle(live.market.advance(1))
            if runner.core.portfolio.position.quantity != 0:
                break
        assert runner.core.portfolio.position.quantity != 0
        with pytest.raises(ControlRefused, match="holds a position"):
            await live.runtime.remove("b")
        assert live.runtime.view("b").status == "running"
        await live.runtime.remove("b", force=True)
        assert live.runtime.bots() == []
    finally:
        await live.close()


async def test_start_all_and_stop_all(tmp_path: Path) -> None:
    live = await start_live(tmp_path / "db.sqlite",
                            [bot("a"), bot("b", symbol="ETHUSDT", auto_start=False)])
    try:
        assert {v.bot_id: v.status for v in live.runtime.bots()} == {"a": "running",
                                                                     "b": "created"}
        views = await live.runtime.stop_all()
        assert {v.status for v in views} == {"stopped"}
        assert live.market.active == set()
        views = await live.runtime.start_all()
        assert {v.status for v in views} == {"running"}
        assert live.market.symbols() == {"BTCUSDT", "ETHUSDT"}
    finally:
        await live.close()


async def test_risk_rejections_are_kept_and_published(tmp_path: Path) -> None:
    live = await start_live(tmp_path / "db.sqlite",
                            [bot("capped", risk={"max_order_notional": 50})])
    try:
        with live.bus.subscribe() as events:
            last = live.market.advance(2)
            await live.settle(last)
            risk = [e for e in events.items if e.kind == "risk"]
        rejected = live.runtime.risk_events("capped")
        assert rejected, "the 100 USDT order above the 50 USDT cap was not refused"
        assert rejected[0]["rule"] == "max_order_notional"
        assert rejected[0]["kind"] == "rejected"
        assert "notional above 50" in rejected[0]["reason"]
        assert [e.payload for e in risk] == rejected
        assert live.runtime.view("capped").trades == 0
    finally:
        await live.close()


async def test_a_halted_bot_is_not_started_by_start_but_resume_lifts_its_kill_switch(
    tmp_path: Path,
) -> None:
    live = await start_live(tmp_path / "db.sqlite", [bot("k")])
    try:
        runner = live.runtime.runners[0]
        runner.core.halt_trading("by hand")
        assert live.runtime.view("k").status == "halted"
        with pytest.raises(ControlRefused, match="kill switch"):
            await live.runtime.start("k")
        views = await live.runtime.start_all()
        assert views[0].status == "halted"
        assert (await live.runtime.resume("k")).status == "running"
    finally:
        await live.close()


async def test_a_stored_bot_that_no_longer_loads_does_not_stop_the_others(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    live = await start_live(db, [bot("cfg")])
    try:
        await live.runtime.create_bot(bot("old", strategy="boll"))
    finally:
        await live.close()
    with live.engine.begin() as connection:  # a later version renamed a parameter
        connection.execute(t.bots.update().where(t.bots.c.bot_id == "old")
                           .values(params={"periods": 20}))
    live = await start_live(db, [bot("cfg")])
    try:
        assert live.runtime.view("cfg").status == "running"
        old = live.runtime.view("old")
        assert old.status != "running"
        assert old.last_error is not None
        assert "unknown parameter 'periods'" in old.last_error
        with pytest.raises(BotDefinitionError, match="periods"):
            await live.runtime.start("old")
    finally:
        await live.close()
