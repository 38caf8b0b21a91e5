"""``BotCore``: one strategy instance with its candles, portfolio and risk gate. No I/O.

Feeding (the backtest driver or the live service calls these; all synchronous)::

    bot = BotCore(bot_id, instrument, "15m", strategy, execution, capital=Decimal(1000))
    bot.restore(snapshot)                 # optional: resume exactly after a restart
    bot.load_history(candles)             # past closed candles, no hooks called
    bot.start()                           # strategy.on_start()
    bot.on_price(time_ms, price)          # every trade price (backtests: every 1m close)
    bot.on_mark_price(time_ms, mark)      # USD-M mark price
    bot.on_book_ticker(time_ms, bid, ask)
    bot.on_forming_candle(candle)         # the unclosed candle, when the feed has it
    bot.on_candle_closed(candle)          # a closed candle of the bot's interval
    bot.on_funding(time_ms, rate, mark)   # a funding payment (USD-M)
    bot.stop()

A simulated execution client must see each price *before* the bot (so a market order fills at
the price that triggered it): ``sim.on_price(t, p); bot.on_price(t, p)``.

Orders: strategy command -> ``submit_order`` (size from quote amount, round to the filters) ->
``OrderIntent`` with a deterministic client order id -> ``IntentCreated`` event (persist it!) ->
risk gate -> ``ExecutionClient.submit``. Execution events come back through
``on_order_event`` (the client's sink), update the order (state machine) and the portfolio at
once; the strategy's ``on_order``/``on_fill`` are called after the current hook returns, so a
simulated fill never re-enters a strategy mid-hook, exactly as a live fill would arrive later.
What nobody listens to is not built: without an ``events`` sink (a backtest) the per-order
events are skipped, and a hook the strategy keeps as the base class's no-op is never queued.

Risk: every order passes ``self.risk`` (``RiskGate``); a refusal is logged and reported as a
``RiskRejected`` event. The price-driven limits (stop loss, take profit, trailing stop, daily
target/loss, maximum drawdown) are watched by ``self.risk_monitor`` (``RiskMonitor``), which
``on_price`` consults only when the price leaves its quiet zone (a bot without such limits
does not even pay for that test: its ``on_price`` is the plain one). The engine enforces them
itself: an exit is a reduce-only market order tagged ``risk:<rule>`` (it passes while the bot
is paused, too); the daily rules block new positions until the next UTC midnight; the
drawdown kill switch cancels the bot's orders, exits, trips the gate's kill switch (HALTED)
and pauses the bot. The kill switch survives ``snapshot``/``restore``; ``resume_trading()``
lifts it (``halt_trading`` trips it by hand).

Persistence: ``snapshot()`` returns the whole bot state as JSON-able data and ``restore()``
reloads it before ``start()``; a simulated account is snapshotted by its own client
(``SimulatedExchange.snapshot``), the service stores both side by side.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from binbot.domain.candle import Candle
from binbot.domain.fills import Fill
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market, interval_ms
from binbot.domain.orders import (
    BUY,
    GTC,
    LIMIT,
    MARKET,
    REJECTED,
    SELL,
    SUBMITTED,
    TERMINAL,
    ZERO,
    Order,
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from binbot.domain.values import builder
from binbot.engine.client_ids import ClientOrderIds
from binbot.engine.events import (
    BotEvent,
    BotEventSink,
    FillRecorded,
    IntentCreated,
    OrderUpdated,
    RiskRejected,
    RiskTriggered,
    StatusChanged,
    StrategyErrored,
)
from binbot.engine.portfolio import Portfolio
from binbot.engine.risk import RiskGate, RiskInput, RiskLimits
from binbot.engine.risk_monitor import RiskAction, RiskMonitor
from binbot.ports.execution import ExecutionClient
from binbot.strategy.base import Strategy
from binbot.strategy.candles import CandleSeries
from binbot.strategy.context import PositionView
from binbot.strategy.safe import DEFAULT_MAX_CONSECUTIVE_ERRORS, HookGuard, StrategyFailure

SNAPSHOT_VERSION: Final = 1
_NAN: Final = math.nan
_INF: Final = math.inf
_RECENT_ORDERS: Final = 200
# The value classes built for every order, without the type call (``values.builder``).
_new_intent: Final = builder(OrderIntent)
_new_event: Final = builder(OrderEvent)
_new_risk_input: Final = builder(RiskInput)


class BotStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


# Module names for the statuses the per-candle and per-order paths test (an enum member read
# through its class is an unspecialised lookup on Python 3.11; see ``binbot.domain.orders``).
_RUNNING: Final = BotStatus.RUNNING
_PAUSED: Final = BotStatus.PAUSED
_USDM: Final = Market.USDM


def _ignore(event: BotEvent) -> None:
    """Default event sink."""


def _decimal(value: Decimal | float | int | None) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number, was {value}")
        return Decimal(repr(value))
    return Decimal(value)


class BotCore:
    """The synchronous heart of a bot (see the module docstring)."""

    def __init__(
        self,
        bot_id: str,
        instrument: Instrument,
        interval: str,
        strategy: Strategy,
        execution: ExecutionClient,
        *,
        capital: Decimal,
        leverage: int = 1,
        risk_limits: RiskLimits | None = None,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        events: BotEventSink | None = None,
        candle_capacity: int = 1000,
        max_trades: int | None = 10_000,
        recent_orders: int = _RECENT_ORDERS,
    ) -> None:
        self._interval_ms = interval_ms(interval)
        self._bot_id = bot_id
        self._instrument = instrument
        self._interval = interval
        self._strategy = strategy
        self._execution = execution
        self._events: BotEventSink = events or _ignore
        # Without a sink the per-order events (intent, order updates, fills) are not even
        # built: a backtest reads the portfolio and ``rejected_orders`` instead.
        self._publish = events is not None
        self.rejected_orders = 0  # orders the risk gate or the execution client refused
        self.log = logging.getLogger(f"binbot.bot.{bot_id}")
        self.portfolio = Portfolio(instrument.market, instrument.symbol, capital, leverage,
                                   max_trades=max_trades)
        limits = risk_limits or RiskLimits()
        self.risk = RiskGate(instrument, limits)
        self.risk_monitor = RiskMonitor(limits)
        self.risk_monitor.on_position(0.0, 0.0, float(capital))
        # The monitor's quiet zone, copied here for on_price (see the module docstring).
        self._risk_lo = self.risk_monitor.lo
        self._risk_hi = self.risk_monitor.hi
        self._risk_until = self.risk_monitor.until
        self._protective = False  # an engine exit is being sent (passes while paused)
        self._exit_cid = ""  # the engine's last exit order
        if self.risk_monitor.active:
            # Only bots with price-driven limits pay for watching them on every price.
            self.on_price = self._on_price_watched  # type: ignore[method-assign]
        self._candles = CandleSeries(candle_capacity)
        self._forming: Candle | None = None
        self._time = 0
        self._price = _NAN
        self._decimal_of = _NAN  # the price ``_last_dec`` is the Decimal of (a cache)
        self._last_dec = Decimal(0)
        self._mark = _NAN
        self._bid = _NAN
        self._ask = _NAN
        self._status = BotStatus.CREATED
        self._status_reason = ""
        self._resume_paused = False
        self._orders: dict[str, Order] = {}
        # The last terminal orders, for inspection (``recent_orders``). A backtest keeps none:
        # nobody reads them there, and an order freed 200 orders after it ended is freed from
        # memory long gone cold (about 1 us an order, 3.5 % of an intrabar BOLL run).
        if recent_orders < 0:
            raise ValueError(f"recent_orders must be >= 0, was {recent_orders}")
        self._recent: deque[Order] = deque(maxlen=recent_orders)
        self._intent_seq = 0
        self._client_order_id = ClientOrderIds(self._bot_id)  # by intent seq, in batches
        self._pending: deque[tuple[Callable[[Any], None], Any]] = deque()
        self._in_hook = False
        self._in_command = 0
        self._draining = False
        self._guard = HookGuard(strategy.log, max_consecutive_errors=max_consecutive_errors,
                                on_failure=self._report_failure, on_trip=self._trip)
        self._trade_hook: Callable[[float], None] | None = None
        # The order hooks a strategy keeps as the base class's no-ops are never queued (and
        # the order snapshot for ``on_order`` is not taken).
        self._order_hook = (strategy.on_order if type(strategy).on_order is not Strategy.on_order
                            else None)
        # The states the strategy asked to hear about (``Strategy.order_updates``).
        self._order_statuses = (frozenset(OrderStatus) if strategy.order_updates is None
                                else strategy.order_updates)
        # Whether anyone hears of an order's SUBMITTED step (the sink or ``on_order``): when
        # nobody does, ``_send`` moves the order there without building an event.
        self._tell_submitted = self._publish or (self._order_hook is not None
                                                 and SUBMITTED in self._order_statuses)
        self._fill_hook = (strategy.on_fill if type(strategy).on_fill is not Strategy.on_fill
                           else None)
        # What ``quiet_band`` may rely on: the base class's on_price does nothing; a
        # strategy's quiet band holds for the on_price it names (not for a subclass's).
        on_price = type(strategy).on_price
        self._idle_on_price = on_price is Strategy.on_price
        self._band_promised = on_price is type(strategy).quiet_band_of
        self._mark_hook: Callable[[float], None] | None = None
        self._book_hook: Callable[[float], None] | None = None
        strategy.bind(self, logging.getLogger(f"binbot.strategy.{strategy.name}.{bot_id}"))
        execution.bind(self.on_order_event)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def status(self) -> BotStatus:
        return self._status

    @property
    def status_reason(self) -> str:
        return self._status_reason

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    def load_history(self, candles: Iterable[Candle]) -> None:
        """Append past closed candles without calling any hook (before ``start``)."""
        for candle in candles:
            if candle.closed:
                self._candles.append(candle)

    def start(self) -> None:
        """Start (or restart after ``restore``) the strategy; a bot restored while paused stays
        paused until ``resume``, one whose kill switch is tripped until ``resume_trading``."""
        monitor = self.risk_monitor
        if monitor.active:
            candles = self._candles
            monitor.warm(candles.high.tolist(), candles.low.tolist(), candles.close.tolist())
            self._sync_risk()
        if self._resume_paused or self.risk.kill_switch:
            reason = self._kill_reason() if self.risk.kill_switch else self._status_reason
            self._set_status(_PAUSED, reason)
            return
        self._set_status(_RUNNING, "")
        self._call("on_start", self._strategy.on_start, None)
        self._drain()

    def pause(self, reason: str) -> None:
        """Stop calling the strategy (orders stay as they are)."""
        if self._status is _RUNNING:
            self._set_status(_PAUSED, reason)

    def resume(self) -> None:
        """Resume a paused bot: the strategy gets ``on_start`` again. A tripped kill switch
        keeps the bot paused: lift it with ``resume_trading``."""
        if self.risk.kill_switch:
            self.log.warning("bot %s stays paused: %s (use resume_trading)", self._bot_id,
                             self._kill_reason())
            return
        if self._status is _PAUSED:
            self._resume_paused = False
            self._guard.succeeded()
            self.start()

    def stop(self) -> None:
        if self._status is BotStatus.STOPPED:
            return
        if self._status is _RUNNING:
            self._call("on_stop", self._strategy.on_stop, None)
        self._set_status(BotStatus.STOPPED, "stopped")
        self._drain()

    # -- market feed (hot path) ----------------------------------------------------------

    def on_price(self, time_ms: int, price: float) -> None:
        """A trade price. Kept lean: backtests call it for every 1m bar. (A bot with
        price-driven risk limits runs ``_on_price_watched`` under this name instead.)"""
        self._time = time_ms
        self._price = price
        hook = self._trade_hook
        if hook is None:
            return
        self._in_hook = True
        try:
            hook(price)
        except Exception as e:
            self._guard.failed("on_price", e)
        else:
            if self._guard.errors:
                self._guard.succeeded()
        self._in_hook = False
        if self._pending:
            self._drain()

    def record_price(self, time_ms: int, price: float) -> None:
        """What ``on_price`` does for a price inside ``quiet_band``: keep the time and price."""
        self._time = time_ms
        self._price = price

    def _on_price_watched(self, time_ms: int, price: float) -> None:
        """``on_price`` with the risk monitor's quiet-zone test in front (the same body
        repeated: a call to the plain one would cost more than the test)."""
        if not self._risk_lo < price < self._risk_hi or time_ms >= self._risk_until:
            self._risk_price(time_ms, price)
        self._time = time_ms
        self._price = price
        hook = self._trade_hook
        if hook is None:
            return
        self._in_hook = True
        try:
            hook(price)
        except Exception as e:
            self._guard.failed("on_price", e)
        else:
            if self._guard.errors:
                self._guard.succeeded()
        self._in_hook = False
        if self._pending:
            self._drain()

    def quiet_band(self) -> tuple[float, float]:
        """``(low, high)``: for ``low < price < high``, ``on_price(t, price)`` only records the
        time and the price, until the next call that does more. A replay may skip such calls
        as long as it makes the last one before feeding anything else (a candle, a funding).

        Empty while a risk monitor watches prices (its exits compare with the previous
        price), while strategy errors are being counted (a successful hook resets the count)
        or hooks are pending; the whole line when no trade hook is routed (or the strategy
        keeps the base class's no-op ``on_price``); else the strategy's own quiet band.
        """
        if self.risk_monitor.active or self._guard.errors or self._pending:
            return _INF, -_INF
        if self._trade_hook is None or self._idle_on_price:
            return -_INF, _INF
        if not self._band_promised:
            return _INF, -_INF
        strategy = self._strategy
        return strategy.quiet_low, strategy.quiet_high

    def on_mark_price(self, time_ms: int, mark: float) -> None:
        self._time = time_ms
        self._mark = mark
        if self._mark_hook is not None:
            self._call("on_price", self._mark_hook, mark)
            self._drain()

    def on_book_ticker(self, time_ms: int, bid: float, ask: float) -> None:
        self._time = time_ms
        self._bid = bid
        self._ask = ask
        if self._book_hook is not None:
            self._call("on_price", self._book_hook, (bid + ask) / 2)
            self._drain()

    def on_forming_candle(self, candle: Candle) -> None:
        if not candle.closed:
            self._forming = candle

    def on_candle_closed(self, candle: Candle) -> None:
        """A closed candle of the bot's interval; older or repeated candles are ignored."""
        if not candle.closed:
            raise ValueError(f"candle at {candle.open_time} is not closed")
        if not self._candles.append(candle):
            return
        self._forming = None
        if candle.close_time > self._time:
            self._time = candle.close_time
        if self.risk_monitor.active:
            self.risk_monitor.on_candle(candle.high, candle.low, candle.close)
            self._sync_risk()
        if self._status is _RUNNING:
            # ``_call`` inlined: this runs for every closed candle of every backtest.
            was_in_hook = self._in_hook
            self._in_hook = True
            try:
                self._strategy.on_candle(candle)
            except Exception as e:
                self._guard.failed("on_candle", e)
            else:
                if self._guard.errors:
                    self._guard.succeeded()
            finally:
                self._in_hook = was_in_hook
        if self._pending:
            self._drain()

    def on_funding(self, time_ms: int, rate: Decimal, mark: float | None = None) -> Decimal:
        """Book a funding payment at ``rate``; return the amount received."""
        self._time = time_ms
        reference = mark if mark is not None else self._mark_or_last()
        if math.isnan(reference):
            return Decimal(0)
        amount = self.portfolio.apply_funding(Decimal(repr(reference)), rate)
        self._risk_position()
        return amount

    # -- execution events ----------------------------------------------------------------

    def on_order_event(self, event: OrderEvent) -> None:
        """The execution client's sink."""
        order = self._orders.get(event.client_order_id)
        if order is None:
            if event.fill is None:
                self.log.info("ignoring event for unknown order %s", event.client_order_id)
                return
            order = self._external_order(event.fill)
        self._apply(order, event)
        if not self._in_hook and not self._in_command:
            self._drain()

    def _apply(self, order: Order, event: OrderEvent) -> None:
        if not order.apply(event):
            self.log.debug("ignored %s for %s in %s", event.status, order.client_order_id,
                           order.status)
            return
        fill = event.fill
        if fill is not None:
            legs = self.portfolio.apply_fill(fill)
            if self.risk_monitor.active:
                self._risk_position()
            if self._publish:
                self._events(FillRecorded(self._bot_id, fill, tuple(legs)))
            if self._fill_hook is not None:
                self._pending.append((self._fill_hook, fill))
        status = order.status
        if status is REJECTED:
            self.rejected_orders += 1
        if status in TERMINAL:
            self._orders.pop(order.intent.client_order_id, None)
            self._recent.append(order)
        hook = self._order_hook if status in self._order_statuses else None
        if self._publish or hook is not None:
            # A copy: by the time anyone reads this change the order may have moved on.
            seen = order.copy()
            if self._publish:
                self._events(OrderUpdated(self._bot_id, event.time, seen))
            if hook is not None:
                self._pending.append((hook, seen))

    def _external_order(self, fill: Fill) -> Order:
        intent = OrderIntent(
            bot_id=self._bot_id, intent_seq=-1, client_order_id=fill.client_order_id,
            market=self._instrument.market, symbol=fill.symbol, side=OrderSide(fill.side),
            type=MARKET, quantity=fill.quantity, created_time=fill.time,
            tag="external",
        )
        order = Order(intent, status=OrderStatus.EXTERNAL)
        self._orders[order.client_order_id] = order
        return order

    # -- StrategyContext: views ----------------------------------------------------------

    @property
    def bot_id(self) -> str:
        return self._bot_id

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    @property
    def market(self) -> Market:
        return self._instrument.market

    @property
    def interval(self) -> str:
        return self._interval

    @property
    def time(self) -> int:
        return self._time

    @property
    def price(self) -> float:
        return self._price

    @property
    def mark_price(self) -> float:
        return self._mark

    @property
    def best_bid(self) -> float:
        return self._bid

    @property
    def best_ask(self) -> float:
        return self._ask

    @property
    def candles(self) -> CandleSeries:
        return self._candles

    @property
    def forming(self) -> Candle | None:
        return self._forming

    @property
    def position(self) -> PositionView:
        p = self.portfolio.position
        price = self._valuation_price()
        return PositionView(
            side="long" if p.quantity > 0 else "short" if p.quantity < 0 else "flat",
            quantity=p.quantity,
            entry_price=p.entry_price,
            unrealised_pnl=p.unrealised_pnl(price) if price is not None else Decimal(0),
            realised_pnl=p.realised_pnl,
            fees=p.fees,
            leverage=self.portfolio.leverage,
            liquidation_price=self.portfolio.liquidation_price(),
        )

    @property
    def capital(self) -> Decimal:
        return self.portfolio.capital

    @property
    def balance(self) -> Decimal:
        return self.portfolio.balance

    @property
    def equity(self) -> Decimal:
        return self.portfolio.equity(self._valuation_price())

    def open_orders(self) -> list[Order]:
        return [o for o in self._orders.values() if o.is_open]

    @property
    def recent_orders(self) -> list[Order]:
        """The last terminal orders, oldest first (bounded)."""
        return list(self._recent)

    # -- StrategyContext: commands -------------------------------------------------------

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
        """Size, round, risk-check and send an order (see ``StrategyContext``)."""
        inst = self._instrument
        buy = side is BUY
        limit = stop = None
        if price is not None:
            limit = inst.round_price(_decimal(price), buy=buy)  # type: ignore[arg-type]
        if stop_price is not None:
            stop = inst.round_price(_decimal(stop_price), buy=buy)  # type: ignore[arg-type]
        reference = limit or stop or self._last_decimal()
        qty = quantity if type(quantity) is Decimal else _decimal(quantity)
        if qty is None:
            amount = _decimal(quote_amount)
            if amount is None or reference is None or reference <= 0:
                self.log.warning("order not formed: needs quantity or quote_amount and a price")
                return None
            qty = amount / reference
        qty = inst.round_qty(qty, market_order=type_ is not LIMIT)
        if qty <= ZERO:
            self.log.warning("order not formed: quantity rounds to zero (step %s)", inst.step_size)
            return None
        seq = self._intent_seq
        intent = _new_intent(  # positional: bot_id, intent_seq, client_order_id, ... tag
            self._bot_id, seq, self._client_order_id(seq), inst.market,
            inst.symbol, side, type_, qty, self._time, limit, stop, time_in_force, reduce_only,
            tag,
        )
        self._intent_seq = seq + 1
        return self._send(intent, reference)

    def close_position(self, *, price: Decimal | float | int | None = None,
                       tag: str = "") -> Order | None:
        qty = self.portfolio.position.quantity
        if qty == ZERO:
            return None
        side = SELL if qty > ZERO else BUY
        kind = MARKET if price is None else LIMIT
        return self.submit_order(
            side, kind, quantity=abs(qty), price=price,
            reduce_only=self._instrument.market is _USDM,
            time_in_force=None if price is None else GTC, tag=tag,
        )

    def submit_protective(self, side: OrderSide, type_: OrderType, *, quantity: Decimal,
                          stop_price: Decimal | None = None, tag: str) -> Order | None:
        """An order that protects the position (a resting stop loss or take profit, a live
        session's exit): sent like the engine's own risk exits, so it passes while the bot is
        paused; it must reduce the position (the risk gate refuses it otherwise)."""
        self._protective = True
        try:
            return self.submit_order(side, type_, quantity=quantity, stop_price=stop_price,
                                     reduce_only=self._instrument.market is _USDM, tag=tag)
        finally:
            self._protective = False

    def cancel(self, client_order_id: str) -> None:
        order = self._orders.get(client_order_id)
        if order is None or not order.is_open:
            return
        self._in_command += 1
        try:
            self._execution.cancel(client_order_id)
        finally:
            self._in_command -= 1
        if not self._in_hook:
            self._drain()

    def _send(self, intent: OrderIntent, reference: Decimal | None) -> Order:
        order = Order(intent)
        cid = intent.client_order_id
        self._orders[cid] = order
        if self._publish:
            self._events(IntentCreated(self._bot_id, intent))
        status = self._status
        portfolio = self.portfolio
        risk = self.risk
        rejection = risk.admit(intent, _new_risk_input(  # running, price, position, capital, ...
            status is _RUNNING or (self._protective and status is _PAUSED),
            reference if reference is not None else ZERO,
            portfolio.position.quantity,
            portfolio.capital,
            portfolio.leverage,
            # A reduce-only order passes before the checks that read the equity.
            None if intent.reduce_only else self.equity,
            self._time,
        ))
        if rejection is not None:
            self.log.warning("order %s (%s %s %s) rejected by the risk gate [%s]: %s", cid,
                             intent.side.value, intent.quantity, intent.tag or intent.type.value,
                             rejection.rule, rejection.reason)
            self._events(RiskRejected(self._bot_id, self._time, intent, rejection.rule,
                                      rejection.reason))
            self._apply(order, _new_event(cid, REJECTED, self._time,
                                          reason=rejection.reason))
        else:
            if self._tell_submitted:
                self._apply(order, _new_event(cid, SUBMITTED, self._time))
            else:
                order.submitted(self._time)
            self._in_command += 1
            try:
                self._execution.submit(intent)
            finally:
                self._in_command -= 1
        if not self._in_hook:
            self._drain()
        return order

    # -- risk ----------------------------------------------------------------------------

    @property
    def kill_switch(self) -> str:
        """Why the kill switch tripped; "" when it has not."""
        return self.risk.kill_switch

    def halt_trading(self, reason: str, *, flatten: bool = True) -> None:
        """Trip the kill switch by hand: cancel open orders, exit (``flatten``), go HALTED and
        pause, exactly as the drawdown limit does; it survives restarts until
        ``resume_trading``."""
        self._kill("kill_switch", reason or "kill switch", flatten=flatten)
        self._drain()

    def reset_kill_switch(self) -> None:
        """Lift the kill switch (the bot stays paused; ``resume`` or ``resume_trading`` next).
        The drawdown limit then measures from the equity now."""
        if not self.risk.kill_switch:
            return
        self.log.warning("bot %s: kill switch reset (was: %s)", self._bot_id,
                         self.risk.kill_switch)
        self.risk.reset_kill_switch()
        price = self._mark_or_last()
        monitor = self.risk_monitor
        monitor.reset(monitor.equity(price) if not math.isnan(price) else monitor.base)
        self._sync_risk()

    def resume_trading(self) -> None:
        """The manual resume after the kill switch: lift it and resume the paused bot."""
        self.reset_kill_switch()
        if self._status is _PAUSED:
            self.resume()

    def _kill_reason(self) -> str:
        return f"kill switch: {self.risk.kill_switch}"

    def _risk_price(self, time_ms: int, price: float) -> None:
        """A price outside the monitor's quiet zone (or a new UTC day): apply the limits."""
        previous = self._price
        self._time = time_ms
        self._price = price
        if self._status is _RUNNING or self._status is _PAUSED:
            for action in self.risk_monitor.evaluate(time_ms, price, previous):
                self._risk_act(action)
        self._sync_risk()

    def _risk_act(self, action: RiskAction) -> None:
        if action.kind == "unblock":
            if self.risk.block_reason:
                self.log.info("bot %s: new UTC day, new positions allowed again", self._bot_id)
            self.risk.clear_block()
            return
        if action.kind == "halt":
            self._kill(action.rule, action.reason, flatten=action.flatten)
            return
        self.log.warning("bot %s: %s: %s", self._bot_id, action.rule, action.reason)
        self._events(RiskTriggered(self._bot_id, self._time, action.rule, action.kind,
                                   action.reason))
        if action.kind == "block":
            self.risk.block_entries(action.reason, action.until)
        if action.flatten:
            self._risk_flatten(action.rule)

    def _kill(self, rule: str, reason: str, *, flatten: bool) -> None:
        self.log.error("bot %s: kill switch (%s): %s", self._bot_id, rule, reason)
        self._events(RiskTriggered(self._bot_id, self._time, rule, "halt", reason))
        for order in self.open_orders():
            self.cancel(order.client_order_id)
        if flatten:
            self._risk_flatten(rule)
        self.risk.trip_kill_switch(reason)
        self.risk_monitor.halt()
        self._sync_risk()
        if self._status is _RUNNING:
            self.pause(self._kill_reason())

    def _risk_flatten(self, rule: str) -> None:
        """Exit the whole position with a market order, unless the last exit is still open."""
        if self.portfolio.position.quantity == 0:
            return
        pending = self._orders.get(self._exit_cid)
        if pending is not None and pending.is_open:
            return
        self._protective = True
        try:
            order = self.close_position(tag=f"risk:{rule}")
        finally:
            self._protective = False
        if order is not None:
            self._exit_cid = order.client_order_id

    def _position_floats(self) -> tuple[float, float, float]:
        """(signed quantity, entry price, equity base) of the ledger, as floats."""
        p = self.portfolio.position
        base = self.portfolio.capital + p.realised_pnl - p.fees + p.funding
        return float(p.quantity), float(p.entry_price), float(base)

    def _risk_position(self) -> None:
        if self.risk_monitor.active:
            self.risk_monitor.on_position(*self._position_floats())
            self._sync_risk()

    def _sync_risk(self) -> None:
        monitor = self.risk_monitor
        self._risk_lo = monitor.lo
        self._risk_hi = monitor.hi
        self._risk_until = monitor.until

    # -- internals -----------------------------------------------------------------------

    def _call(self, name: str, hook: Callable[[Any], None] | Callable[[], None],
              arg: Any) -> None:
        was_in_hook = self._in_hook
        self._in_hook = True
        try:
            if arg is None:
                hook()  # type: ignore[call-arg]
            else:
                hook(arg)  # type: ignore[call-arg]
        except Exception as e:
            self._guard.failed(name, e)
        else:
            if self._guard.errors:
                self._guard.succeeded()
        finally:
            self._in_hook = was_in_hook

    def _drain(self) -> None:
        if self._draining or self._in_hook:
            return
        self._draining = True
        pending = self._pending
        guard = self._guard
        try:
            while pending:
                hook, arg = pending.popleft()
                if self._status is not _RUNNING:
                    continue
                # ``_call`` inlined (this runs for every order update): not in a hook here.
                self._in_hook = True
                try:
                    if arg is None:
                        hook()  # type: ignore[call-arg]
                    else:
                        hook(arg)
                except Exception as e:
                    guard.failed(hook.__name__, e)
                else:
                    if guard.errors:
                        guard.succeeded()
                finally:
                    self._in_hook = False
        finally:
            self._draining = False

    def _route(self) -> None:
        running = self._status is _RUNNING
        source = self._strategy.price_source
        hook = self._strategy.on_price
        self._trade_hook = hook if running and source == "trade" else None
        self._mark_hook = hook if running and source == "mark" else None
        self._book_hook = hook if running and source == "book_mid" else None

    def _set_status(self, status: BotStatus, reason: str) -> None:
        self._status = status
        self._status_reason = reason
        self._route()
        self._events(StatusChanged(self._bot_id, self._time, status.value, reason))

    def _report_failure(self, failure: StrategyFailure) -> None:
        self._events(StrategyErrored(self._bot_id, self._time, failure))

    def _trip(self, reason: str) -> None:
        self.log.error("pausing bot %s: %s", self._bot_id, reason)
        self.pause(reason)

    def _last_decimal(self) -> Decimal | None:
        price = self._price
        # NaN never equals: no price yet, or a new one (0.0 == -0.0, but their reprs differ)
        if price != self._decimal_of or not price:
            if math.isnan(price):
                return None
            self._decimal_of = price
            self._last_dec = Decimal(repr(price))
        return self._last_dec

    def _mark_or_last(self) -> float:
        return self._price if math.isnan(self._mark) else self._mark

    def _valuation_price(self) -> Decimal | None:
        if math.isnan(self._mark):
            return self._last_decimal()  # the same Decimal, remembered
        return Decimal(repr(self._mark))

    # -- persistence ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole bot state as JSON-able data (see ``restore``)."""
        state = self._strategy.save_state()
        json.dumps(state)  # fail here, loudly, if a strategy stored something unserialisable
        candles = self._candles
        return {
            "version": SNAPSHOT_VERSION,
            "bot_id": self._bot_id,
            "strategy": {
                "name": self._strategy.name,
                "params": self._strategy.params.model_dump(mode="json"),
                "state": state,
            },
            "status": self._status.value,
            "status_reason": self._status_reason,
            "risk": {**self.risk.snapshot(), "monitor": self.risk_monitor.snapshot()},
            "errors": self._guard.errors,
            "intent_seq": self._intent_seq,
            "time": self._time,
            "prices": [_json_float(v) for v in (self._price, self._mark, self._bid, self._ask)],
            "portfolio": self.portfolio.snapshot(),
            "orders": [o.to_dict() for o in self._orders.values()],
            "candles": {
                "open_time": candles.open_time.tolist(),
                "ohlcv": [c.tolist() for c in (candles.open, candles.high, candles.low,
                                               candles.close, candles.volume)],
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Reload a ``snapshot`` (before ``start``)."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version, was {data.get('version')!r}")
        if data["bot_id"] != self._bot_id or data["strategy"]["name"] != self._strategy.name:
            raise ValueError(
                f"snapshot of {data['bot_id']}/{data['strategy']['name']} restored into "
                f"{self._bot_id}/{self._strategy.name}"
            )
        self._strategy.restore_state(data["strategy"]["state"])
        status = BotStatus(data["status"])
        self._resume_paused = status is _PAUSED
        self._status_reason = str(data["status_reason"])
        self.risk.restore(data["risk"])
        self._guard.errors = int(data["errors"])
        self._intent_seq = int(data["intent_seq"])
        self._time = int(data["time"])
        self._price, self._mark, self._bid, self._ask = (
            _NAN if v is None else float(v) for v in data["prices"]
        )
        self.portfolio.restore(data["portfolio"])
        monitor = data["risk"].get("monitor")
        if monitor is not None:
            self.risk_monitor.restore(monitor)
            q, entry, base = self._position_floats()
            self.risk_monitor.restore_position(q, entry, base)
        else:  # an older snapshot: levels from the position as it is now
            self._risk_position()
        if self.risk.kill_switch:
            self.risk_monitor.halt()
        self._sync_risk()
        self._orders = {}
        for raw in data["orders"]:
            order = Order.from_dict(raw)
            self._orders[order.client_order_id] = order
        self._candles = CandleSeries(self._candles.capacity)
        times = data["candles"]["open_time"]
        columns = data["candles"]["ohlcv"]
        for i, open_time in enumerate(times):
            self._candles.append(Candle(
                market=self.market, symbol=self._instrument.symbol, interval=self._interval,
                open_time=open_time, close_time=open_time + self._interval_ms - 1,
                open=columns[0][i], high=columns[1][i], low=columns[2][i], close=columns[3][i],
                volume=columns[4][i], quote_volume=0.0, trades=0, taker_buy_volume=0.0,
                taker_buy_quote_volume=0.0, closed=True,
            ))


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value
