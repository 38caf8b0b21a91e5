"""Reads of the trading tables, mapped to response models."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, Select, and_, func, select

from binbot.api.schemas.trading import (
    BotOut,
    EquityPoint,
    OrderOut,
    PositionOut,
    SignalOut,
    TradeOut,
    TradesPage,
)
from binbot.storage.trading_tables import (
    bots,
    equity_snapshots,
    orders,
    positions,
    signals,
    trades,
)

# Orders still able to trade; everything else is history.
OPEN_STATUSES = ("INTENT", "SUBMITTED", "NEW", "PARTIALLY_FILLED", "UNKNOWN", "PENDING_CANCEL")


def dec(value: object) -> Decimal:
    """A stored decimal string as Decimal; junk counts as zero rather than failing a page."""
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return result if result.is_finite() else Decimal(0)


def fmt(value: Decimal) -> str:
    """Plain decimal notation (never ``1E+2``), trailing zeros trimmed."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _rows(engine: Engine, query: Select[Any]) -> Sequence[Any]:
    with engine.connect() as conn:
        return conn.execute(query).mappings().all()


def stored_bots(engine: Engine) -> list[BotOut]:
    rows = _rows(engine, select(bots).order_by(bots.c.bot_id))
    counts = {r["bot_id"]: r for r in _rows(engine, select(
        trades.c.bot_id,
        func.count().label("n"),
    ).where(trades.c.action.like("close%")).group_by(trades.c.bot_id))}
    wins: dict[str, int] = {}
    for r in _rows(engine, select(trades.c.bot_id, trades.c.pnl)
                   .where(trades.c.action.like("close%"))):
        if dec(r["pnl"]) > 0:
            wins[r["bot_id"]] = wins.get(r["bot_id"], 0) + 1
    latest = latest_equity(engine)
    result = []
    for r in rows:
        n = int(counts[r["bot_id"]]["n"]) if r["bot_id"] in counts else 0
        won = wins.get(r["bot_id"], 0)
        eq = latest.get(r["bot_id"])
        result.append(BotOut(
            bot_id=r["bot_id"], market=r["market"], symbol=r["symbol"], interval=r["interval"],
            strategy=r["strategy"], params=dict(r["params"] or {}), mode=r["mode"],
            status=r["status"], capital=r["capital"],
            equity=eq.equity if eq else None,
            unrealized_pnl=eq.unrealized_pnl if eq else None,
            last_price=eq.price if eq else None,
            trades=n, winning_trades=won, win_rate=(won / n if n else None), live=False,
        ))
    return result


def latest_equity(engine: Engine, bot_id: str | None = None) -> dict[str, EquityPoint]:
    """The newest equity snapshot of each bot."""
    newest = select(equity_snapshots.c.bot_id, func.max(equity_snapshots.c.time_ms).label("t"))
    if bot_id is not None:
        newest = newest.where(equity_snapshots.c.bot_id == bot_id)
    sub = newest.group_by(equity_snapshots.c.bot_id).subquery()
    query = select(equity_snapshots).join(sub, and_(
        equity_snapshots.c.bot_id == sub.c.bot_id, equity_snapshots.c.time_ms == sub.c.t))
    return {r["bot_id"]: _equity_point(r) for r in _rows(engine, query)}


def equity_at_or_after(engine: Engine, time_ms: int) -> dict[str, EquityPoint]:
    """Each bot's first snapshot at or after ``time_ms`` (the day's opening equity)."""
    sub = (select(equity_snapshots.c.bot_id, func.min(equity_snapshots.c.time_ms).label("t"))
           .where(equity_snapshots.c.time_ms >= time_ms)
           .group_by(equity_snapshots.c.bot_id).subquery())
    query = select(equity_snapshots).join(sub, and_(
        equity_snapshots.c.bot_id == sub.c.bot_id, equity_snapshots.c.time_ms == sub.c.t))
    return {r["bot_id"]: _equity_point(r) for r in _rows(engine, query)}


def _equity_point(r: Any) -> EquityPoint:
    return EquityPoint(time_ms=r["time_ms"], equity=r["equity"], balance=r["balance"],
                       unrealized_pnl=r["unrealized_pnl"], price=r["price"])


def equity_history(engine: Engine, bot_id: str | None, from_ms: int | None, to_ms: int | None,
                   max_points: int) -> list[EquityPoint]:
    """Equity over time: one bot's, or the sum over bots per timestamp; evenly thinned."""
    query = select(equity_snapshots)
    if bot_id is not None:
        query = query.where(equity_snapshots.c.bot_id == bot_id)
    if from_ms is not None:
        query = query.where(equity_snapshots.c.time_ms >= from_ms)
    if to_ms is not None:
        query = query.where(equity_snapshots.c.time_ms <= to_ms)
    rows = _rows(engine, query.order_by(equity_snapshots.c.time_ms))
    if bot_id is None:
        points = _summed(rows)
    else:
        points = [_equity_point(r) for r in rows]
    if len(points) > max_points:
        step = len(points) / max_points
        thinned = [points[int(i * step)] for i in range(max_points - 1)]
        points = [*thinned, points[-1]]
    return points


def _summed(rows: Sequence[Any]) -> list[EquityPoint]:
    # Bots snapshot on the same minute grid; carry each bot's last value forward so a bot that
    # skipped a minute does not make the total dip.
    last: dict[str, Any] = {}
    out: list[EquityPoint] = []
    index = 0
    while index < len(rows):
        time_ms = rows[index]["time_ms"]
        while index < len(rows) and rows[index]["time_ms"] == time_ms:
            last[rows[index]["bot_id"]] = rows[index]
            index += 1
        values = list(last.values())
        out.append(EquityPoint(
            time_ms=time_ms,
            equity=fmt(sum((dec(v["equity"]) for v in values), Decimal(0))),
            balance=fmt(sum((dec(v["balance"]) for v in values), Decimal(0))),
            unrealized_pnl=fmt(sum((dec(v["unrealized_pnl"]) for v in values), Decimal(0))),
            price=float(values[-1]["price"]),
        ))
    return out


def open_positions(engine: Engine, bot_id: str | None = None) -> list[PositionOut]:
    query = select(positions).order_by(positions.c.bot_id, positions.c.symbol)
    if bot_id is not None:
        query = query.where(positions.c.bot_id == bot_id)
    result = []
    for r in _rows(engine, query):
        qty = dec(r["quantity"])
        if qty == 0:
            continue
        entry = dec(r["entry_price"])
        upnl = dec(r["unrealized_pnl"])
        basis = abs(qty) * entry
        result.append(PositionOut(
            bot_id=r["bot_id"], symbol=r["symbol"], side="long" if qty > 0 else "short",
            quantity=r["quantity"], entry_price=r["entry_price"], mark_price=r["mark_price"],
            unrealized_pnl=r["unrealized_pnl"],
            unrealized_pct=float(upnl / basis * 100) if basis else None,
            realized_pnl=r["realized_pnl"], liquidation_price=r["liquidation_price"],
            leverage=r["leverage"], updated_ms=r["updated_ms"],
        ))
    return result


def list_orders(engine: Engine, *, bot_id: str | None, symbol: str | None, mode: str | None,
                open_only: bool, status: str | None, limit: int, before_ms: int | None
                ) -> list[OrderOut]:
    query = select(orders)
    if bot_id is not None:
        query = query.where(orders.c.bot_id == bot_id)
    if symbol is not None:
        query = query.where(orders.c.symbol == symbol)
    if mode is not None:
        query = query.where(orders.c.mode == mode)
    if open_only:
        query = query.where(orders.c.status.in_(OPEN_STATUSES))
    if status is not None:
        query = query.where(orders.c.status == status)
    if before_ms is not None:
        query = query.where(orders.c.created_ms < before_ms)
    query = query.order_by(orders.c.created_ms.desc()).limit(limit)
    return [OrderOut.model_validate(dict(r)) for r in _rows(engine, query)]


def count_open_orders(engine: Engine) -> int:
    query = select(func.count()).select_from(orders).where(orders.c.status.in_(OPEN_STATUSES))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def list_trades(engine: Engine, *, bot_id: str | None, symbol: str | None, from_ms: int | None,
                to_ms: int | None, before_id: int | None, limit: int) -> TradesPage:
    conditions = []
    if bot_id is not None:
        conditions.append(trades.c.bot_id == bot_id)
    if symbol is not None:
        conditions.append(trades.c.symbol == symbol)
    if from_ms is not None:
        conditions.append(trades.c.time_ms >= from_ms)
    if to_ms is not None:
        conditions.append(trades.c.time_ms <= to_ms)
    totals = _rows(engine, select(trades.c.pnl, trades.c.fee).where(*conditions))
    page_query = select(trades).where(*conditions)
    if before_id is not None:
        page_query = page_query.where(trades.c.id < before_id)
    rows = _rows(engine, page_query.order_by(trades.c.id.desc()).limit(limit))
    items = [TradeOut.model_validate(dict(r)) for r in rows]
    return TradesPage(
        items=items, count=len(totals),
        total_pnl=fmt(sum((dec(r["pnl"]) for r in totals), Decimal(0))),
        total_fees=fmt(sum((dec(r["fee"]) for r in totals), Decimal(0))),
        next_before_id=items[-1].id if len(items) == limit else None,
    )


def list_signals(engine: Engine, *, bot_id: str | None, symbol: str | None, limit: int,
                 after_id: int | None = None) -> list[SignalOut]:
    query = select(signals)
    if bot_id is not None:
        query = query.where(signals.c.bot_id == bot_id)
    if symbol is not None:
        query = query.where(signals.c.symbol == symbol)
    if after_id is not None:
        query = query.where(signals.c.id > after_id)
    rows = _rows(engine, query.order_by(signals.c.id.desc()).limit(limit))
    return [SignalOut.model_validate(dict(r)) for r in rows]


def trades_after(engine: Engine, after_id: int, limit: int = 100) -> list[TradeOut]:
    rows = _rows(engine, select(trades).where(trades.c.id > after_id)
                 .order_by(trades.c.id).limit(limit))
    return [TradeOut.model_validate(dict(r)) for r in rows]


def orders_updated_after(engine: Engine, after_ms: int, limit: int = 100) -> list[OrderOut]:
    rows = _rows(engine, select(orders).where(orders.c.updated_ms > after_ms)
                 .order_by(orders.c.updated_ms).limit(limit))
    return [OrderOut.model_validate(dict(r)) for r in rows]


def positions_updated_after(engine: Engine, after_ms: int) -> list[Any]:
    return list(_rows(engine, select(positions).where(positions.c.updated_ms > after_ms)
                      .order_by(positions.c.updated_ms)))


def max_ids(engine: Engine) -> dict[str, int]:
    """High-water marks the database feed starts from (so old rows are not re-announced)."""
    with engine.connect() as conn:
        return {
            "trade": int(conn.execute(select(func.coalesce(func.max(trades.c.id), 0)))
                         .scalar_one()),
            "signal": int(conn.execute(select(func.coalesce(func.max(signals.c.id), 0)))
                          .scalar_one()),
            "order_ms": int(conn.execute(select(func.coalesce(func.max(orders.c.updated_ms), 0)))
                            .scalar_one()),
            "position_ms": int(conn.execute(
                select(func.coalesce(func.max(positions.c.updated_ms), 0))).scalar_one()),
            "equity_ms": int(conn.execute(
                select(func.coalesce(func.max(equity_snapshots.c.time_ms), 0))).scalar_one()),
        }
