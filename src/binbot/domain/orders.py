"""Orders: enums, the order intent, order events and the order state machine.

An order starts as an ``OrderIntent`` (frozen, with a deterministic client order id that can be
recomputed from ``(bot_id, intent_seq)``), which the engine persists before anything is sent.
The mutable ``Order`` then changes state only through ``Order.apply(event)``, driven by the single
transition table ``TRANSITIONS``; an event that would move an order backwards (FILLED -> NEW) is
ignored and ``apply`` returns False so the caller can log it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.values import fast_init

# Compare Decimals with this, not the int 0: the same answer at about half the cost (the
# order path makes dozens of such comparisons).
ZERO: Final = Decimal(0)
CLIENT_ID_PREFIX: Final = "bb-"
_CLIENT_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# An id is the prefix and the first CLIENT_ID_CHARS characters (130 bits) of the lowercase
# base32 (RFC 4648) spelling of SHA-256(bot_id NUL seq).
CLIENT_ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
CLIENT_ID_CHARS: Final = 26
# Every 10-bit value as its two base32 characters (1024 short strings).
_B32_PAIRS: Final = tuple(x + y for x in CLIENT_ID_ALPHABET for y in CLIENT_ID_ALPHABET)


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the direction it moves a position."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # post-only


class OrderStatus(StrEnum):
    INTENT = "INTENT"  # persisted locally, not sent yet
    SUBMITTED = "SUBMITTED"  # sent, no answer yet
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"  # ambiguous send: resolve by querying, never by resending
    PENDING_CANCEL = "PENDING_CANCEL"
    NOT_SENT = "NOT_SENT"  # proved absent on the exchange
    EXTERNAL = "EXTERNAL"  # not ours (manual order, liquidation, ADL)


# The members the order path tests, as module names. On Python 3.11 ``OrderType.MARKET`` is an
# unspecialised lookup through the enum's metaclass (about 130 ns); a module name is a
# specialised global load (about 10 ns), and an order makes a few dozen such tests.
BUY: Final = OrderSide.BUY
SELL: Final = OrderSide.SELL
MARKET: Final = OrderType.MARKET
LIMIT: Final = OrderType.LIMIT
STOP_MARKET: Final = OrderType.STOP_MARKET
GTC: Final = TimeInForce.GTC
GTX: Final = TimeInForce.GTX
INTENT: Final = OrderStatus.INTENT
SUBMITTED: Final = OrderStatus.SUBMITTED
NEW: Final = OrderStatus.NEW
PARTIALLY_FILLED: Final = OrderStatus.PARTIALLY_FILLED
FILLED: Final = OrderStatus.FILLED
CANCELED: Final = OrderStatus.CANCELED
EXPIRED: Final = OrderStatus.EXPIRED
REJECTED: Final = OrderStatus.REJECTED


S = OrderStatus
_LIVE_STATES: Final = frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED})

# The one transition table: current status -> statuses it may move to. Anything else is a
# backwards or impossible move and is ignored. NOT_SENT can still be adopted when a "lost" order
# turns up later (reliability.md §1 rule 2); PARTIALLY_FILLED -> PARTIALLY_FILLED is a further fill.
TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    S.INTENT: frozenset({S.SUBMITTED, S.REJECTED, S.UNKNOWN, S.NOT_SENT}) | _LIVE_STATES,
    S.SUBMITTED: frozenset({S.REJECTED, S.UNKNOWN, S.PENDING_CANCEL}) | _LIVE_STATES,
    S.UNKNOWN: frozenset({S.REJECTED, S.NOT_SENT, S.PENDING_CANCEL}) | _LIVE_STATES,
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.PENDING_CANCEL}),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.PENDING_CANCEL}
    ),
    S.PENDING_CANCEL: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED}),
    S.EXTERNAL: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED}),
    S.NOT_SENT: _LIVE_STATES,
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
}

TERMINAL: Final = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
OPEN: Final = frozenset({S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL})


_STOP_TYPES: Final = (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    """True when the table allows ``current -> new``."""
    return new in TRANSITIONS[current]


def make_client_order_id(bot_id: str, intent_seq: int) -> str:
    """Return the deterministic client order id of a bot's ``intent_seq``-th intent.

    ``bb-`` + 26 base32 characters of SHA-256(bot_id, seq): 29 characters of ``[A-Za-z0-9_-]``,
    recomputable from durable data so every attempt for the same intent reuses it.
    """
    if intent_seq < 0:
        raise ValueError(f"intent_seq must be >= 0, was {intent_seq}")
    d = hashlib.sha256(f"{bot_id}\x00{intent_seq}".encode()).digest()
    # The first 26 characters of the lowercase base32 (RFC 4648) encoding of the digest, i.e.
    # its first 130 bits in 5-bit groups, spelt two characters (10 bits) per lookup from
    # 40-bit chunks: Python 3.11's base64.b32encode is pure Python and cost 4x this.
    p = _B32_PAIRS
    a = int.from_bytes(d[0:5], "big")
    b = int.from_bytes(d[5:10], "big")
    c = int.from_bytes(d[10:15], "big")
    return "".join((
        CLIENT_ID_PREFIX,
        p[a >> 30], p[(a >> 20) & 1023], p[(a >> 10) & 1023], p[a & 1023],
        p[b >> 30], p[(b >> 20) & 1023], p[(b >> 10) & 1023], p[b & 1023],
        p[c >> 30], p[(c >> 20) & 1023], p[(c >> 10) & 1023], p[c & 1023],
        p[(d[15] << 2) | (d[16] >> 6)],
    ))


@fast_init
@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a bot wants to send, fully specified and already rounded to the instrument filters.

    ``price`` is the limit price (LIMIT), ``stop_price`` the trigger (STOP_MARKET,
    TAKE_PROFIT_MARKET). ``tag`` is a free label from the strategy (kept in records).
    """

    bot_id: str
    intent_seq: int
    client_order_id: str
    market: Market
    symbol: str
    side: OrderSide
    type: OrderType
    quantity: Decimal
    created_time: int
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    tag: str = ""

    def __post_init__(self) -> None:
        if not _CLIENT_ID_RE.match(self.client_order_id):
            raise ValueError(f"invalid client order id, was {self.client_order_id!r}")
        if self.quantity <= ZERO:
            raise ValueError(f"quantity must be positive, was {self.quantity}")
        if self.type is LIMIT and self.price is None:
            raise ValueError("a LIMIT order needs a price")
        if self.type in _STOP_TYPES and self.stop_price is None:
            raise ValueError(f"a {self.type} order needs a stop price")

    @property
    def signed_quantity(self) -> Decimal:
        """The quantity with the sign of the direction it moves a position (as ``Fill``'s)."""
        return self.quantity if self.side is BUY else -self.quantity

    def to_dict(self) -> dict[str, Any]:
        return {
            "bot_id": self.bot_id,
            "intent_seq": self.intent_seq,
            "client_order_id": self.client_order_id,
            "market": self.market.value,
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.type.value,
            "quantity": str(self.quantity),
            "created_time": self.created_time,
            "price": None if self.price is None else str(self.price),
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "time_in_force": None if self.time_in_force is None else self.time_in_force.value,
            "reduce_only": self.reduce_only,
            "tag": self.tag,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderIntent:
        tif = data.get("time_in_force")
        return cls(
            bot_id=data["bot_id"],
            intent_seq=int(data["intent_seq"]),
            client_order_id=data["client_order_id"],
            market=Market(data["market"]),
            symbol=data["symbol"],
            side=OrderSide(data["side"]),
            type=OrderType(data["type"]),
            quantity=Decimal(data["quantity"]),
            created_time=int(data["created_time"]),
            price=_opt_decimal(data.get("price")),
            stop_price=_opt_decimal(data.get("stop_price")),
            time_in_force=None if tif is None else TimeInForce(tif),
            reduce_only=bool(data.get("reduce_only", False)),
            tag=str(data.get("tag", "")),
        )


@fast_init
@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A change reported by an execution client (exchange, paper or backtest).

    ``fill`` is set when the event carries one execution; ``reason`` explains rejections.
    """

    client_order_id: str
    status: OrderStatus
    time: int
    exchange_order_id: str | None = None
    fill: Fill | None = None
    reason: str = ""


@dataclass(slots=True)
class Order:
    """An order's current state; change it only with ``apply``."""

    intent: OrderIntent
    status: OrderStatus = OrderStatus.INTENT
    exchange_order_id: str | None = None
    filled_qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    fees: Decimal = ZERO
    reason: str = ""
    updated_time: int = 0
    trade_ids: set[str] = field(default_factory=set)

    @property
    def client_order_id(self) -> str:
        return self.intent.client_order_id

    @property
    def is_open(self) -> bool:
        """Working on the exchange (or possibly so): not terminal and not a bare intent."""
        return self.status not in TERMINAL and self.status is not OrderStatus.INTENT

    @property
    def remaining_qty(self) -> Decimal:
        return self.intent.quantity - self.filled_qty

    def copy(self) -> Order:
        """An independent copy (its own ``trade_ids``), as seen now. Written out field by
        field: ``dataclasses.replace`` costs several times more, and the engine copies on
        every order update."""
        return Order(self.intent, self.status, self.exchange_order_id, self.filled_qty,
                     self.avg_price, self.fees, self.reason, self.updated_time,
                     set(self.trade_ids))

    def submitted(self, time: int) -> None:
        """INTENT -> SUBMITTED (the order is being sent), as ``apply`` does with a SUBMITTED
        event; for an engine that has nobody to tell of the step."""
        if self.status is not INTENT:
            raise ValueError(f"order {self.client_order_id} is {self.status}, not INTENT")
        self.status = SUBMITTED
        self.updated_time = time

    def apply(self, event: OrderEvent) -> bool:
        """Apply an event; return False (and change nothing) if the table forbids the move.

        A fill is applied once per trade id; a repeated status with a new fill is accepted for
        PARTIALLY_FILLED only (a further execution).
        """
        if event.client_order_id != self.intent.client_order_id:
            raise ValueError(
                f"event for {event.client_order_id} applied to order {self.client_order_id}"
            )
        fill = event.fill
        if fill is not None and fill.trade_id in self.trade_ids:
            return False
        status = event.status
        if status is not self.status and status not in TRANSITIONS[self.status]:
            return False  # the table forbids the move (``can_transition``, inlined)
        if status is self.status and status is not PARTIALLY_FILLED and fill is None:
            return False
        if fill is not None:
            self.trade_ids.add(fill.trade_id)
            filled = self.filled_qty
            total = filled + fill.quantity
            if filled == ZERO:  # the first fill: the average below is exactly its price
                self.avg_price = fill.price
            else:
                self.avg_price = (self.avg_price * filled + fill.price * fill.quantity) / total
            self.filled_qty = total
            self.fees += fill.fee
        self.status = event.status
        if event.exchange_order_id is not None:
            self.exchange_order_id = event.exchange_order_id
        if event.reason:
            self.reason = event.reason
        self.updated_time = event.time
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent.to_dict(),
            "status": self.status.value,
            "exchange_order_id": self.exchange_order_id,
            "filled_qty": str(self.filled_qty),
            "avg_price": str(self.avg_price),
            "fees": str(self.fees),
            "reason": self.reason,
            "updated_time": self.updated_time,
            "trade_ids": sorted(self.trade_ids),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        return cls(
            intent=OrderIntent.from_dict(data["intent"]),
            status=OrderStatus(data["status"]),
            exchange_order_id=data.get("exchange_order_id"),
            filled_qty=Decimal(data["filled_qty"]),
            avg_price=Decimal(data["avg_price"]),
            fees=Decimal(data.get("fees", "0")),
            reason=str(data.get("reason", "")),
            updated_time=int(data.get("updated_time", 0)),
            trade_ids=set(data.get("trade_ids", ())),
        )


def _opt_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
