"""Per-bot figures read from the database: closed trades and period returns.

Returns are measured in the bot's market time (the time of its newest equity snapshot), so a
paper bot fed a replay reports the day and month of the prices it traded. A period's reference
equity is the last snapshot before the period began; a bot that started within the period is
measured from its capital.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from binbot.api.queries.trading import dec
from binbot.storage.trading_tables import bots, equity_snapshots, trades


@dataclass(frozen=True, slots=True)
class TradeCounts:
    closed: int = 0
    winning: int = 0
    realized_pnl: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PeriodReturns:
    as_of_ms: int | None  # market time of the newest snapshot
    equity: Decimal | None  # equity then
    daily: float | None
    monthly: float | None


def trade_counts(engine: Engine, bot_id: str | None = None) -> dict[str, TradeCounts]:
    """Closed trades (round trips), winners and realised PnL after fees, by bot."""
    query = select(trades.c.bot_id, trades.c.pnl).where(trades.c.action.like("close%"))
    if bot_id is not None:
        query = query.where(trades.c.bot_id == bot_id)
    closed: dict[str, int] = {}
    winning: dict[str, int] = {}
    realized: dict[str, Decimal] = {}
    with engine.connect() as connection:
        for bot, raw in connection.execute(query):
            pnl = dec(raw)
            closed[bot] = closed.get(bot, 0) + 1
            winning[bot] = winning.get(bot, 0) + (1 if pnl > 0 else 0)
            realized[bot] = realized.get(bot, Decimal(0)) + pnl
    return {bot: TradeCounts(n, winning[bot], realized[bot]) for bot, n in closed.items()}


def _month_start(ms: int) -> int:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def _day_start(ms: int) -> int:
    return ms - ms % 86_400_000


def _equity_before(engine: Engine, bot_id: str, time_ms: int) -> Decimal | None:
    query = (select(equity_snapshots.c.equity)
             .where(equity_snapshots.c.bot_id == bot_id, equity_snapshots.c.time_ms < time_ms)
             .order_by(equity_snapshots.c.time_ms.desc()).limit(1))
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else dec(row[0])


def period_returns(engine: Engine, bot_id: str, capital: Decimal,
                   equity_now: Decimal | None = None) -> PeriodReturns:
    """Daily and monthly return of one bot (fractions: 0.01 is 1%). ``equity_now``: the live
    equity, when known (else the newest snapshot's)."""
    with engine.connect() as connection:
        newest = connection.execute(
            select(equity_snapshots.c.time_ms, equity_snapshots.c.equity)
            .where(equity_snapshots.c.bot_id == bot_id)
            .order_by(equity_snapshots.c.time_ms.desc()).limit(1)).first()
    if newest is None:
        return PeriodReturns(None, equity_now, None, None)
    as_of = int(newest[0])
    equity = equity_now if equity_now is not None else dec(newest[1])

    def since(start: int) -> float | None:
        reference = _equity_before(engine, bot_id, start)
        if reference is None:
            reference = capital
        if reference <= 0:
            return None
        return float(equity / reference - 1)

    return PeriodReturns(as_of, equity, since(_day_start(as_of)), since(_month_start(as_of)))


def last_event_times(engine: Engine) -> dict[str, int]:
    """Market time of the newest equity snapshot of each stored bot."""
    query = (select(equity_snapshots.c.bot_id, func.max(equity_snapshots.c.time_ms))
             .group_by(equity_snapshots.c.bot_id))
    with engine.connect() as connection:
        return {str(r[0]): int(r[1]) for r in connection.execute(query) if r[1] is not None}


def stored_statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return {str(r[0]): str(r[1])
                for r in connection.execute(select(bots.c.bot_id, bots.c.status))}
