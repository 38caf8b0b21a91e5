"""Clock offset estimation: server time minus the local request midpoint, median of samples."""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestTiming:
    """Local wall time at send (ms) and monotonic send time, taken just before a request."""

    wall_ms: float
    mono_s: float


class ClockOffset:
    """Estimates ``server - local`` in ms from the last ``size`` samples (median, robust to one
    slow round trip). The midpoint uses the monotonic clock for the RTT so that a wall-clock
    step during the request cannot distort it.
    """

    def __init__(
        self,
        size: int = 5,
        *,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._wall = wall
        self._mono = mono

    def start(self) -> RequestTiming:
        return RequestTiming(self._wall() * 1000.0, self._mono())

    def record(self, server_ms: int, timing: RequestTiming) -> float:
        """Add a sample for a request started at ``timing``; returns the new estimate."""
        rtt_ms = (self._mono() - timing.mono_s) * 1000.0
        midpoint = timing.wall_ms + rtt_ms / 2
        self._samples.append(server_ms - midpoint)
        return self.offset_ms

    def clear(self) -> None:
        """Forget every sample (after a -1021 the old ones describe a clock that has moved)."""
        self._samples.clear()

    @property
    def has_samples(self) -> bool:
        return bool(self._samples)

    @property
    def offset_ms(self) -> float:
        return statistics.median(self._samples) if self._samples else 0.0

    def now_ms(self) -> int:
        """Best estimate of the server's current time."""
        return int(self._wall() * 1000.0 + self.offset_ms)

    def timestamp_ms(self) -> int:
        """The ``timestamp`` parameter for a signed request."""
        return self.now_ms()
