"""The one fill simulator, shared by paper trading and backtests.

``SimulatedExchange`` is an ``ExecutionClient`` (see ``binbot.ports.execution``) for one
instrument and one account. The driver feeds it prices *before* the bot sees them:

    sim.on_price(time_ms, price)          # trades: fills resting orders, liquidations
    sim.on_mark_price(time_ms, mark)      # USD-M mark: liquidation (trades stand in until one)
    sim.on_book_ticker(time_ms, bid, ask) # optional: book fills (``fill_price="book"``)
    sim.apply_funding(time_ms, rate)      # at funding times

Rules:
- MARKET fills at once, taker, at the last trade price (the price that triggered the decision),
  or at best bid/ask with ``fill_price="book"``, then worsened by ``slippage_bps``.
- LIMIT that would cross fills at once as taker at the market price (GTX expires instead,
  IOC/FOK expire when not marketable); otherwise it rests and fills, maker, at its limit price
  when a trade touches or crosses it.
- STOP_MARKET (buy: price >= stop, sell: price <= stop) and TAKE_PROFIT_MARKET (buy: price <=
  stop, sell: price >= stop) trigger on the trade price and fill as MARKET at that price; one
  that would trigger at once is rejected, as Binance does (-2021).
- Orders are checked against the instrument filters; violations are REJECTED with the reason.
- USD-M reduce-only orders never increase the position (capped to it, the rest EXPIRED).
- Liquidation: when the mark crosses the position's liquidation price, the position is closed at
  that price by an ``autoclose-`` order (an order the bot did not place).

Cost when nothing rests: ``on_price`` stores two numbers and compares against two cached
thresholds, so backtests can call it for every 1m bar.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from binbot.domain.fills import Fill
from binbot.domain.instrument import FilterViolation, Instrument
from binbot.domain.orders import (
    BUY,
    CANCELED,
    EXPIRED,
    FILLED,
    GTX,
    LIMIT,
    MARKET,
    NEW,
    PARTIALLY_FILLED,
    REJECTED,
    SELL,
    STOP_MARKET,
    ZERO,
    Order,
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    TimeInForce,
)
from binbot.domain.values import builder
from binbot.ports.execution import EventSink
from binbot.sim.account import SimAccount
from binbot.sim.config import SimConfig

_INF: Final = math.inf
_SIDE_NAMES: Final = {side: str(side.value) for side in OrderSide}  # Enum.value is a property
_FEE_QUANTUM: Final = Decimal("1e-8")
_BPS: Final = Decimal(10_000)
_NOT_REDUCING: Final = "reduce-only order would not reduce the position"
# Built for every order, without the type call (``values.builder``).
_new_event: Final = builder(OrderEvent)
_new_fill: Final = builder(Fill)


def _discard(event: OrderEvent) -> None:
    """Default sink until ``bind`` is called."""


def to_decimal(price: float) -> Decimal:
    """A float market price as the Decimal of its shortest repr (exact for exchange prices)."""
    return Decimal(repr(price))


class SimulatedExchange:
    """Simulated matching and account for one instrument (see the module docstring)."""

    def __init__(self, instrument: Instrument, config: SimConfig) -> None:
        if instrument.market is not config.market:
            raise ValueError(f"instrument market {instrument.market} != sim {config.market}")
        self._instrument = instrument
        self._config = config
        self._sink: EventSink = _discard
        self.account = SimAccount(config, instrument.symbol)
        self._spot = self.account.spot
        self._orders: dict[str, Order] = {}
        self._time = 0
        self._last = math.nan
        self._mark = math.nan
        self._bid = math.nan
        self._ask = math.nan
        self._has_mark = False
        self._decimal_of = math.nan  # the float ``_decimal`` holds the Decimal of (a cache)
        self._decimal = Decimal(0)
        self._below = -_INF  # something fires when a trade price <= this
        self._above = _INF  # ... or >= this
        self._next_trade = 1
        self._next_order = 1
        self._next_autoclose = 1

    # -- ExecutionClient -------------------------------------------------------------------

    def bind(self, sink: EventSink) -> None:
        self._sink = sink

    def submit(self, intent: OrderIntent) -> None:
        cid = intent.client_order_id
        qty = self._executable_qty(intent)  # once: the refusal checks and the fill need it
        reason = self._refusal(intent, qty)
        if reason:
            self._emit(cid, REJECTED, reason=reason)
            return
        exchange_order_id = str(self._next_order)
        self._next_order += 1
        kind = intent.type
        taker_now = kind is MARKET or (
            kind is LIMIT and self._marketable(intent)
        )
        if taker_now and intent.time_in_force is GTX:
            self._emit(cid, EXPIRED, "post-only order would take liquidity",
                       exchange_order_id)
            return
        if taker_now:
            # No ``Order``: this one never rests, and its events need only the two ids. And
            # qty > 0: ``_refusal`` rejected a reduce-only order that would not reduce.
            fill = self._make_fill(cid, intent.side, self._market_price(intent.side), qty,
                                   maker=False)
            reason = self.account.refusal(fill)
            if reason:
                self._emit(cid, REJECTED, reason=reason)
                return
            self._sink(_new_event(cid, NEW, self._time, exchange_order_id))
            self._execute(intent, exchange_order_id, fill)
            return
        order = Order(intent, exchange_order_id=exchange_order_id)
        self._emit_order(order, NEW)
        if intent.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self._emit_order(order, EXPIRED, "not marketable")
            return
        self._orders[cid] = order
        self._update_triggers()

    def cancel(self, client_order_id: str) -> None:
        """Cancel a resting order; an order that is not open is left alone (no event)."""
        order = self._orders.pop(client_order_id, None)
        if order is None:
            return
        self._update_triggers()
        self._emit_order(order, CANCELED)

    def open_orders(self) -> list[Order]:
        return list(self._orders.values())

    # -- market feed -----------------------------------------------------------------------

    def on_price(self, time_ms: int, price: float) -> None:
        """A trade price: the hot path of backtests."""
        self._time = time_ms
        self._last = price
        if self._below < price < self._above:
            return
        self._match(price)

    def on_mark_price(self, time_ms: int, mark: float) -> None:
        self._time = time_ms
        self._mark = mark
        if not self._has_mark:
            self._has_mark = True
            self._update_triggers()
        acc = self.account
        if mark <= acc.liquidate_below or mark >= acc.liquidate_above:
            self._liquidate()

    def on_book_ticker(self, time_ms: int, bid: float, ask: float) -> None:
        self._time = time_ms
        self._bid = bid
        self._ask = ask

    def apply_funding(self, time_ms: int, rate: Decimal, mark: float | None = None) -> Decimal:
        """Apply a funding rate at ``time_ms`` at the mark (else last) price; return the amount
        the account received (negative when it paid)."""
        self._time = time_ms
        reference = mark if mark is not None else self.mark_price
        if math.isnan(reference):
            return Decimal(0)
        return self.account.apply_funding(to_decimal(reference), rate)

    # -- views -----------------------------------------------------------------------------

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def config(self) -> SimConfig:
        return self._config

    def quiet_band(self) -> tuple[float, float]:
        """``(low, high)``: a trade price strictly between them only updates the last price
        and the time (nothing rests or liquidates there), until the next order or fill."""
        return self._below, self._above

    @property
    def last_price(self) -> float:
        return self._last

    @property
    def mark_price(self) -> float:
        """The mark price, or the last trade price while no mark was fed."""
        return self._mark if self._has_mark else self._last

    # -- internals -------------------------------------------------------------------------

    def _refusal(self, intent: OrderIntent, qty: Decimal) -> str:
        """Why the order is rejected ("" when it is not); ``qty`` is its executable quantity."""
        inst = self._instrument
        if intent.symbol != inst.symbol:
            return f"unknown symbol for this account, was {intent.symbol}"
        if intent.client_order_id in self._orders:
            return f"duplicate client order id, was {intent.client_order_id}"
        if math.isnan(self._last):
            return "no market price yet"
        kind = intent.type
        if kind is LIMIT:
            assert intent.price is not None  # noqa: S101 - guaranteed by OrderIntent
            reference = intent.price
        elif kind is MARKET:
            reference = self._to_decimal(self._last)
        else:
            assert intent.stop_price is not None  # noqa: S101 - guaranteed by OrderIntent
            reference = intent.stop_price
        if intent.price is not None or intent.stop_price is not None:  # (a market order: no)
            for given in (intent.price, intent.stop_price):
                if given is not None and inst.round_price(given, buy=True) != given:
                    return f"price is not a multiple of the tick size, was {given}"
        market_order = kind is not LIMIT
        try:
            inst.check(reference, intent.quantity, market_order=market_order,
                       reduce_only=intent.reduce_only)
        except FilterViolation as e:
            return str(e)
        if market_order and kind is not MARKET and self._triggered(intent, self._last):
            return "order would immediately trigger"
        if qty <= ZERO:  # only a USD-M reduce-only order can have nothing to execute
            return _NOT_REDUCING
        return ""

    def _marketable(self, intent: OrderIntent) -> bool:
        assert intent.price is not None  # noqa: S101 - LIMIT orders carry a price
        limit = float(intent.price)
        if intent.side is BUY:
            return limit >= self._reference(BUY)
        return limit <= self._reference(SELL)

    def _reference(self, side: OrderSide) -> float:
        if self._config.fill_price == "book" and not math.isnan(self._bid):
            return self._ask if side is BUY else self._bid
        return self._last

    def _to_decimal(self, price: float) -> Decimal:
        """``to_decimal`` of the last price converted, remembered: an order converts the same
        trade price two or three times (0.0 is redone: -0.0 == 0.0 but their reprs differ)."""
        if price != self._decimal_of or not price:
            self._decimal = to_decimal(price)
            self._decimal_of = price
        return self._decimal

    def _market_price(self, side: OrderSide) -> Decimal:
        price = self._to_decimal(self._reference(side))
        bps = self._config.slippage_bps
        if bps:
            factor = bps / _BPS
            if side is BUY:
                price = self._instrument.round_price(price * (1 + factor), buy=False)
            else:
                price = self._instrument.round_price(price * (1 - factor), buy=True)
        return price

    def _executable_qty(self, intent: OrderIntent) -> Decimal:
        if not intent.reduce_only or self._spot:
            return intent.quantity
        held = self.account.position.quantity
        if held == ZERO or (held > ZERO) == (intent.side is BUY):
            return ZERO
        return min(intent.quantity, abs(held))

    @staticmethod
    def _triggered(intent: OrderIntent, price: float) -> bool:
        buy = intent.side is BUY
        kind = intent.type
        if kind is LIMIT:
            assert intent.price is not None  # noqa: S101
            limit = float(intent.price)
            return price <= limit if buy else price >= limit
        assert intent.stop_price is not None  # noqa: S101
        stop = float(intent.stop_price)
        if kind is STOP_MARKET:
            return price >= stop if buy else price <= stop
        return price <= stop if buy else price >= stop

    def _make_fill(self, cid: str, side: OrderSide, price: Decimal, qty: Decimal,
                   maker: bool) -> Fill:
        config = self._config
        rate = config.maker_fee if maker else config.taker_fee
        # (The rounding passed by position: a keyword costs the C call more than the rounding.)
        fee = (price * qty * rate).quantize(_FEE_QUANTUM, ROUND_HALF_EVEN)
        # trade_id, client_order_id, symbol, side, price, quantity, fee, fee_asset, maker, time
        return _new_fill(str(self._next_trade), cid, self._instrument.symbol, _SIDE_NAMES[side],
                         price, qty, fee, config.quote_asset, maker, self._time)

    def _execute(self, intent: OrderIntent, exchange_order_id: str | None, fill: Fill) -> None:
        """Book ``fill`` (the account accepted it) and report it."""
        cid = intent.client_order_id
        self._next_trade += 1
        self.account.apply(fill)
        self._update_triggers()
        partial = fill.quantity < intent.quantity
        status = PARTIALLY_FILLED if partial else FILLED
        self._sink(_new_event(cid, status, self._time, exchange_order_id, fill))
        if partial:
            self._emit(cid, EXPIRED, "reduce-only quantity capped", exchange_order_id)

    def _match(self, price: float) -> None:
        for cid, order in list(self._orders.items()):
            if cid not in self._orders or not self._triggered(order.intent, price):
                continue
            del self._orders[cid]
            intent = order.intent
            maker = intent.type is LIMIT
            if maker:
                assert intent.price is not None  # noqa: S101
                fill_price = intent.price
            else:
                fill_price = self._market_price(intent.side)
            # The position may have moved since the order was placed: check again.
            qty = self._executable_qty(intent)
            if qty <= ZERO:
                reason = _NOT_REDUCING
            else:
                fill = self._make_fill(cid, intent.side, fill_price, qty, maker)
                reason = self.account.refusal(fill)
            if reason:
                self._update_triggers()
                self._emit_order(order, EXPIRED, reason)
                continue
            self._execute(intent, order.exchange_order_id, fill)
        if not self._has_mark:
            acc = self.account
            if price <= acc.liquidate_below or price >= acc.liquidate_above:
                self._liquidate()
        self._update_triggers()

    def _liquidate(self) -> None:
        position = self.account.position
        liq = self.account.liquidation_price()
        if liq is None:
            return
        # Round against the trader: a long is sold at the tick below, a short bought above.
        liq = self._instrument.round_price(liq, buy=position.quantity > 0)
        cid = f"autoclose-{self._next_autoclose}"
        self._next_autoclose += 1
        side = SELL if position.quantity > 0 else BUY
        fill = self._make_fill(cid, side, liq, abs(position.quantity), maker=False)
        self._next_trade += 1
        self.account.apply(fill)
        self._update_triggers()
        self._sink(OrderEvent(cid, FILLED, self._time, cid, fill,
                              reason="liquidation"))

    def _update_triggers(self) -> None:
        below = -_INF
        above = _INF
        for order in self._orders.values():
            intent = order.intent
            buy = intent.side is BUY
            level_price = intent.price if intent.type is LIMIT else intent.stop_price
            level = float(level_price) if level_price is not None else math.nan
            fires_below = buy if intent.type is not STOP_MARKET else not buy
            # (comparisons, not max/min: this runs after every fill; a NaN level is passed
            # over, as max/min would)
            if fires_below:
                if level > below:
                    below = level
            elif level < above:
                above = level
        if not self._has_mark:
            account = self.account
            if account.liquidate_below > below:
                below = account.liquidate_below
            if account.liquidate_above < above:
                above = account.liquidate_above
        self._below = below
        self._above = above

    def _emit(self, cid: str, status: OrderStatus, reason: str = "",
              exchange_order_id: str | None = None) -> None:
        self._sink(_new_event(cid, status, self._time, exchange_order_id, None, reason))

    def _emit_order(self, order: Order, status: OrderStatus, reason: str = "") -> None:
        self._emit(order.client_order_id, status, reason, order.exchange_order_id)

    # -- persistence -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume identically, as JSON-able data."""
        return {
            "account": self.account.snapshot(),
            "orders": [order.to_dict() for order in self._orders.values()],
            "time": self._time,
            "last": _opt_float(self._last),
            "mark": _opt_float(self._mark),
            "bid": _opt_float(self._bid),
            "ask": _opt_float(self._ask),
            "has_mark": self._has_mark,
            "next_trade": self._next_trade,
            "next_order": self._next_order,
            "next_autoclose": self._next_autoclose,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.account.restore(data["account"])
        self._orders = {}
        for raw in data["orders"]:
            order = Order.from_dict(raw)
            self._orders[order.client_order_id] = order
        self._time = int(data["time"])
        self._last = _nan_if_none(data["last"])
        self._mark = _nan_if_none(data["mark"])
        self._bid = _nan_if_none(data["bid"])
        self._ask = _nan_if_none(data["ask"])
        self._has_mark = bool(data["has_mark"])
        self._next_trade = int(data["next_trade"])
        self._next_order = int(data["next_order"])
        self._next_autoclose = int(data["next_autoclose"])
        self._update_triggers()


def _opt_float(value: float) -> float | None:
    return None if math.isnan(value) else value


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)
