"""Capped exponential backoff with jitter, and a sliding-window rate limiter for control frames."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque


class Backoff:
    """Delays grow ×2 from ``initial`` to ``cap``; each is drawn uniformly from [d/2, d].

    The jitter spreads reconnects of many connections so they do not hit the venue together.
    """

    def __init__(self, initial: float, cap: float, rng: random.Random | None = None) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError(f"need 0 < initial <= cap, was initial={initial} cap={cap}")
        self.initial = initial
        self.cap = cap
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.initial * (2.0 ** min(self.attempt, 32)))
        self.attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class WindowLimiter:
    """At most ``limit`` events in any ``window_s`` seconds; ``acquire`` waits for a slot."""

    def __init__(self, limit: int, window_s: float = 1.0) -> None:
        if limit < 1:
            raise ValueError(f"limit must be positive, was {limit}")
        self.limit = limit
        self.window_s = window_s
        self._sent: deque[float] = deque()

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            while self._sent and now - self._sent[0] >= self.window_s:
                self._sent.popleft()
            if len(self._sent) < self.limit:
                self._sent.append(now)
                return
            await asyncio.sleep(self.window_s - (now - self._sent[0]))
