"""Explicit mappings from engine objects to rows of ``storage.trading_tables``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binbot.domain.fills import Fill
from binbot.domain.orders import Order
from binbot.domain.positions import TradeRecord


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def order_row(order: Order, mode: str, now_ms: int) -> dict[str, Any]:
    intent = order.intent
    return {
        "client_order_id": intent.client_order_id,
        "bot_id": intent.bot_id,
        "mode": mode,
        "market": intent.market.value,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "type": intent.type.value,
        "quantity": _text(intent.quantity),
        "price": _text(intent.price),
        "stop_price": _text(intent.stop_price),
        "reduce_only": intent.reduce_only,
        "status": order.status.value,
        "exchange_order_id": order.exchange_order_id,
        "filled_qty": _text(order.filled_qty),
        "avg_price": _text(order.avg_price) if order.filled_qty else None,
        "reason": order.reason or None,
        "created_ms": intent.created_time,
        "updated_ms": order.updated_time or now_ms,
    }


def fill_row(bot_id: str, fill: Fill) -> dict[str, Any]:
    return {
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id,
        "bot_id": bot_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "price": _text(fill.price),
        "quantity": _text(fill.quantity),
        "fee": _text(fill.fee),
        "fee_asset": fill.fee_asset,
        "is_maker": fill.maker,
        "time_ms": fill.time,
    }


def trade_row(bot_id: str, symbol: str, leg: TradeRecord) -> dict[str, Any]:
    return {
        "bot_id": bot_id,
        "symbol": symbol,
        "action": leg.kind.value,
        "time_ms": leg.time,
        "price": _text(leg.price),
        "quantity": _text(leg.quantity),
        "fee": _text(leg.fee),
        "pnl": _text(leg.pnl),
        "client_order_id": leg.client_order_id,
    }


def signal_row(bot_id: str, exchange: str, market: str, symbol: str, interval: str,
               leg: TradeRecord) -> dict[str, Any]:
    price = float(leg.price)
    return {
        "bot_id": bot_id,
        "kind": leg.kind.value,
        "exchange": exchange,
        "market": market,
        "symbol": symbol,
        "interval": interval,
        "time_ms": leg.time,
        "price": price,
        "last_price": price,
        "return_since": 0.0,
        "updated_ms": leg.time,
    }
