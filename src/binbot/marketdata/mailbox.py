"""A bounded per-consumer mailbox that sheds market noise, never structure.

When a slow consumer falls behind, the oldest trade, book and mark-price updates are dropped
(they are superseded by newer ones anyway); candles, reconnect and staleness notices are kept,
because losing one would corrupt the consumer's view.
"""

from __future__ import annotations

import asyncio
from collections import deque

from binbot.domain.market_events import KlineEvent, MarketEvent, Reconnected, StaleData


def _droppable(event: MarketEvent) -> bool:
    if isinstance(event, KlineEvent):
        return not event.candle.closed
    return not isinstance(event, Reconnected | StaleData)


class Mailbox:
    def __init__(self, limit: int) -> None:
        self._items: deque[MarketEvent] = deque()
        self._limit = limit
        self._ready = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: MarketEvent) -> None:
        self._items.append(event)
        if len(self._items) > self._limit:
            self._shed()
        self._ready.set()

    def _shed(self) -> None:
        for index, item in enumerate(self._items):
            if _droppable(item):
                del self._items[index]
                self.dropped += 1
                return

    async def get_batch(self) -> list[MarketEvent]:
        """Wait for at least one event, then take everything queued."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        batch = list(self._items)
        self._items.clear()
        return batch
