"""A bounded single-consumer queue that drops the oldest item when full (market data policy)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class QueueClosed(Exception):
    """The queue was closed and is empty."""


class DropOldestQueue(Generic[T]):
    """Producers never block; a slow consumer loses the oldest items, each one counted.

    Market data is superseded by newer data, so dropping the oldest loses least; the count is
    logged at powers of two so a persistent backlog is visible without flooding the log.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be positive, was {maxsize}")
        self.maxsize = maxsize
        self.dropped = 0
        self._items: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> None:
        if self._closed:
            return
        items = self._items
        if len(items) >= self.maxsize:
            items.popleft()
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:
                log.warning("market data queue full: dropped %d oldest events so far", self.dropped)
        items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def get(self) -> T:
        while not self._items:
            if self._closed:
                raise QueueClosed
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            await waiter
        return self._items.popleft()

    def close(self) -> None:
        """Wake the consumer; it receives what is queued, then ``QueueClosed``."""
        self._closed = True
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
