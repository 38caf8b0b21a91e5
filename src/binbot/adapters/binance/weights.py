"""Request weights (declarative) and the per-IP weight gate.

The gate keeps steady-state usage at or below a fraction of the ``REQUEST_WEIGHT`` budget read
from exchangeInfo, trusts the ``X-MBX-USED-WEIGHT-<n><unit>`` headers over its own count, and
closes for exactly ``Retry-After`` seconds after a 429 or 418.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from binbot.domain.market import Market

_UNIT_SECONDS: Final = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86_400}
_UNIT_LETTER: Final = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}

# Defaults until exchangeInfo is read (protocol reference, section 6).
DEFAULT_WEIGHT_LIMIT: Final = {Market.SPOT: 6000, Market.USDM: 2400}
MAX_KLINES: Final = {Market.SPOT: 1000, Market.USDM: 1500}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One entry of exchangeInfo ``rateLimits``."""

    kind: str  # REQUEST_WEIGHT, ORDERS, RAW_REQUESTS
    interval: str  # SECOND, MINUTE, HOUR, DAY
    interval_num: int
    limit: int

    @property
    def window_s(self) -> int:
        return _UNIT_SECONDS.get(self.interval, 60) * self.interval_num

    @property
    def header(self) -> str:
        """The response header that reports usage of this limit, e.g. X-MBX-USED-WEIGHT-1M."""
        return f"X-MBX-USED-WEIGHT-{self.interval_num}{_UNIT_LETTER.get(self.interval, 'M')}"


def klines_weight(market: Market, limit: int) -> int:
    if market is Market.SPOT:
        return 2
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    return 5 if limit <= 1000 else 10


def depth_weight(market: Market, limit: int) -> int:
    if market is Market.SPOT:
        if limit <= 100:
            return 5
        if limit <= 500:
            return 25
        return 50 if limit <= 1000 else 250
    if limit <= 50:
        return 2
    if limit <= 100:
        return 5
    return 10 if limit <= 500 else 20


def exchange_info_weight(market: Market) -> int:
    return 20 if market is Market.SPOT else 1


def ticker_price_weight(market: Market) -> int:
    return 2 if market is Market.SPOT else 1


class WeightGate:
    """Admission control for one IP budget (one per market: spot and USD-M hosts differ)."""

    def __init__(
        self,
        limit: int,
        *,
        window_s: int = 60,
        budget_fraction: float = 0.5,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < budget_fraction <= 1:
            raise ValueError(f"budget_fraction must be within (0, 1], was {budget_fraction}")
        self.limit = limit
        self.window_s = window_s
        self.budget_fraction = budget_fraction
        self.header = "X-MBX-USED-WEIGHT-1M"
        self.used = 0
        self.closed_until = 0.0
        self.waited_s = 0.0
        self._window = -1
        self._wall = wall
        self._sleep = sleep
        self._lock = asyncio.Lock()

    @property
    def budget(self) -> int:
        return max(1, int(self.limit * self.budget_fraction))

    def configure(self, limit: RateLimit) -> None:
        """Adopt the venue's REQUEST_WEIGHT limit from exchangeInfo."""
        self.limit = limit.limit
        self.window_s = limit.window_s
        self.header = limit.header

    def _roll(self, now: float) -> None:
        window = math.floor(now / self.window_s)
        if window != self._window:
            self._window = window
            self.used = 0

    def observe(self, headers: Mapping[str, str]) -> None:
        """Trust the server's count of used weight in the current window."""
        value = headers.get(self.header)
        if value is None:
            return
        try:
            used = int(value)
        except ValueError:
            return
        self._roll(self._wall())
        self.used = used

    def close_for(self, seconds: float) -> None:
        """No request leaves before ``seconds`` from now (429/418 ``Retry-After``)."""
        self.closed_until = max(self.closed_until, self._wall() + seconds)

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` fits: the gate is open and the budget allows it."""
        async with self._lock:
            while True:
                now = self._wall()
                if now < self.closed_until:
                    await self._wait(self.closed_until - now)
                    continue
                self._roll(now)
                if self.used > 0 and self.used + weight > self.budget:
                    # Over the steady-state budget: wait for the next weight window.
                    await self._wait((self._window + 1) * self.window_s - now)
                    continue
                self.used += weight
                return

    async def _wait(self, seconds: float) -> None:
        seconds = max(seconds, 0.001)
        self.waited_s += seconds
        await self._sleep(seconds)
