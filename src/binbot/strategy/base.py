"""The strategy base class users subclass.

Write a strategy by subclassing ``Strategy``, declaring ``Params`` and overriding hooks::

    class SmaCross(Strategy):
        name = "sma_cross"

        class Params(StrategyParams):
            fast: int = Field(10, ge=1)
            slow: int = Field(30, ge=2)

        params: Params

        def on_candle(self, candle: Candle) -> None:
            close = self.candles.close
            ...
            self.buy(quote_amount=100)

Hooks (all synchronous, all optional; the engine catches and logs exceptions and pauses the bot
after ``max_consecutive_errors`` in a row):

- ``on_start()``: every (re)start, after ``state`` was restored and past candles loaded.
- ``on_candle(candle)``: a candle closed (``self.candles`` already contains it).
- ``on_price(price)``: a real-time price (source per ``price_source``: trade, mark or book mid);
  ``self.forming`` is the unclosed candle. Keep it cheap: backtests call it for every 1m bar.
  A strategy whose ``on_price`` provably does nothing while ``quiet_low < price <
  quiet_high`` (whatever the time) may keep those two attributes up to date and name that
  ``on_price`` in ``quiet_band_of``: a backtest then skips such calls. A subclass that
  overrides ``on_price`` does not inherit the promise (none are skipped by default).
- ``on_order(order)``: an order changed state. ``on_fill(fill)``: one of our orders executed.
  A strategy that only cares about some states names them in ``order_updates`` (say, the
  terminal states of orders that did not execute); ``on_order`` is then called for those
  only, and the engine does not snapshot the order for the others.
- ``on_stop()``: the bot is stopping.

Views: ``time``, ``price``, ``candles`` (numpy arrays, ``candles.to_frame()``), ``forming``,
``position``, ``capital``, ``balance``, ``equity``, ``open_orders()``. Commands: ``buy``,
``sell``, ``close``, ``cancel``; they pass the risk gate and return the ``Order`` (possibly
REJECTED) or None. ``state`` is a JSON-serialisable dict the engine persists and restores; override
``save_state``/``restore_state`` to persist private attributes as well. ``log`` is the
strategy's own logger.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final

from binbot.domain.candle import Candle
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import (
    BUY,
    GTC,
    LIMIT,
    MARKET,
    SELL,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from binbot.strategy.candles import CandleSeries
from binbot.strategy.context import PositionView, PriceSource, StrategyContext
from binbot.strategy.params import StrategyParams, validate_params

INTERFACE_VERSION: Final = 1

Number = Decimal | float | int


class StrategyNotBound(RuntimeError):
    """A view or command was used before the engine attached the strategy to a bot."""


class Strategy:
    """Base class of every strategy (see the module docstring)."""

    name: ClassVar[str] = "strategy"
    interface_version: ClassVar[int] = INTERFACE_VERSION
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    params: StrategyParams

    # ``on_price(p)`` does nothing for quiet_low < p < quiet_high (see the module docstring),
    # when ``on_price`` is the function ``quiet_band_of`` names; the default band is empty.
    quiet_low: float = math.inf
    quiet_high: float = -math.inf
    quiet_band_of: ClassVar[Callable[..., None] | None] = None
    # The order states ``on_order`` is called for; None: every change.
    order_updates: ClassVar[frozenset[OrderStatus] | None] = None

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None) -> None:
        self.params = validate_params(self.name, type(self).Params, params)
        self.state: dict[str, Any] = {}
        self.price_source: PriceSource = "trade"
        self.log = logging.getLogger(f"binbot.strategy.{self.name}")
        self._ctx: StrategyContext | None = None

    # -- engine side ---------------------------------------------------------------------

    def bind(self, context: StrategyContext, logger: logging.Logger | None = None) -> None:
        """Attach the strategy to its bot (called by the engine)."""
        self._ctx = context
        if logger is not None:
            self.log = logger

    def save_state(self) -> dict[str, Any]:
        """Return what must survive a restart (JSON-serialisable). Default: ``state``."""
        return dict(self.state)

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Reload what ``save_state`` returned. Called before ``on_start``."""
        self.state = dict(state)

    # -- hooks ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """The bot (re)started."""

    def on_candle(self, candle: Candle) -> None:
        """A candle closed."""

    def on_price(self, price: float) -> None:
        """A real-time price arrived."""

    def on_order(self, order: Order) -> None:
        """One of our orders changed state."""

    def on_fill(self, fill: Fill) -> None:
        """One of our orders (or a liquidation of our position) executed."""

    def on_stop(self) -> None:
        """The bot is stopping."""

    # -- views ---------------------------------------------------------------------------

    @property
    def ctx(self) -> StrategyContext:
        if self._ctx is None:
            raise StrategyNotBound(f"strategy {self.name} is not attached to a bot yet")
        return self._ctx

    @property
    def market(self) -> Market:
        return self.ctx.market

    @property
    def symbol(self) -> str:
        return self.ctx.instrument.symbol

    @property
    def time(self) -> int:
        return self.ctx.time

    @property
    def price(self) -> float:
        return self.ctx.price

    @property
    def candles(self) -> CandleSeries:
        return self.ctx.candles

    @property
    def forming(self) -> Candle | None:
        return self.ctx.forming

    @property
    def position(self) -> PositionView:
        return self.ctx.position

    @property
    def capital(self) -> Decimal:
        return self.ctx.capital

    @property
    def balance(self) -> Decimal:
        return self.ctx.balance

    @property
    def equity(self) -> Decimal:
        return self.ctx.equity

    def open_orders(self) -> list[Order]:
        return self.ctx.open_orders()

    # -- commands ------------------------------------------------------------------------

    def buy(
        self,
        quantity: Number | None = None,
        *,
        quote_amount: Number | None = None,
        price: Number | None = None,
        reduce_only: bool = False,
        time_in_force: TimeInForce | None = None,
        tag: str = "",
    ) -> Order | None:
        """Buy ``quantity`` base (or ``quote_amount`` worth); a limit order when ``price``."""
        return self._order(BUY, quantity, quote_amount, price, reduce_only,
                           time_in_force, tag)

    def sell(
        self,
        quantity: Number | None = None,
        *,
        quote_amount: Number | None = None,
        price: Number | None = None,
        reduce_only: bool = False,
        time_in_force: TimeInForce | None = None,
        tag: str = "",
    ) -> Order | None:
        """Sell ``quantity`` base (or ``quote_amount`` worth); a limit order when ``price``."""
        return self._order(SELL, quantity, quote_amount, price, reduce_only,
                           time_in_force, tag)

    def close(self, *, price: Number | None = None, tag: str = "") -> Order | None:
        """Close the whole position (reduce-only on futures); None when flat."""
        return (self._ctx or self.ctx).close_position(price=price, tag=tag)

    def stop_order(self, side: OrderSide, quantity: Number, stop_price: Number, *,
                   take_profit: bool = False, reduce_only: bool = True,
                   tag: str = "") -> Order | None:
        """A STOP_MARKET (or TAKE_PROFIT_MARKET) order triggered by the trade price."""
        kind = OrderType.TAKE_PROFIT_MARKET if take_profit else OrderType.STOP_MARKET
        return self.ctx.submit_order(side, kind, quantity=quantity, stop_price=stop_price,
                                     reduce_only=reduce_only, tag=tag)

    def cancel(self, client_order_id: str) -> None:
        self.ctx.cancel(client_order_id)

    def _order(self, side: OrderSide, quantity: Number | None, quote_amount: Number | None,
               price: Number | None, reduce_only: bool, time_in_force: TimeInForce | None,
               tag: str) -> Order | None:
        kind = MARKET if price is None else LIMIT
        tif = time_in_force if time_in_force is not None or price is None else GTC
        # ``self._ctx or``: the property's check costs a call, and this runs for every order.
        return (self._ctx or self.ctx).submit_order(
            side, kind, quantity=quantity, quote_amount=quote_amount, price=price,
            reduce_only=reduce_only, time_in_force=tif, tag=tag)
