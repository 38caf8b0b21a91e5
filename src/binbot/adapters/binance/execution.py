"""``BinanceExecutionClient``: the ExecutionClient port on Binance spot or USD-M.

``submit``/``cancel`` only queue; one sender task sends the requests in order and reports
through the bound sink (reliability.md §1):

- invalid orders are rejected locally with the reason (REJECTED, nothing sent);
- an ambiguous send (timeout, 5xx, -1006, -1007, USD-M 503 "Unknown error") is UNKNOWN: new
  submits on that symbol wait while a resolver queries ``origClientOrderId`` (tolerating -2013
  for a grace window, at most ``len(resolve_delays_s)`` "absent" answers) and then adopts the
  real state or reports NOT_SENT; nothing is ever resent blindly;
- -4116 and -2010 "Duplicate order sent." mean the order exists: query and adopt;
- -4120 disables that order type; 418, 429, config faults and a persisting -1021 raise an
  ``ExecutionAlarm`` on the account sink (418 and config faults halt trading);
- fills are applied once per trade id, whether they come from a REST answer, a trade query or
  the user stream (``handle_user_event``).

``ExecutionOptions(order_transport="ws_api", ws_api_url=endpoints.ws_api_usdm)`` places and
cancels regular USD-M orders over the WebSocket API (``WsApiOrders``, sharing the REST
transport's key, session, clock and weight gate); every rule above holds unchanged, and
queries, resolvers, trades, algo orders and reconciliation stay on REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.order_params import CONDITIONAL, build_order
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.user_decoder import UserItem
from binbot.adapters.binance.ws_api import WsApiOrderTransport
from binbot.adapters.binance.ws_api_orders import WsApiOrders
from binbot.domain.account import (
    AccountEvent,
    AccountUpdate,
    AlarmKind,
    Balance,
    BalanceDelta,
    ExecutionAlarm,
    PositionSnapshot,
    UserStreamReconnected,
)
from binbot.domain.errors import (
    ConfigFault,
    ExchangeError,
    IPBanned,
    RateLimited,
    Rejected,
    TimestampError,
)
from binbot.domain.fills import Fill
from binbot.domain.instrument import FilterViolation, Instrument
from binbot.domain.market import Market
from binbot.domain.orders import (
    CLIENT_ID_PREFIX,
    TERMINAL,
    Order,
    OrderEvent,
    OrderIntent,
    OrderStatus,
    OrderType,
)
from binbot.ports.execution import EventSink

log = logging.getLogger(__name__)

S = OrderStatus
ORDER_MISSING: Final = -2013  # "Order does not exist."
UNKNOWN_ORDER: Final = -2011  # "Unknown order sent." (cancel)
DUPLICATE_ID: Final = -4116  # USD-M clientOrderId duplicated
VENUE_REJECT: Final = -2010  # spot; "Duplicate order sent." means the order exists
ALGO_SWITCH: Final = -4120  # conditional type sent to /fapi/v1/order
_NOT_WORKING: Final = TERMINAL | {S.INTENT, S.NOT_SENT}

AccountSink = Callable[[AccountEvent], None]


class SetupRefused(ExchangeError):
    """The account or key is unfit for live trading (hedge mode, withdraw rights...)."""


@dataclass(frozen=True, slots=True)
class ExecutionOptions:
    """``resolve_delays_s``: waits before each query of an UNKNOWN order; its length is the
    number of "absent" answers that prove NOT_SENT. ``fill_fetch_delays_s``: waits before
    re-reading the trades of an order whose answer reported more execution than trades.
    ``order_transport``: ``"ws_api"`` sends USD-M place/cancel over the WebSocket API at
    ``ws_api_url`` (answer timeout ``ws_api_timeout_s``) instead of REST."""

    resolve_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    retry_after_error_s: float = 5.0
    fill_fetch_delays_s: tuple[float, ...] = (0.0, 1.0, 3.0)
    recent_orders: int = 2000
    foreign_trades: int = 10_000
    lost_orders: int = 1000
    own_prefix: str = CLIENT_ID_PREFIX
    order_transport: Literal["rest", "ws_api"] = "rest"
    ws_api_url: str = ""
    ws_api_timeout_s: float = 10.0


@dataclass(slots=True)
class _Tracked:
    order: Order
    is_algo: bool
    confirmed: bool = False  # the venue has shown the order exists (answer or stream)


@dataclass(frozen=True, slots=True)
class _Submit:
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class _Cancel:
    client_order_id: str


def _discard_event(event: OrderEvent) -> None:
    """Default order sink until ``bind``."""


def _discard_account(event: AccountEvent) -> None:
    """Default account sink until ``bind_account``."""


@dataclass
class _Bounded:
    """An insertion-ordered set that forgets its oldest members beyond ``size``."""

    size: int
    items: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def add(self, key: str) -> bool:
        if key in self.items:
            return False
        self.items[key] = None
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return True


class BinanceExecutionClient:
    """Orders of one account on one market (the market of ``api``)."""

    def __init__(
        self,
        api: BinanceTradingApi,
        instruments: Iterable[Instrument],
        *,
        options: ExecutionOptions | None = None,
        reference_price: Callable[[str], Decimal | None] | None = None,
    ) -> None:
        self.api = api
        self.market = api.market
        self.options = options or ExecutionOptions()
        self.instruments = {i.symbol: i for i in instruments if i.market is self.market}
        self._reference_price = reference_price
        self._sink: EventSink = _discard_event
        self._account_sink: AccountSink = _discard_account
        self._orders: dict[str, _Tracked] = {}
        self._recent: OrderedDict[str, _Tracked] = OrderedDict()
        self._by_exchange_id: OrderedDict[str, str] = OrderedDict()
        self._foreign_trades = _Bounded(self.options.foreign_trades)
        self.lost = _Bounded(self.options.lost_orders)
        self.disabled_types: set[OrderType] = set()
        self._queue: asyncio.Queue[_Submit | _Cancel] = asyncio.Queue()
        self._held: dict[str, list[OrderIntent]] = {}
        self._unresolved: dict[str, set[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        self.ws_orders = self._ws_orders(api, self.options)

    @staticmethod
    def _ws_orders(api: BinanceTradingApi, options: ExecutionOptions) -> WsApiOrders | None:
        if options.order_transport == "rest":
            return None
        if options.order_transport != "ws_api":
            raise ValueError(f"order_transport must be rest or ws_api, was "
                             f"{options.order_transport!r}")
        if api.market is not Market.USDM:
            raise ValueError("order_transport ws_api exists for USD-M only")
        if not options.ws_api_url:
            raise ValueError("order_transport ws_api needs ws_api_url (none on this venue?)")
        return WsApiOrders(WsApiOrderTransport.beside(api.transport, options.ws_api_url,
                                                      timeout_s=options.ws_api_timeout_s))

    # ------------------------------------------------------------------ ExecutionClient

    def bind(self, sink: EventSink) -> None:
        self._sink = sink

    def bind_account(self, sink: AccountSink) -> None:
        """Receives balances, positions, ``UserStreamReconnected`` and ``ExecutionAlarm``."""
        self._account_sink = sink

    def submit(self, intent: OrderIntent) -> None:
        if intent.client_order_id not in self._orders:
            self._orders[intent.client_order_id] = _Tracked(
                Order(intent), intent.type in CONDITIONAL and self._algo_market
            )
        self._enqueue(_Submit(intent))

    def cancel(self, client_order_id: str) -> None:
        self._enqueue(_Cancel(client_order_id))

    def open_orders(self) -> list[Order]:
        return [t.order for t in self._orders.values() if t.order.status not in _NOT_WORKING]

    # ------------------------------------------------------------------ lifecycle

    @property
    def _algo_market(self) -> bool:
        return self.market is Market.USDM

    def start(self) -> None:
        if self._sender is None and not self._closed:
            self._sender = asyncio.create_task(self._send_loop(), name="binance-execution")
            if self.ws_orders is not None:
                self._spawn(self._open_ws_orders(), "binance-ws-api connect")

    async def _open_ws_orders(self) -> None:
        """Connect ahead of the first order (its handshake would delay it); a failure here
        only means the first request connects itself."""
        if self.ws_orders is None:
            return
        try:
            await self.ws_orders.transport.connect()
        except ExchangeError as e:
            log.warning("WS-API order connection not open yet: %s", e)

    def _enqueue(self, request: _Submit | _Cancel) -> None:
        self._queue.put_nowait(request)
        with contextlib.suppress(RuntimeError):  # no running loop: start() comes later
            self.start()

    async def close(self) -> None:
        self._closed = True
        tasks = [t for t in (self._sender, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._sender = None
        if self.ws_orders is not None:
            await self.ws_orders.close()

    async def __aenter__(self) -> BinanceExecutionClient:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def drain(self) -> None:
        """Wait until every queued request was sent and every resolver finished (tests,
        orderly shutdown)."""
        while True:
            await self._queue.join()
            tasks = list(self._tasks)
            if tasks:
                await asyncio.wait(tasks)
            elif self._queue.empty():
                return

    def restore(self, orders: Iterable[Order]) -> None:
        """Track orders persisted before a restart so stream events and cancels find them."""
        for order in orders:
            is_algo = self._algo_market and order.intent.type in CONDITIONAL
            self._orders[order.client_order_id] = _Tracked(order, is_algo, True)
            if order.exchange_order_id:
                self._map(order.exchange_order_id, order.client_order_id)

    def apply_event(self, event: OrderEvent) -> bool:
        """Apply an event learnt by reconciliation as if the venue had sent it: a tracked
        order moves through the state machine (fills once per trade id), then the sink."""
        return self._emit(event)

    async def resync_order(self, symbol: str, client_order_id: str, algo: bool = False) -> bool:
        """Query one order and adopt what the venue reports (status, then every fill not
        applied yet, through the sink). False when the venue says it does not exist. The
        order must be tracked (``restore``) for its fills to be read."""
        try:
            view = await self._query(symbol, client_order_id, algo and self._algo_market)
        except Rejected as e:
            if e.code == ORDER_MISSING:
                return False
            raise
        tracked = self._orders.get(client_order_id)
        if tracked is not None:
            tracked.confirmed = True
        await self._adopt(client_order_id, view)
        return True

    # ------------------------------------------------------------------ emission

    def _emit(self, event: OrderEvent) -> bool:
        tracked = self._orders.get(event.client_order_id) or self._recent.get(
            event.client_order_id
        )
        if tracked is None:
            self._sink(event)
            return True
        if not tracked.order.apply(event):
            return False
        if event.exchange_order_id:
            self._map(event.exchange_order_id, event.client_order_id)
        if tracked.order.status in TERMINAL and event.client_order_id in self._orders:
            del self._orders[event.client_order_id]
            self._recent[event.client_order_id] = tracked
            while len(self._recent) > self.options.recent_orders:
                self._recent.popitem(last=False)
        self._sink(event)
        return True

    def _map(self, exchange_order_id: str, client_order_id: str) -> None:
        self._by_exchange_id[exchange_order_id] = client_order_id
        while len(self._by_exchange_id) > self.options.recent_orders * 2:
            self._by_exchange_id.popitem(last=False)

    def _alarm(self, kind: AlarmKind, reason: str, retry_after: float | None = None) -> None:
        log.error("execution alarm %s: %s", kind.value, reason)
        self._account_sink(ExecutionAlarm(self.market, self._now(), kind, reason, retry_after))

    def _now(self) -> int:
        return self.api.transport.clock.now_ms()

    def _reject(self, cid: str, reason: str) -> None:
        log.warning("order %s rejected: %s", cid, reason)
        self._emit(OrderEvent(cid, S.REJECTED, self._now(), reason=reason))

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("execution task %s failed", task.get_name(), exc_info=task.exception())

    # ------------------------------------------------------------------ sender

    async def _send_loop(self) -> None:
        while True:
            request = await self._queue.get()
            try:
                if isinstance(request, _Submit):
                    await self._place(request.intent)
                else:
                    await self._cancel(request.client_order_id)
            except Exception:  # one bad request must not stop the sender
                log.exception("execution request %r failed", request)
            finally:
                self._queue.task_done()

    async def _place(self, intent: OrderIntent) -> None:
        cid = intent.client_order_id
        tracked = self._orders.get(cid)
        if tracked is None or tracked.order.status is not S.INTENT:
            log.warning("submit of %s ignored: already %s", cid,
                        "done" if tracked is None else tracked.order.status.value)
            return
        if self._unresolved.get(intent.symbol):
            self._held.setdefault(intent.symbol, []).append(intent)
            return
        instrument = self.instruments.get(intent.symbol)
        if instrument is None:
            self._reject(cid, f"no exchangeInfo for {intent.market.value} {intent.symbol}")
            return
        if intent.type in self.disabled_types:
            self._reject(cid, f"order type {intent.type.value} disabled after -4120")
            return
        reference = self._reference_price(intent.symbol) if self._reference_price else None
        try:
            request = build_order(intent, instrument, reference_price=reference)
        except FilterViolation as e:
            self._reject(cid, f"invalid order: {e}")
            return
        self._emit(OrderEvent(cid, S.SUBMITTED, self._now()))
        try:
            if self.ws_orders is not None and not request.is_algo:
                view = await self.ws_orders.place(request)
            else:
                view = await self.api.place(request)
        except Rejected as e:
            self._on_place_rejected(intent, e)
        except (IPBanned, RateLimited, TimestampError) as e:
            self._on_place_refused(intent, e)
        except ExchangeError as e:
            # UnknownOutcome, or a transient failure of a mutation: it may have executed.
            self._unknown(intent, f"outcome unknown: {e}")
        else:
            tracked.confirmed = True
            await self._adopt(cid, view)

    def _on_place_rejected(self, intent: OrderIntent, error: Rejected) -> None:
        cid = intent.client_order_id
        if isinstance(error, ConfigFault):
            self._reject(cid, f"config fault {error}")
            self._alarm(AlarmKind.CONFIG_FAULT, str(error))
        elif error.code == DUPLICATE_ID or (
            error.code == VENUE_REJECT and "duplicate order" in error.message.lower()
        ):
            # The id is taken by an open order: ours from an earlier attempt. Adopt it.
            self._unknown(intent, f"duplicate id, adopting: {error}")
        elif error.code == ALGO_SWITCH:
            self.disabled_types.add(intent.type)
            self._reject(cid, f"{error} (order type {intent.type.value} disabled)")
            self._alarm(AlarmKind.ORDER_TYPE_DISABLED,
                        f"{intent.type.value} on {self.market.value}: {error}")
        else:
            self._reject(cid, str(error))

    def _on_place_refused(self, intent: OrderIntent, error: ExchangeError) -> None:
        cid = intent.client_order_id
        self._reject(cid, str(error))
        if isinstance(error, IPBanned):
            self._alarm(AlarmKind.IP_BANNED, str(error), error.retry_after)
        elif isinstance(error, RateLimited):
            self._alarm(AlarmKind.RATE_LIMITED, str(error), error.retry_after)
        else:
            self._alarm(AlarmKind.CLOCK, f"timestamp rejected after a resync: {error}")

    # ------------------------------------------------------------------ UNKNOWN

    def _unknown(self, intent: OrderIntent, reason: str) -> None:
        cid = intent.client_order_id
        self._emit(OrderEvent(cid, S.UNKNOWN, self._now(), reason=reason))
        self._unresolved.setdefault(intent.symbol, set()).add(cid)
        self._spawn(self._resolve(intent), f"binance-resolve {cid}")

    async def _resolve(self, intent: OrderIntent) -> None:
        cid = intent.client_order_id
        delays = self.options.resolve_delays_s
        absent = 0
        try:
            while True:
                tracked = self._orders.get(cid)
                if tracked is None or tracked.confirmed:
                    return  # the stream told us first
                if absent >= len(delays):
                    self._emit(OrderEvent(cid, S.NOT_SENT, self._now(),
                                          reason=f"absent after {absent} queries"))
                    self.lost.add(cid)
                    return
                await asyncio.sleep(delays[absent])
                if tracked.confirmed:
                    return
                try:
                    view = await self._query(intent.symbol, cid, tracked.is_algo)
                except Rejected as e:
                    if e.code != ORDER_MISSING:
                        raise
                    absent += 1  # not visible (yet): Memory->Database lag is normal
                    continue
                except ExchangeError as e:
                    log.warning("resolving %s: %s; retrying", cid, e)
                    await asyncio.sleep(self.options.retry_after_error_s)
                    continue
                tracked.confirmed = True
                await self._adopt(cid, view)
                return
        finally:
            self._release(intent.symbol, cid)

    def _release(self, symbol: str, cid: str) -> None:
        waiting = self._unresolved.get(symbol)
        if waiting is not None:
            waiting.discard(cid)
            if waiting:
                return
            del self._unresolved[symbol]
        for held in self._held.pop(symbol, []):
            self._queue.put_nowait(_Submit(held))

    async def _query(self, symbol: str, cid: str, is_algo: bool) -> parse.ExchangeOrder:
        if is_algo:
            return await self.api.algo_order(cid)
        return await self.api.order(symbol, cid)

    # ------------------------------------------------------------------ adoption

    async def _adopt(self, cid: str, view: parse.ExchangeOrder) -> None:
        """Bring our order to what the venue reports, fills first (each once)."""
        oid = view.exchange_order_id
        self._map(oid, cid)
        if view.is_algo:
            await self._adopt_algo(cid, view)
            return
        if view.status is S.REJECTED:
            self._emit(OrderEvent(cid, S.REJECTED, view.time, oid, reason="rejected by venue"))
            return
        self._emit(OrderEvent(cid, S.NEW, view.time, oid))
        await self._adopt_fills(cid, view.symbol, oid, view.status, view.executed_qty,
                                view.fills)
        if view.status not in (S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.UNKNOWN):
            self._emit(OrderEvent(cid, view.status, view.time, oid))

    async def _adopt_algo(self, cid: str, view: parse.ExchangeOrder) -> None:
        oid = view.exchange_order_id
        if view.actual_order_id:
            self._map(view.actual_order_id, cid)
        if view.venue_status in ("FINISHED", "TRIGGERED") and view.actual_order_id:
            child = await self.api.order(view.symbol, order_id=view.actual_order_id)
            self._emit(OrderEvent(cid, S.NEW, view.time, oid))
            await self._adopt_fills(cid, view.symbol, child.exchange_order_id, child.status,
                                    child.executed_qty, ())
            if child.status in (S.CANCELED, S.EXPIRED):
                self._emit(OrderEvent(cid, child.status, child.time, oid))
            return
        if view.status is S.UNKNOWN:
            return
        self._emit(OrderEvent(cid, view.status, view.time, oid))

    async def _adopt_fills(self, cid: str, symbol: str, order_id: str, final: OrderStatus,
                           executed: Decimal, fills: Iterable[Fill]) -> None:
        """Emit the order's fills (from the answer, else its trades) with PARTIALLY_FILLED
        until their sum reaches ``executed`` with ``final`` FILLED."""
        pending = list(fills)
        for attempt, delay in enumerate(self.options.fill_fetch_delays_s):
            tracked = self._orders.get(cid) or self._recent.get(cid)
            if tracked is None or tracked.order.filled_qty >= executed:
                return
            if not pending or attempt > 0:
                if delay:
                    await asyncio.sleep(delay)
                try:
                    trades = await self.api.trades(symbol, order_id=order_id)
                except ExchangeError as e:
                    log.warning("trades of %s: %s", cid, e)
                    continue
                pending = [t.to_fill(cid) for t in trades if t.exchange_order_id == order_id]
            self._emit_fills(cid, pending, final, executed)
        tracked = self._orders.get(cid) or self._recent.get(cid)
        if tracked is not None and tracked.order.filled_qty < executed:
            log.error("order %s: venue reports %s executed, trades found for %s", cid,
                      executed, tracked.order.filled_qty)

    def _emit_fills(self, cid: str, fills: list[Fill], final: OrderStatus,
                    executed: Decimal) -> None:
        tracked = self._orders.get(cid) or self._recent.get(cid)
        if tracked is None:
            return
        for fill in sorted(fills, key=lambda f: (f.time, int(f.trade_id))):
            order = tracked.order
            if fill.trade_id in order.trade_ids:
                continue
            done = order.filled_qty + fill.quantity >= executed and final is S.FILLED
            status = S.FILLED if done else S.PARTIALLY_FILLED
            self._emit(OrderEvent(cid, status, fill.time, order.exchange_order_id, fill))

    # ------------------------------------------------------------------ cancel

    async def _cancel(self, cid: str) -> None:
        tracked = self._orders.get(cid)
        if tracked is None:
            log.warning("cancel of %s ignored: not an open order of this client", cid)
            return
        order = tracked.order
        symbol = order.intent.symbol
        if order.status is S.INTENT:
            held = self._held.get(symbol, [])
            self._held[symbol] = [i for i in held if i.client_order_id != cid]
            self._emit(OrderEvent(cid, S.CANCELED, self._now(), reason="canceled before send"))
            return
        try:
            if tracked.is_algo:
                view = await self.api.cancel_algo(cid)
            elif self.ws_orders is not None:
                view = await self.ws_orders.cancel(symbol, cid)
            else:
                view = await self.api.cancel(symbol, cid)
        except ConfigFault as e:
            self._alarm(AlarmKind.CONFIG_FAULT, f"cancel {cid}: {e}")
        except Rejected as e:
            if e.code not in (UNKNOWN_ORDER, ORDER_MISSING):
                log.warning("cancel of %s rejected: %s", cid, e)
                return
            await self._refresh(cid)  # raced a fill, or not visible yet: look, don't retry
        except IPBanned as e:
            self._alarm(AlarmKind.IP_BANNED, f"cancel {cid}: {e}", e.retry_after)
        except RateLimited as e:
            self._alarm(AlarmKind.RATE_LIMITED, f"cancel {cid}: {e}", e.retry_after)
        except ExchangeError as e:
            log.warning("cancel of %s: %s; querying", cid, e)
            await self._refresh(cid)
        else:
            await self._adopt(cid, view)

    async def _refresh(self, cid: str) -> None:
        tracked = self._orders.get(cid)
        if tracked is None:
            return
        try:
            view = await self._query(tracked.order.intent.symbol, cid, tracked.is_algo)
        except ExchangeError as e:
            log.warning("query of %s: %s", cid, e)
            return
        await self._adopt(cid, view)

    # ------------------------------------------------------------------ user stream

    def handle_user_event(self, item: UserItem | UserStreamReconnected) -> None:
        """The sink of a user-data stream: order updates become order events, the rest goes
        to the account sink. Never raises for one bad event."""
        if isinstance(item, parse.OrderReport):
            self._on_report(item)
        elif isinstance(item, parse.AlgoReport):
            self._on_algo(item)
        elif isinstance(item, parse.TradeNotice):
            tracked = self._orders.get(item.client_order_id)
            if tracked is not None:
                tracked.confirmed = True
        elif isinstance(item, (AccountUpdate, BalanceDelta, UserStreamReconnected)):
            self._account_sink(item)

    def _attribute(self, report: parse.OrderReport) -> str | None:
        cid = self._by_exchange_id.get(report.exchange_order_id)
        if cid is not None:
            return cid
        if report.foreign:
            return None
        raw = report.client_order_id
        if raw in self._orders or raw in self._recent or raw.startswith(self.options.own_prefix):
            return raw
        return None

    def _on_report(self, report: parse.OrderReport) -> None:
        cid = self._attribute(report)
        if cid is None:
            fill = report.fill
            if fill is not None and not self._foreign_trades.add(
                f"{report.symbol}:{fill.trade_id}"
            ):
                return
            self._sink(report.external_event())
            return
        tracked = self._orders.get(cid)
        if tracked is not None:
            tracked.confirmed = True
        if report.fill_incomplete:
            # The event lacks the trade's price or quantity: read the trades instead.
            self._spawn(self._adopt_fills(cid, report.symbol, report.exchange_order_id,
                                          report.status, report.cumulative_qty, ()),
                        f"binance-fills {cid}")
            return
        self._emit(report.event(cid))

    def _on_algo(self, report: parse.AlgoReport) -> None:
        cid = report.client_algo_id
        if report.actual_order_id:
            self._map(report.actual_order_id, cid)
        tracked = self._orders.get(cid)
        if tracked is not None:
            tracked.confirmed = True
        event = report.event()
        if event is not None:
            self._emit(event)

    # ------------------------------------------------------------------ setup

    async def prepare_symbol(self, symbol: str, *, leverage: int | None = None,
                             margin_type: str | None = "ISOLATED") -> None:
        """USD-M setup when a bot starts: one-way position mode, margin type, leverage.

        Raises ``SetupRefused`` (and alarms) when the account is in hedge mode or a setting
        is refused. Never retried automatically (these are mutations).
        """
        if not self._algo_market:
            return
        if await self.api.hedge_mode():
            reason = "account is in hedge (dual-side) position mode; binbot needs one-way"
            self._alarm(AlarmKind.SETUP, reason)
            raise SetupRefused(reason)
        try:
            if margin_type is not None:
                try:
                    await self.api.set_margin_type(symbol, margin_type)
                except Rejected as e:
                    if e.code != -4046:  # "No need to change margin type."
                        raise
            if leverage is not None:
                await self.api.set_leverage(symbol, leverage)
        except Rejected as e:
            reason = f"setup of {symbol} refused: {e}"
            self._alarm(AlarmKind.CONFIG_FAULT if isinstance(e, ConfigFault)
                        else AlarmKind.SETUP, reason)
            raise SetupRefused(reason) from e

    # ------------------------------------------------------------------ reconciliation

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        views = await self.api.open_orders(symbol)
        if self._algo_market:
            views += await self.api.open_algo_orders(symbol)
        return [v.to_order() for v in views]

    async def fetch_order(self, symbol: str, client_order_id: str,
                          algo: bool = False) -> Order | None:
        """One order by client id; None when the venue says it does not exist."""
        try:
            view = await self._query(symbol, client_order_id, algo and self._algo_market)
        except Rejected as e:
            if e.code == ORDER_MISSING:
                return None
            raise
        return view.to_order()

    async def fetch_fills(self, symbol: str, from_trade_id: int | None = None,
                          limit: int = 1000) -> list[Fill]:
        """The account's fills on ``symbol`` from ``from_trade_id`` on, each attributed to
        its client order id (queried by order id when unknown; foreign -> ``ext-<id>``)."""
        trades = await self.api.trades(symbol, from_id=from_trade_id, limit=limit)
        fills: list[Fill] = []
        for trade in trades:
            cid = self._by_exchange_id.get(trade.exchange_order_id)
            if cid is None:
                view = await self.api.order(symbol, order_id=trade.exchange_order_id)
                cid = (view.client_order_id if not view.foreign
                       else parse.external_id(view.exchange_order_id))
                self._map(trade.exchange_order_id, cid)
            fills.append(trade.to_fill(cid))
        return fills

    async def fetch_positions(self, symbol: str | None = None) -> list[PositionSnapshot]:
        return await self.api.positions(symbol)

    async def fetch_balances(self) -> list[Balance]:
        return await self.api.balances()


async def ensure_key_cannot_withdraw(spot_api: BinanceTradingApi) -> None:
    """Refuse live trading with a key that can withdraw or transfer (reliability G13).

    ``spot_api`` must talk to the spot host of a live venue: testnets have no ``/sapi``.
    """
    restrictions = await spot_api.api_restrictions()
    rights = [name for name, on in (
        ("withdrawals", restrictions.enableWithdrawals),
        ("internal transfer", restrictions.enableInternalTransfer),
        ("universal transfer", restrictions.permitsUniversalTransfer),
    ) if on]
    if rights:
        raise SetupRefused(
            "refusing live trading: the API key allows " + ", ".join(rights)
            + "; create a key with trading rights only"
        )
