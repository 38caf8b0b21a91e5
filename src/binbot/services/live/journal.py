"""``IntentJournal``: the execution client a live bot talks to; nothing is sent unless its
intent is durable first (reliability.md §1 rules 1 and 9).

``submit`` queues; one task commits the intent's ``orders`` row (status INTENT) in its own
``synchronous=FULL`` transaction and only then hands the intent to the real client. If the
commit fails nothing is sent: the order is reported REJECTED and ``on_halt`` is called (the
session puts the bot in HALTED). Cancels travel the same queue, so a cancel never overtakes the
submit it refers to, and are always allowed.

Every order event from the real client is passed on to the bot at once and recorded behind it
(order row: status, exchange id, filled quantity; fills once per trade id), again with
``synchronous=FULL``. When the database is down the records wait in a bounded buffer; when it
overflows ``lost_records`` is set and the session re-derives the state from the exchange
(reconciliation) once writes succeed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from binbot.domain.orders import TERMINAL, Order, OrderEvent, OrderIntent, OrderStatus
from binbot.ports.execution import EventSink, ExecutionClient
from binbot.services.live.records import insert_intent, write_events
from binbot.services.trading_records import fill_row, order_row
from binbot.storage.writer import Writer

log = logging.getLogger(__name__)

MAX_BUFFERED: Final = 10_000
_RETRY_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class _Submit:
    intent: OrderIntent


@dataclass(frozen=True, slots=True)
class _Cancel:
    client_order_id: str


def _ignore(event: OrderEvent) -> None:
    """Default sink until ``bind``."""


class IntentJournal:
    """An ``ExecutionClient`` that journals intents and events around a real client."""

    def __init__(self, inner: ExecutionClient, writer: Writer, *, bot_id: str, mode: str,
                 now_ms: Callable[[], int], on_halt: Callable[[str], None],
                 max_buffered: int = MAX_BUFFERED, retry_s: float = _RETRY_S) -> None:
        self.inner = inner
        self._writer = writer
        self.bot_id = bot_id
        self.mode = mode
        self._now = now_ms
        self._on_halt = on_halt
        self._sink: EventSink = _ignore
        self._requests: deque[_Submit | _Cancel] = deque()
        self._wake = asyncio.Event()
        self._orders: dict[str, Order] = {}
        self._dirty: dict[str, None] = {}  # orders whose row must be rewritten, in order
        self._fills: deque[dict[str, Any]] = deque()
        self._max_buffered = max_buffered
        self._retry_s = retry_s
        self._records_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._writing = False  # a records transaction is in flight
        self._sending = False  # an intent is being journaled
        self.halted = ""  # why nothing may be sent; "" when sending is allowed
        self.lost_records = False
        self.sent = 0
        inner.bind(self._on_event)

    # ------------------------------------------------------------------ ExecutionClient

    def bind(self, sink: EventSink) -> None:
        self._sink = sink

    def submit(self, intent: OrderIntent) -> None:
        self._orders[intent.client_order_id] = Order(intent)
        self._push(_Submit(intent))

    def cancel(self, client_order_id: str) -> None:
        self._push(_Cancel(client_order_id))

    def open_orders(self) -> list[Order]:
        return self.inner.open_orders()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._send_loop(), name="journal-send"),
                           asyncio.create_task(self._record_loop(), name="journal-records")]

    def _push(self, request: _Submit | _Cancel) -> None:
        self._requests.append(request)
        self._wake.set()
        with contextlib.suppress(RuntimeError):  # no running loop yet: start() comes later
            self.start()

    def track(self, orders: list[Order]) -> None:
        """Orders journaled before a restart, so their events update their rows."""
        for order in orders:
            self._orders.setdefault(order.client_order_id, order)

    def resume(self) -> None:
        """Allow sending again after a persistence failure (the operator's or the session's
        decision once the database works)."""
        self.halted = ""

    async def idle(self) -> None:
        """Wait until every queued request was handed on and every record written."""
        while self._requests or self._sending or self._dirty or self._fills or self._writing:
            if any(task.done() for task in self._tasks):
                return
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # ------------------------------------------------------------------ sending

    async def _send_loop(self) -> None:
        while True:
            while not self._requests:
                self._wake.clear()
                await self._wake.wait()
            request = self._requests.popleft()
            if isinstance(request, _Cancel):
                self.inner.cancel(request.client_order_id)
                continue
            self._sending = True
            try:
                await self._journal_and_send(request.intent)
            finally:
                self._sending = False

    async def _journal_and_send(self, intent: OrderIntent) -> None:
        cid = intent.client_order_id
        if self.halted:
            self._refuse(cid, f"not sent: {self.halted}")
            return
        row = order_row(Order(intent), self.mode, self._now())
        try:
            await self._writer.run(lambda c: insert_intent(c, row), synchronous="FULL")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a full disk, a read-only file, a dropped connection...
            reason = f"intent {cid} could not be persisted ({type(e).__name__}: {e})"
            log.error("%s: nothing sent, trading halted", reason)
            self.halted = reason
            self._refuse(cid, f"not sent: {reason}")
            self._on_halt(reason)
            return
        self.sent += 1
        self.inner.submit(intent)

    def _refuse(self, cid: str, reason: str) -> None:
        self._orders.pop(cid, None)
        self._sink(OrderEvent(cid, OrderStatus.REJECTED, self._now(), reason=reason))

    # ------------------------------------------------------------------ recording

    def _on_event(self, event: OrderEvent) -> None:
        self._sink(event)  # the bot first: recording must never delay or lose an event
        order = self._orders.get(event.client_order_id)
        if order is not None and order.apply(event):
            self._dirty[event.client_order_id] = None
        if event.fill is not None:
            self._fills.append(fill_row(self.bot_id, event.fill))
        self._trim()
        self._records_wake.set()

    def _trim(self) -> None:
        while len(self._fills) + len(self._dirty) > self._max_buffered:
            self.lost_records = True  # reconciliation re-derives them from the exchange
            if self._fills:
                self._fills.popleft()
            else:
                self._dirty.pop(next(iter(self._dirty)))

    async def _record_loop(self) -> None:
        while True:
            if not (self._dirty or self._fills):
                self._records_wake.clear()
                await self._records_wake.wait()
            dirty, self._dirty = self._dirty, {}
            fills, self._fills = self._fills, deque()
            now = self._now()
            rows = [order_row(self._orders[c], self.mode, now) for c in dirty if c in self._orders]
            batch = list(fills)
            self._writing = True
            try:
                await self._writer.run(partial(write_events, order_rows=rows,
                                               fill_rows=batch), synchronous="FULL")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._writing = False
                log.error("order records not written (%s); retrying", e)
                dirty.update(self._dirty)  # keep the order: older changes first
                self._dirty = dirty
                fills.extend(self._fills)
                self._fills = fills
                self._trim()
                await asyncio.sleep(self._retry_s)
                continue
            self._writing = False
            for cid in dirty:
                order = self._orders.get(cid)
                if order is not None and order.status in TERMINAL and cid not in self._dirty:
                    del self._orders[cid]  # bounded: finished orders leave memory
