"""The exchange's instruments by market, fetched on first use and refreshed on a miss."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from binbot.domain.instrument import Instrument
from binbot.domain.market import Market

Fetch = Callable[[Market], Awaitable[list[Instrument]]]

# A symbol not found in a list older than this triggers a refetch (it may have been listed
# since); younger lists answer from memory, so typos cannot hammer exchangeInfo.
_REFRESH_AFTER_S = 60.0


class InstrumentBook:
    def __init__(self, fetch: Fetch, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._by_market: dict[Market, tuple[float, dict[str, Instrument]]] = {}
        self._lock = asyncio.Lock()

    def seed(self, market: Market, instruments: list[Instrument]) -> None:
        self._by_market[market] = (self._clock(), {i.symbol: i for i in instruments})

    async def get(self, market: Market, symbol: str) -> Instrument | None:
        async with self._lock:
            known = self._by_market.get(market)
            if known is not None and (symbol in known[1]
                                      or self._clock() - known[0] < _REFRESH_AFTER_S):
                return known[1].get(symbol)
            self.seed(market, await self._fetch(market))
            return self._by_market[market][1].get(symbol)
