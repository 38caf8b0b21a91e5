"""``BinanceMarketStream``: the MarketStream port over Binance combined streams.

Streams are grouped by WebSocket root (spot, USD-M ``/public``, USD-M ``/market``) and packed into
connections of at most ``streams_per_connection`` names. Every socket reader feeds one bounded
drop-oldest queue read by the single consumer of ``events()``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable

import aiohttp

from binbot.adapters.binance.endpoints import Endpoints
from binbot.adapters.binance.event_queue import DropOldestQueue, QueueClosed
from binbot.adapters.binance.stream_names import stream_name, stream_root
from binbot.adapters.binance.ws_connection import StreamConnection, StreamOptions
from binbot.config.settings import MarketDataSettings
from binbot.domain.market import Market
from binbot.domain.market_events import MarketEvent
from binbot.domain.streams import StreamKey

log = logging.getLogger(__name__)


class BinanceMarketStream:
    """A self-reconnecting set of Binance market-data subscriptions with one consumer."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Endpoints,
        *,
        options: StreamOptions | None = None,
        streams_per_connection: int = 200,
        queue_size: int = 100_000,
    ) -> None:
        if not 1 <= streams_per_connection <= 1024:
            raise ValueError(
                f"streams_per_connection must be within 1..1024, was {streams_per_connection}"
            )
        self._session = session
        self._endpoints = endpoints
        self._options = options or StreamOptions()
        self._per_connection = streams_per_connection
        self.queue: DropOldestQueue[MarketEvent] = DropOldestQueue(queue_size)
        self._connections: list[StreamConnection] = []
        self._owner: dict[tuple[str, str], StreamConnection] = {}
        self._closed = False

    @classmethod
    def from_settings(
        cls, session: aiohttp.ClientSession, endpoints: Endpoints, settings: MarketDataSettings
    ) -> BinanceMarketStream:
        options = StreamOptions(
            heartbeat_s=settings.heartbeat_s,
            stale_after_s=settings.stale_after_s,
            rotate_after_s=settings.rotate_after_s,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
        )
        return cls(
            session, endpoints, options=options,
            streams_per_connection=settings.streams_per_connection,
        )

    @property
    def connections(self) -> tuple[StreamConnection, ...]:
        return tuple(self._connections)

    async def subscribe(self, keys: Iterable[StreamKey]) -> None:
        if self._closed:
            raise RuntimeError("stream is closed")
        groups: dict[tuple[str, Market], dict[str, StreamKey]] = {}
        for key in keys:
            root = stream_root(key, self._endpoints)
            name = stream_name(key)
            if (root, name) not in self._owner:
                groups.setdefault((root, key.market), {})[name] = key
        for (root, market), streams in groups.items():
            await self._place(root, market, list(streams.items()))

    async def _place(
        self, root: str, market: Market, streams: list[tuple[str, StreamKey]]
    ) -> None:
        for connection in self._connections:
            if not streams:
                return
            free = self._per_connection - len(connection.names)
            if connection.root != root or free <= 0:
                continue
            taken, streams = streams[:free], streams[free:]
            for name, _ in taken:
                self._owner[(root, name)] = connection
            await connection.add(dict(taken))
        while streams:
            size = self._per_connection
            taken, streams = streams[:size], streams[size:]
            connection = StreamConnection(
                self._session, root, market, dict(taken), self.queue.put_nowait, self._options
            )
            for name, _ in taken:
                self._owner[(root, name)] = connection
            self._connections.append(connection)
            connection.start()

    async def unsubscribe(self, keys: Iterable[StreamKey]) -> None:
        by_connection: dict[int, tuple[StreamConnection, list[str]]] = {}
        for key in keys:
            root = stream_root(key, self._endpoints)
            name = stream_name(key)
            connection = self._owner.pop((root, name), None)
            if connection is not None:
                by_connection.setdefault(id(connection), (connection, []))[1].append(name)
        for connection, names in by_connection.values():
            await connection.remove(names)
            if not connection.names:
                self._connections.remove(connection)
                await connection.close()

    def events(self) -> AsyncIterator[MarketEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[MarketEvent]:
        while True:
            try:
                yield await self.queue.get()
            except QueueClosed:
                return

    @property
    def dropped(self) -> int:
        """Events dropped because the consumer fell behind."""
        return self.queue.dropped

    async def close(self) -> None:
        self._closed = True
        connections, self._connections = self._connections, []
        self._owner.clear()
        for connection in connections:
            await connection.close()
        self.queue.close()

    async def __aenter__(self) -> BinanceMarketStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
