"""One user-data WebSocket connection: an ordered outgoing queue, pings, faults.

Events are produced synchronously by the order books; each connection queues the encoded frames
and one writer task sends them in order. Used by the USD-M ``/private`` streams and the spot
WebSocket API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from binbot.domain.market import Market


@dataclass(eq=False)
class UserConnection:
    ws: web.WebSocketResponse
    venue: Market
    opened_wall: float
    transport: asyncio.Transport | None
    listen_key: str | None = None
    queue: deque[str] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False
    last_ping: float = 0.0
    unanswered_ping: float | None = None
    subscriptions: dict[int, str] = field(default_factory=dict)  # WS-API: id -> api key
    next_subscription: int = 0
    sent: int = 0

    def __post_init__(self) -> None:
        self.last_ping = self.opened_wall  # the first server ping comes one interval later

    def push(self, body: Any) -> None:
        if self.closing:
            return
        self.queue.append(orjson.dumps(body).decode())
        self.wake.set()

    async def writer(self) -> None:
        ws = self.ws
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                text = self.queue.popleft()
                if ws.closed:
                    return
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    return
                self.sent += 1

    async def close(self, code: int, reason: str) -> None:
        self.closing = True
        # Let what is queued go out first (a listenKeyExpired before the close).
        for _ in range(100):
            if not self.queue:
                break
            await asyncio.sleep(0.005)
        with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), 2.0)

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()
