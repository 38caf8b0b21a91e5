"""Orders, algo orders and fills as the local exchange keeps them (Decimal amounts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol

from binbot.domain.market import Market
from binbot.exchange.decimals import ZERO

OPEN_STATUSES: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
ALGO_OPEN_STATUSES: Final = frozenset({"NEW", "TRIGGERING"})


class EventSink(Protocol):
    """Where user-data events go (the USD-M listenKey streams, the spot WS-API)."""

    def emit(self, venue: Market, api_key: str, event: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class Fill:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time: int


@dataclass(slots=True)
class Order:
    venue: Market
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal
    time: int
    stop_price: Decimal = ZERO
    reduce_only: bool = False
    close_position: bool = False
    quote_order_qty: Decimal = ZERO
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0
    working: bool = True  # spot stop orders wait untriggered (isWorking false)
    working_time: int = -1
    locked: Decimal = ZERO  # spot: funds reserved while it rests
    locked_asset: str = ""
    algo_id: int | None = None  # a USD-M order an algo order triggered
    orig_type: str = ""  # the algo order's type for such a child order
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def original_type(self) -> str:
        return self.orig_type or self.type

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed if self.executed else ZERO

    @property
    def buy(self) -> bool:
        return self.side == "BUY"


@dataclass(slots=True)
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    type: str  # STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT
    quantity: Decimal
    trigger_price: Decimal
    price: Decimal
    time_in_force: str
    working_type: str
    reduce_only: bool
    close_position: bool
    price_protect: bool
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None
    actual_price: Decimal = ZERO
    actual_qty: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status in ALGO_OPEN_STATUSES

    @property
    def buy(self) -> bool:
        return self.side == "BUY"


def triggers(kind: str, buy: bool, price: Decimal, stop: Decimal) -> bool:
    """Stop-loss kinds trigger as the price moves against the order's side; take-profit
    kinds as it moves in favour (``STOP*`` / ``STOP_LOSS*`` vs ``TAKE_PROFIT*``)."""
    if kind.startswith("TAKE_PROFIT"):
        return price <= stop if buy else price >= stop
    return price >= stop if buy else price <= stop


def limit_crossed(buy: bool, price: Decimal, limit: Decimal) -> bool:
    """A trade at ``price`` touches or crosses a resting limit."""
    return price <= limit if buy else price >= limit


class Ids:
    """Order, trade and algo ids, increasing per exchange (shared by every account)."""

    def __init__(self, order: int = 8_000_000_000, trade: int = 500_000_000,
                 algo: int = 1_000_000_000_000) -> None:
        self._order = order
        self._trade = trade
        self._algo = algo
        self._execution = 0

    def order(self) -> int:
        self._order += 1
        return self._order

    def trade(self) -> int:
        self._trade += 1
        return self._trade

    def algo(self) -> int:
        self._algo += 1
        return self._algo

    def execution(self) -> int:
        """Spot execution ids (``I`` of executionReport)."""
        self._execution += 1
        return self._execution
