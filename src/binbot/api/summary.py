"""Portfolio summary (status card, tick events) from the live runtime and/or the database."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal

from binbot import __version__
from binbot.api.container import ApiContainer
from binbot.api.queries.candles import latest_candle_ms
from binbot.api.queries.trading import (
    count_open_orders,
    dec,
    equity_at_or_after,
    fmt,
    latest_equity,
    open_positions,
    stored_bots,
)
from binbot.api.schemas.trading import BotOut, StatusOut, StreamHealthOut
from binbot.services.runtime import BotView


def bot_from_view(view: BotView) -> BotOut:
    data = asdict(view)
    won, total = view.winning_trades, view.trades
    return BotOut(**data, win_rate=(won / total if total else None), live=True)


def current_bots(container: ApiContainer) -> list[BotOut]:
    """Live views for the bots the runtime runs, stored rows for the others (blocking)."""
    stored = {bot.bot_id: bot for bot in stored_bots(container.engine)}
    if container.runtime is not None:
        for view in container.runtime.bots():
            stored[view.bot_id] = bot_from_view(view)
    return sorted(stored.values(), key=lambda b: b.bot_id)


def _mode(bots: list[BotOut], container: ApiContainer) -> str:
    modes = {b.mode for b in bots} or {bot.mode for bot in container.settings.bots}
    if len(modes) == 1:
        return next(iter(modes))
    return "mixed" if modes else "paper"


def day_start_ms(now_ms: int) -> int:
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def status(container: ApiContainer, now_ms: int | None = None) -> StatusOut:
    """The summary cards' figures (blocking: call from a worker thread)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    engine = container.engine
    bots = current_bots(container)
    stored_eq = latest_equity(engine)
    opening = equity_at_or_after(engine, day_start_ms(now_ms))
    equity = capital = today = unrealized = Decimal(0)
    for bot in bots:
        bot_equity = dec(bot.equity) if bot.equity is not None else dec(bot.capital)
        equity += bot_equity
        capital += dec(bot.capital)
        unrealized += dec(bot.unrealized_pnl or "0")
        start = opening.get(bot.bot_id)
        if start is not None:
            today += bot_equity - dec(start.equity)
    health = container.runtime.health() if container.runtime is not None else None
    streams = [StreamHealthOut(stream=s.stream, last_event_ms=s.last_event_ms, stale=s.stale)
               for s in health.streams] if health else []
    last_data = max((p.time_ms for p in stored_eq.values()), default=None)
    candle_ms = latest_candle_ms(engine)
    if candle_ms is not None:
        last_data = max(last_data or 0, candle_ms)
    for s in streams:
        if s.last_event_ms is not None:
            last_data = max(last_data or 0, s.last_event_ms)
    return StatusOut(
        version=__version__, mode=_mode(bots, container), read_only=container.read_only,
        started_ms=container.started_ms, uptime_s=(now_ms - container.started_ms) / 1000,
        now_ms=now_ms, bots_total=len(bots),
        bots_running=sum(1 for b in bots if b.status == "running"),
        open_positions=len(open_positions(engine)), open_orders=count_open_orders(engine),
        equity=fmt(equity), capital=fmt(capital), pnl_today=fmt(today),
        pnl_total=fmt(equity - capital), unrealized_pnl=fmt(unrealized),
        last_seq=container.bus.last_seq, venue=health.venue if health else None,
        streams=streams, dropped_events=health.dropped_events if health else 0,
        last_data_ms=last_data,
    )
