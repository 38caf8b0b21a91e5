"""Port for candle persistence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from binbot.domain.candle import Candle
from binbot.domain.market import Market


class CandleStore(Protocol):
    """Stored candles, keyed by (market, symbol, interval, open_time); writes are upserts."""

    async def upsert(self, candles: Sequence[Candle]) -> None:
        """Queue candles for the writer; a candle with a known open time replaces the old one."""
        ...

    async def flush(self) -> None:
        """Wait until every queued write is committed."""
        ...

    async def last_closed_open_time(self, market: Market, symbol: str, interval: str) -> int | None:
        ...

    async def count(self, market: Market, symbol: str, interval: str) -> int: ...
