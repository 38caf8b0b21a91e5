"""``Reconciler``: bring a bot's orders, fills and position in line with the exchange, at start
(before any trading) and after every user-stream reconnect (reliability.md §1 rule 4).

One run:

1. every order the bot may still have working (journaled and not terminal, or open in the
   client) is queried by its client order id and its real state adopted: status, exchange id
   and each fill not applied yet (the execution client reads the order's trades). An order we
   journaled but never got an answer for (INTENT, SUBMITTED, UNKNOWN) that stays absent over
   the grace window is NOT_SENT; an order we believed open that the exchange does not know is
   a mismatch;
2. open orders on the exchange (algo orders included) that are not ours are reported as
   EXTERNAL, never adopted or cancelled; one carrying this bot's recomputable id that the
   journal lost is adopted only with ``adopt=True``;
3. trades since the last recorded trade id: fills of our orders missing from the journal are
   applied (each once: the bot and the journal key them by trade id); foreign fills are
   reported (applied to the bot's position only with ``adopt=True``);
4. the position: the bot's quantity after all of that must equal the exchange's (USD-M). A
   difference is a mismatch, or, with ``adopt=True``, taken over as an EXTERNAL fill.

Everything is matched by client order id or trade id, never by a time window, and every step
is idempotent: running it twice changes nothing the second time. Cumulative filled quantity is
compared, not status strings. Any failure or mismatch makes ``ok`` False: the session then
keeps trading disabled (cancels still allowed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final

from binbot.adapters.binance.execution import BinanceExecutionClient
from binbot.adapters.binance.order_params import CONDITIONAL
from binbot.domain.errors import ExchangeError
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import (
    CLIENT_ID_PREFIX,
    TERMINAL,
    Order,
    OrderEvent,
    OrderStatus,
)
from binbot.services.live.records import LocalState

log = logging.getLogger(__name__)

S = OrderStatus
_UNANSWERED: Final = frozenset({S.INTENT, S.SUBMITTED, S.UNKNOWN})
_TRADE_PAGE: Final = 1000
_MAX_PAGES: Final = 100


@dataclass(slots=True)
class ReconcileReport:
    """What one run found. ``ok`` is False when anything could not be checked or disagrees."""

    checked: list[str] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    external_orders: list[str] = field(default_factory=list)
    external_fills: list[str] = field(default_factory=list)
    recovered_fills: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    local_position: Decimal | None = None
    exchange_position: Decimal | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        parts = [f"{len(self.checked)} orders checked"]
        for name in ("not_sent", "adopted", "recovered_fills", "external_orders",
                     "external_fills"):
            items = getattr(self, name)
            if items:
                parts.append(f"{name.replace('_', ' ')}: {', '.join(items)}")
        if self.problems:
            parts.append("problems: " + "; ".join(self.problems))
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class ReconcileOptions:
    """``absent_delays_s``: waits before re-asking for an unanswered order the venue does not
    show (Memory→Database lag); ``adopt``: take over what does not match instead of failing."""

    adopt: bool = False
    absent_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0)


class Reconciler:
    """Reconciles one bot on one symbol through its execution client."""

    def __init__(self, client: BinanceExecutionClient, *, bot_id: str, symbol: str,
                 load_state: Callable[[], Awaitable[LocalState]],
                 position: Callable[[], Decimal], own_id: Callable[[str], bool],
                 bot_orders: Callable[[], list[Order]] = list,
                 track: Callable[[list[Order]], None] | None = None,
                 options: ReconcileOptions | None = None) -> None:
        self.client = client
        self.bot_id = bot_id
        self.symbol = symbol
        self._load_state = load_state
        self._position = position
        self._own_id = own_id
        self._bot_orders = bot_orders
        self._track = track
        self.options = options or ReconcileOptions()
        self.runs = 0

    async def run(self, *, startup: bool) -> ReconcileReport:
        """One reconciliation. The orders checked: journaled and not finished, or open in the
        bot (``bot_orders``); at ``startup`` all are tracked afresh, later only those the
        client does not track already."""
        self.runs += 1
        report = ReconcileReport()
        try:
            state = await self._load_state()
        except Exception as e:
            report.problems.append(f"the journal could not be read: {e}")
            return report
        orders = self._to_check(state, startup)
        checked = await self._check_orders(orders, report)
        known = set(state.orders) | checked
        await self._check_open_orders(known, report)
        await self._check_trades(state, checked, report)
        await self._check_position(report)
        log.log(logging.INFO if report.ok else logging.ERROR, "reconciliation of %s %s: %s",
                self.bot_id, self.symbol, report.summary())
        return report

    def _to_check(self, state: LocalState, startup: bool) -> list[Order]:
        by_id = {o.client_order_id: o for o in state.orders.values()
                 if o.status not in TERMINAL and o.status is not S.NOT_SENT}
        for order in self._bot_orders():
            if order.intent.symbol == self.symbol and order.status is not S.EXTERNAL:
                by_id.setdefault(order.client_order_id, order)
        tracked = set() if startup else {o.client_order_id for o in self.client.open_orders()}
        # Untracked orders are tracked as a blank copy: the venue's whole story (NEW, every
        # fill, the end) is replayed through the client; the bot and the journal apply each
        # step once (by state and trade id).
        blanks = [Order(o.intent, status=S.SUBMITTED) for cid, o in by_id.items()
                  if cid not in tracked]
        self.client.restore(blanks)
        if self._track is not None:
            self._track([Order(o.intent, status=S.SUBMITTED) for o in blanks])
        return list(by_id.values())

    async def _check_orders(self, orders: Sequence[Order], report: ReconcileReport) -> set[str]:
        done: set[str] = set()
        for order in orders:
            cid = order.client_order_id
            algo = order.intent.type in CONDITIONAL
            try:
                found = await self._resync(cid, algo, order.status in _UNANSWERED)
            except ExchangeError as e:
                report.problems.append(f"order {cid} could not be queried: {e}")
                continue
            report.checked.append(cid)
            done.add(cid)
            if found:
                continue
            if order.status in _UNANSWERED:
                # Through UNKNOWN: SUBMITTED may not jump to NOT_SENT in the state machine.
                now = self.client.api.transport.clock.now_ms()
                for status in (S.UNKNOWN, S.NOT_SENT):
                    self.client.apply_event(OrderEvent(
                        cid, status, now, reason="absent on the exchange after reconciliation"))
                self.client.lost.add(cid)
                report.not_sent.append(cid)
            else:
                report.problems.append(
                    f"order {cid} is {order.status.value} here but unknown to the exchange")
        return done

    async def _resync(self, cid: str, algo: bool, unanswered: bool) -> bool:
        if await self.client.resync_order(self.symbol, cid, algo):
            return True
        if not unanswered:
            return False
        for delay in self.options.absent_delays_s:
            await asyncio.sleep(delay)
            if await self.client.resync_order(self.symbol, cid, algo):
                return True
        return False

    async def _check_open_orders(self, known: set[str], report: ReconcileReport) -> None:
        try:
            open_orders = await self.client.fetch_open_orders(self.symbol)
        except ExchangeError as e:
            report.problems.append(f"open orders could not be read: {e}")
            return
        for order in open_orders:
            cid = order.client_order_id
            if cid in known:
                continue
            label = (f"{cid} {order.intent.side.value} {order.intent.type.value} "
                     f"{order.intent.quantity}")
            if not self._own_id(cid):
                report.external_orders.append(label)
            elif self.options.adopt:
                self.client.restore([order])
                report.adopted.append(label)
            else:
                report.problems.append(f"open order {label} carries this bot's id but is not "
                                       "in the journal")

    async def _check_trades(self, state: LocalState, checked: set[str],
                            report: ReconcileReport) -> None:
        if state.last_trade_id is None and not state.orders:
            return  # a new bot: nothing of ours can have traded
        start = None if state.last_trade_id is None else state.last_trade_id + 1
        try:
            fills = await self._fills_since(start)
        except ExchangeError as e:
            report.problems.append(f"trades could not be read: {e}")
            return
        for fill in fills:
            if fill.trade_id in state.trade_ids or fill.client_order_id in checked:
                continue  # recorded, or adopted with its order above
            ours = fill.client_order_id in state.orders
            if not ours:
                report.external_fills.append(
                    f"{fill.trade_id} {fill.side} {fill.quantity} @ {fill.price} "
                    f"({fill.client_order_id})")
                if self.options.adopt:
                    self._external(fill)
                continue
            order = state.orders[fill.client_order_id]
            status = S.FILLED if order.status is S.FILLED else S.PARTIALLY_FILLED
            self.client.apply_event(OrderEvent(fill.client_order_id, status, fill.time,
                                               order.exchange_order_id, fill))
            report.recovered_fills.append(fill.trade_id)

    async def _fills_since(self, start: int | None) -> list[Fill]:
        fills: list[Fill] = []
        for _ in range(_MAX_PAGES):
            page = await self.client.fetch_fills(self.symbol, from_trade_id=start,
                                                 limit=_TRADE_PAGE)
            fills += page
            if len(page) < _TRADE_PAGE:
                break
            start = max(int(f.trade_id) for f in page) + 1
        return fills

    def _external(self, fill: Fill) -> None:
        cid = fill.client_order_id
        if cid.startswith(CLIENT_ID_PREFIX):
            cid = f"ext-{fill.trade_id}"
            fill = replace(fill, client_order_id=cid)
        self.client.apply_event(OrderEvent(cid, S.EXTERNAL, fill.time, fill=fill,
                                           reason="adopted by reconciliation"))

    async def _check_position(self, report: ReconcileReport) -> None:
        if self.client.market is not Market.USDM:
            return  # spot has balances, not positions: orders and fills were checked
        try:
            positions = await self.client.fetch_positions(self.symbol)
        except ExchangeError as e:
            report.problems.append(f"positions could not be read: {e}")
            return
        exchange = sum((p.quantity for p in positions if p.symbol == self.symbol), Decimal(0))
        local = self._position()
        report.exchange_position, report.local_position = exchange, local
        if exchange == local:
            return
        if not self.options.adopt:
            report.problems.append(f"position {self.symbol}: {local} here, {exchange} on the "
                                   "exchange")
            return
        entry = next((p.entry_price for p in positions if p.symbol == self.symbol), Decimal(0))
        diff = exchange - local
        now = self.client.api.transport.clock.now_ms()
        fill = Fill(trade_id=f"adopt-{now}", client_order_id=f"ext-adopt-{now}",
                    symbol=self.symbol, side="BUY" if diff > 0 else "SELL",
                    price=entry if entry > 0 else Decimal(1), quantity=abs(diff),
                    fee=Decimal(0), fee_asset="USDT", maker=False, time=now)
        self.client.apply_event(OrderEvent(fill.client_order_id, S.EXTERNAL, now, fill=fill,
                                           reason="position adopted by reconciliation"))
        report.adopted.append(f"position difference {diff}")
