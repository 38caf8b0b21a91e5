"""Ports for market data: REST history and live streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from binbot.domain.candle import Candle
from binbot.domain.instrument import Instrument
from binbot.domain.market import Market
from binbot.domain.market_events import MarketEvent
from binbot.domain.streams import StreamKey


class MarketDataRest(Protocol):
    """Request/response market data (Binance REST or the local exchange)."""

    async def server_time(self, market: Market) -> int: ...

    async def instruments(self, market: Market) -> list[Instrument]: ...

    def kline_history(
        self,
        market: Market,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int | None = None,
    ) -> AsyncIterator[list[Candle]]:
        """Yield pages of candles with ``start_ms <= open_time <= end_ms`` in time order.

        The last candle may be unclosed when ``end_ms`` is in the present.
        """
        ...


class MarketStream(Protocol):
    """A live, self-reconnecting set of subscriptions with one consumer."""

    async def subscribe(self, keys: Iterable[StreamKey]) -> None: ...

    async def unsubscribe(self, keys: Iterable[StreamKey]) -> None: ...

    def events(self) -> AsyncIterator[MarketEvent]: ...

    async def close(self) -> None: ...
