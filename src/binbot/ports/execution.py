"""The one execution contract shared by paper, backtest and live.

The engine talks to every venue through ``ExecutionClient``. Its methods never block: they
return at once and outcomes come back as ``OrderEvent``s through the sink given to ``bind``.

- Simulated clients (``binbot.sim.SimulatedExecution``, ``binbot.adapters.paper``) are
  synchronous: events are delivered *during* ``submit``/``cancel`` (a market order is FILLED
  before ``submit`` returns). The engine must therefore tolerate re-entrant events.
- A live client queues the request, commits nothing itself (the engine persisted the intent
  before calling ``submit``), sends it from its own task, and delivers SUBMITTED, NEW, fills,
  UNKNOWN... later from the event loop.

Rejections are events too (status REJECTED with a ``reason``), never exceptions, so every mode
reports them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from binbot.domain.orders import Order, OrderEvent, OrderIntent

EventSink = Callable[[OrderEvent], None]


class ExecutionClient(Protocol):
    """Places and cancels orders for one account; reports changes through the bound sink."""

    def bind(self, sink: EventSink) -> None:
        """Set the callable that receives every order event (the bot's portfolio)."""
        ...

    def submit(self, intent: OrderIntent) -> None:
        """Send an order; its outcome arrives as events (SUBMITTED/NEW/FILLED/REJECTED...)."""
        ...

    def cancel(self, client_order_id: str) -> None:
        """Ask to cancel an open order; CANCELED (or a fill that won the race) arrives as events."""
        ...

    def open_orders(self) -> list[Order]:
        """Orders this client believes are working, as of now."""
        ...
