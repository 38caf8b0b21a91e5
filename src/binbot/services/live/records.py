"""What a live session reads from and writes to the trading tables (blocking: run them in the
writer's thread or ``asyncio.to_thread``).

Orders are keyed by their client order id, fills by (bot, trade id): every write here is
idempotent, so a fill delivered twice (stream and reconciliation, or before and after a
restart) is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Engine, select

from binbot.domain.market import Market
from binbot.domain.orders import (
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
)
from binbot.engine import client_ids
from binbot.storage import trading_tables as t
from binbot.storage.writer import upsert_rows

SEQ_SEARCH_WINDOW: Final = 5000


class DuplicateIntent(RuntimeError):
    """An intent's client order id is already in the journal: sending it would reuse an id."""


@dataclass(frozen=True, slots=True)
class LocalState:
    """A bot's orders and fills as the database has them."""

    orders: dict[str, Order] = field(default_factory=dict)
    trade_ids: frozenset[str] = frozenset()
    last_trade_id: int | None = None


def insert_intent(connection: Connection, row: Mapping[str, Any]) -> None:
    """Insert a new intent's row; refuse an id that is taken (a reused intent sequence)."""
    cid = row["client_order_id"]
    found = connection.execute(
        select(t.orders.c.status).where(t.orders.c.client_order_id == cid)).first()
    if found is not None:
        raise DuplicateIntent(f"client order id {cid} is already journaled ({found[0]})")
    connection.execute(t.orders.insert().values(**row))


def write_events(connection: Connection, order_rows: Sequence[Mapping[str, Any]],
                 fill_rows: Sequence[Mapping[str, Any]]) -> None:
    """Order rows (upsert) and fills (insert unless the trade id is known), one transaction."""
    if order_rows:
        upsert_rows(connection, t.orders, order_rows)
    for fill in fill_rows:
        known = connection.execute(select(t.fills.c.id).where(
            t.fills.c.bot_id == fill["bot_id"], t.fills.c.trade_id == fill["trade_id"],
        ).limit(1)).first()
        if known is None:
            connection.execute(t.fills.insert().values(**fill))


def _opt(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def order_from_row(row: Mapping[str, Any], trade_ids: Iterable[str] = ()) -> Order:
    """The journaled order (the intent sequence is not stored: -1)."""
    intent = OrderIntent(
        bot_id=row["bot_id"], intent_seq=-1, client_order_id=row["client_order_id"],
        market=Market(row["market"]), symbol=row["symbol"], side=OrderSide(row["side"]),
        type=OrderType(row["type"]), quantity=Decimal(row["quantity"]),
        created_time=int(row["created_ms"]), price=_opt(row["price"]),
        stop_price=_opt(row["stop_price"]), reduce_only=bool(row["reduce_only"]),
    )
    return Order(intent, status=OrderStatus(row["status"]),
                 exchange_order_id=row["exchange_order_id"],
                 filled_qty=Decimal(row["filled_qty"]),
                 avg_price=Decimal(row["avg_price"] or "0"), reason=row["reason"] or "",
                 updated_time=int(row["updated_ms"]), trade_ids=set(trade_ids))


def load_local_state(engine: Engine, bot_id: str, symbol: str) -> LocalState:
    """Every journaled order of ``bot_id`` on ``symbol`` with its recorded fills."""
    with engine.connect() as connection:
        rows = connection.execute(select(t.orders).where(
            t.orders.c.bot_id == bot_id, t.orders.c.symbol == symbol)).mappings().all()
        fills = connection.execute(select(t.fills.c.trade_id, t.fills.c.client_order_id).where(
            t.fills.c.bot_id == bot_id, t.fills.c.symbol == symbol)).all()
    by_order: dict[str, list[str]] = {}
    numeric: list[int] = []
    for trade_id, cid in fills:
        by_order.setdefault(cid, []).append(trade_id)
        if str(trade_id).isdigit():
            numeric.append(int(trade_id))
    orders = {r["client_order_id"]: order_from_row(dict(r), by_order.get(r["client_order_id"], ()))
              for r in rows}
    return LocalState(orders, frozenset(str(f[0]) for f in fills),
                      max(numeric) if numeric else None)


def next_intent_seq(bot_id: str, client_order_ids: Iterable[str], start: int,
                    window: int = SEQ_SEARCH_WINDOW) -> int:
    """The first intent sequence after every journaled id of ``bot_id`` at or above ``start``.

    A snapshot older than the journal (a crash between the intent commit and the next state
    write) would otherwise hand an already used client order id to a new intent.
    """
    ids = set(client_order_ids)
    nxt = start
    for seq, cid in enumerate(client_ids.client_order_ids(bot_id, start, window), start):
        if cid in ids:
            nxt = seq + 1
    return nxt
