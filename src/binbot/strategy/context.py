"""What a strategy sees of its bot: read-only views and order commands.

The engine (``binbot.engine.BotCore``) implements ``StrategyContext``; strategies only ever get
this interface, so they cannot reach the portfolio, the execution client or the clock directly.
Time is the time of the latest market event (venue time live, replay time in backtests): there
is no wall clock in strategies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.orders import Order, OrderSide, OrderType, TimeInForce
from binbot.domain.values import fast_init
from binbot.strategy.candles import CandleSeries

PriceSource = Literal["trade", "mark", "book_mid"]


@fast_init
@dataclass(frozen=True, slots=True)
class PositionView:
    """The bot's position: signed base quantity (long > 0), Decimal amounts."""

    side: Literal["long", "short", "flat"]
    quantity: Decimal
    entry_price: Decimal
    unrealised_pnl: Decimal
    realised_pnl: Decimal
    fees: Decimal
    leverage: int
    liquidation_price: Decimal | None

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0


class StrategyContext(Protocol):
    """The bot as a strategy sees it."""

    @property
    def bot_id(self) -> str: ...

    @property
    def instrument(self) -> Instrument: ...

    @property
    def market(self) -> Market: ...

    @property
    def interval(self) -> str: ...

    @property
    def time(self) -> int:
        """Epoch ms of the latest market event."""
        ...

    @property
    def price(self) -> float:
        """The latest trade price (NaN before the first)."""
        ...

    @property
    def mark_price(self) -> float: ...

    @property
    def best_bid(self) -> float: ...

    @property
    def best_ask(self) -> float: ...

    @property
    def candles(self) -> CandleSeries: ...

    @property
    def forming(self) -> Candle | None:
        """The unclosed candle as last reported (None in replays that do not report it)."""
        ...

    @property
    def position(self) -> PositionView: ...

    @property
    def capital(self) -> Decimal:
        """The bot's budget on the account (what its position limits are shares of)."""
        ...

    @property
    def balance(self) -> Decimal:
        """Quote balance: USD-M wallet balance, spot free quote."""
        ...

    @property
    def equity(self) -> Decimal:
        """Balance plus the open position's value at the latest price."""
        ...

    def open_orders(self) -> list[Order]: ...

    def submit_order(
        self,
        side: OrderSide,
        type_: OrderType = OrderType.MARKET,
        *,
        quantity: Decimal | float | int | None = None,
        quote_amount: Decimal | float | int | None = None,
        price: Decimal | float | int | None = None,
        stop_price: Decimal | float | int | None = None,
        reduce_only: bool = False,
        time_in_force: TimeInForce | None = None,
        tag: str = "",
    ) -> Order | None:
        """Size, round, risk-check and send an order; None if it cannot be formed at all."""
        ...

    def close_position(
        self, *, price: Decimal | float | int | None = None, tag: str = ""
    ) -> Order | None:
        """Close the whole position (reduce-only on USD-M); None when flat."""
        ...

    def cancel(self, client_order_id: str) -> None: ...
