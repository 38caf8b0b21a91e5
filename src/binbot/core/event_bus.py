"""One source of live events for the dashboard (SSE) and API clients (WebSocket).

Publishers call ``publish(kind, payload)`` synchronously from the event loop; each subscriber
gets a bounded queue. A subscriber that falls behind loses its oldest ``tick``/``price`` events
first (they are superseded by the next one) and is told how many it lost, so a page can refetch
the REST snapshot. Every event carries a monotonic sequence number: a client that fetched a
snapshot at sequence N applies only events with a larger one.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any

# Kinds the dashboard understands; publishing another kind is a programming error.
EVENT_KINDS = frozenset(
    {"tick", "price", "candle", "order", "fill", "trade", "position", "equity", "signal", "log",
     "health", "bot", "risk"}
)
_CONFLATABLE = frozenset({"tick", "price"})


@dataclass(frozen=True, slots=True)
class BusEvent:
    seq: int
    kind: str
    payload: dict[str, Any]


class Subscription:
    """A registered subscriber: iterate it for events; close it (or use ``with``) when done."""

    def __init__(self, bus: EventBus, limit: int) -> None:
        self._bus = bus
        self.items: deque[BusEvent] = deque()
        self.limit = limit
        self.ready = asyncio.Event()
        self.dropped = 0

    def put(self, event: BusEvent) -> None:
        self.items.append(event)
        if len(self.items) > self.limit:
            for index, item in enumerate(self.items):
                if item.kind in _CONFLATABLE:
                    del self.items[index]
                    break
            else:
                self.items.popleft()
            self.dropped += 1
        self.ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BusEvent:
        while not self.items:
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()

    def close(self) -> None:
        self._bus._subscribers.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventBus:
    def __init__(self, subscriber_limit: int = 1000, history: int = 200) -> None:
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._subscribers: set[Subscription] = set()
        self._limit = subscriber_limit
        self._recent: deque[BusEvent] = deque(maxlen=history)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def publish(self, kind: str, payload: dict[str, Any]) -> BusEvent:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind, was {kind!r}")
        event = BusEvent(next(self._seq), kind, payload)
        self._last_seq = event.seq
        if kind not in _CONFLATABLE:
            self._recent.append(event)
        for subscriber in self._subscribers:
            subscriber.put(event)
        return event

    def recent(self, after_seq: int = 0) -> list[BusEvent]:
        """Recent non-tick events newer than ``after_seq`` (for a reconnecting client)."""
        return [event for event in self._recent if event.seq > after_seq]

    def subscribe(self) -> Subscription:
        """Register a subscriber now; events published from here on reach it."""
        subscription = Subscription(self, self._limit)
        self._subscribers.add(subscription)
        return subscription

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
