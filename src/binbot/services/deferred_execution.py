"""An ExecutionClient whose real target is attached later.

A live bot's execution client (``services.live.LiveSession``) can only be built asynchronously
(credentials, clock sync, permission and symbol checks), while its ``BotCore`` is built with the
runner. The core gets this stand-in; ``attach`` hands it the real client before anything trades.
"""

from __future__ import annotations

from binbot.domain.orders import Order, OrderIntent
from binbot.ports.execution import EventSink, ExecutionClient


class ExecutionNotReady(RuntimeError):
    """An order before the live session was opened (a wiring error, never a market event)."""


class DeferredExecution:
    def __init__(self) -> None:
        self._target: ExecutionClient | None = None
        self._sink: EventSink | None = None

    def attach(self, target: ExecutionClient) -> None:
        self._target = target
        if self._sink is not None:
            target.bind(self._sink)

    def bind(self, sink: EventSink) -> None:
        self._sink = sink
        if self._target is not None:
            self._target.bind(sink)

    def submit(self, intent: OrderIntent) -> None:
        self._ready().submit(intent)

    def cancel(self, client_order_id: str) -> None:
        self._ready().cancel(client_order_id)

    def open_orders(self) -> list[Order]:
        return [] if self._target is None else self._target.open_orders()

    def _ready(self) -> ExecutionClient:
        if self._target is None:
            raise ExecutionNotReady("the live execution client is not attached yet")
        return self._target
