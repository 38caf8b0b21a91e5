"""Bots, positions, orders, trades, signals, equity. Money is a decimal string, as stored."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from binbot.api.schemas.common import Out


class BotOut(Out):
    bot_id: str
    market: str
    symbol: str
    interval: str
    strategy: str
    params: dict[str, Any]
    mode: str
    status: str
    capital: str
    equity: str | None = None
    realized_pnl: str | None = None
    unrealized_pnl: str | None = None
    fees: str | None = None
    position_qty: str | None = None
    entry_price: str | None = None
    last_price: float | None = None
    trades: int = 0
    winning_trades: int = 0
    win_rate: float | None = None
    last_error: str | None = None
    indicators: dict[str, float] = Field(default_factory=dict)
    live: bool = False


class PositionOut(Out):
    bot_id: str
    symbol: str
    side: str  # long | short
    quantity: str
    entry_price: str
    mark_price: str | None
    unrealized_pnl: str
    unrealized_pct: float | None
    realized_pnl: str
    liquidation_price: str | None
    leverage: int
    updated_ms: int


class OrderOut(Out):
    client_order_id: str
    bot_id: str
    mode: str
    market: str
    symbol: str
    side: str
    type: str
    quantity: str
    price: str | None
    stop_price: str | None
    reduce_only: bool
    status: str
    exchange_order_id: str | None
    filled_qty: str
    avg_price: str | None
    reason: str | None
    created_ms: int
    updated_ms: int


class TradeOut(Out):
    id: int
    bot_id: str
    symbol: str
    action: str
    time_ms: int
    price: str
    quantity: str
    fee: str
    pnl: str
    client_order_id: str


class TradesPage(Out):
    items: list[TradeOut]
    count: int
    total_pnl: str
    total_fees: str
    next_before_id: int | None  # pass as before_id for the next (older) page


class SignalOut(Out):
    id: int
    bot_id: str
    kind: str
    exchange: str
    market: str
    symbol: str
    interval: str
    time_ms: int
    price: float
    last_price: float
    return_since: float
    updated_ms: int


class EquityPoint(Out):
    time_ms: int
    equity: str
    balance: str
    unrealized_pnl: str
    price: float


class EquitySeries(Out):
    bot_id: str | None
    points: list[EquityPoint]


class StreamHealthOut(Out):
    stream: str
    last_event_ms: int | None
    stale: bool


class StatusOut(Out):
    version: str
    mode: str  # paper | testnet | live | mixed
    read_only: bool
    started_ms: int
    uptime_s: float
    now_ms: int
    bots_total: int
    bots_running: int
    open_positions: int
    open_orders: int
    equity: str
    capital: str
    pnl_today: str
    pnl_total: str
    unrealized_pnl: str
    last_seq: int
    venue: str | None
    streams: list[StreamHealthOut]
    dropped_events: int
    last_data_ms: int | None
