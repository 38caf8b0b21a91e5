"""Request weight per IP per wall-clock minute, as Binance counts it.

Binance counts fixed one-minute windows (``X-MBX-USED-WEIGHT-1M``) per IP and per venue (spot
and USD-M are separate servers). A request that would go over the limit is refused with 429
(-1003) and ``Retry-After`` = seconds until the window resets; refused requests do not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from binbot.domain.market import Market
from binbot.exchange.clock import WallClock


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    used: int
    retry_after_s: int


class WeightLimiter:
    def __init__(self, limits: dict[Market, int], wall: WallClock) -> None:
        self._limits = limits
        self._wall = wall
        self._windows: dict[tuple[Market, str], tuple[int, int]] = {}  # -> (minute, used)

    def limit(self, venue: Market) -> int:
        return self._limits[venue]

    def used(self, venue: Market, ip: str) -> int:
        minute = int(self._wall() // 60)
        window = self._windows.get((venue, ip))
        return window[1] if window is not None and window[0] == minute else 0

    def charge(self, venue: Market, ip: str, weight: int) -> Verdict:
        now = self._wall()
        minute = int(now // 60)
        key = (venue, ip)
        window = self._windows.get(key)
        used = window[1] if window is not None and window[0] == minute else 0
        if used + weight > self._limits[venue]:
            retry = max(1, math.ceil((minute + 1) * 60 - now))
            return Verdict(False, used, retry)
        self._windows[key] = (minute, used + weight)
        return Verdict(True, used + weight, 0)
