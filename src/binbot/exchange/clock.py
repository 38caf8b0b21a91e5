"""Virtual market time: ``start + (wall_now - anchor) * speed``.

Anchoring to a wall-clock instant (not to the process start) means a restarted exchange given
the same anchor and start resumes where the market would be had it never stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

WallClock = Callable[[], float]
"""Seconds since the epoch, like ``time.time`` (tests inject a manual clock)."""


class VirtualClock:
    def __init__(self, start_ms: int, anchor_wall_ms: int, speed: float,
                 wall: WallClock = time.time) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, was {speed}")
        self.start_ms = start_ms
        self.anchor_wall_ms = anchor_wall_ms
        self.speed = speed
        self._wall = wall

    def wall_s(self) -> float:
        return self._wall()

    def now_ms(self) -> int:
        """The virtual time now (epoch milliseconds of the replayed market)."""
        return self.start_ms + int((self._wall() * 1000.0 - self.anchor_wall_ms) * self.speed)

    def wall_seconds_until(self, virtual_ms: int) -> float:
        """How long (wall seconds) until the virtual clock reaches ``virtual_ms``."""
        return max(0.0, (virtual_ms - self.now_ms()) / self.speed / 1000.0)
