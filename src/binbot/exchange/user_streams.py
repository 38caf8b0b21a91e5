"""User data streams: USD-M listenKeys and ``/private`` WebSockets, and the event fan-out.

USD-M: ``POST /fapi/v1/listenKey`` returns the account's active key (extending it) or a new one;
``PUT`` extends it (-1125 when it has expired or never existed); ``DELETE`` ends it. A key is
valid ``listen_key_validity_s`` wall seconds (60 min, as Binance; configurable so tests can
expire one quickly). Connect ``/private/ws?listenKey=<key>`` or ``/private/ws/<key>``; on expiry
the connection gets ``listenKeyExpired`` and is closed. Events: ORDER_TRADE_UPDATE, TRADE_LITE,
ACCOUNT_UPDATE, ALGO_UPDATE.

Spot events go to the WebSocket API subscriptions (``ws_api``), wrapped as
``{"subscriptionId": N, "event": {...}}``.

Every event emitted is also kept in ``events`` (bounded), for tests. Injected faults
(``faults.py``): silence (events dropped, no pings or pongs), duplicates, swapped pairs, drops,
expiry and spot ``eventStreamTerminated``.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import WSMsgType, web

from binbot.domain.market import Market
from binbot.exchange.clock import WallClock
from binbot.exchange.faults import FaultController
from binbot.exchange.rest import BinanceError
from binbot.exchange.user_conn import UserConnection

LISTEN_KEY_VALIDITY_S: Final = 3600.0
_KEY_ALPHABET: Final = string.ascii_letters + string.digits
_PING: Final = {Market.USDM: (180.0, 600.0), Market.SPOT: (20.0, 60.0)}
EVENT_LOG_SIZE: Final = 100_000


@dataclass(slots=True)
class _Key:
    api_key: str
    expires_at: float


class ListenKeys:
    def __init__(self, wall: WallClock, validity_s: float) -> None:
        self._wall = wall
        self.validity_s = validity_s
        self._keys: dict[str, _Key] = {}
        self._by_account: dict[str, str] = {}

    def _active(self, key: str | None) -> _Key | None:
        if key is None:
            return None
        found = self._keys.get(key)
        if found is None or self._wall() >= found.expires_at:
            return None
        return found

    def create(self, api_key: str) -> str:
        key = self._by_account.get(api_key)
        found = self._active(key)
        if key is not None and found is not None:
            found.expires_at = self._wall() + self.validity_s
            return key
        key = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(64))
        self._keys[key] = _Key(api_key, self._wall() + self.validity_s)
        self._by_account[api_key] = key
        return key

    def keepalive(self, api_key: str) -> str:
        key = self._by_account.get(api_key)
        found = self._active(key)
        if key is None or found is None:
            raise BinanceError(-1125, "This listenKey does not exist.")
        found.expires_at = self._wall() + self.validity_s
        return key

    def delete(self, api_key: str) -> str | None:
        key = self._by_account.pop(api_key, None)
        if key is not None:
            self._keys.pop(key, None)
        return key

    def account_of(self, key: str) -> str | None:
        found = self._active(key)
        return found.api_key if found is not None else None

    def known(self, key: str) -> bool:
        return key in self._keys

    def due(self) -> list[str]:
        """Keys that have expired (they stay known, so PUT answers -1125)."""
        now = self._wall()
        return [k for k, v in self._keys.items() if now >= v.expires_at]

    def expire(self, key: str | None = None) -> list[str]:
        """Expire one key, or all: they stop working at once."""
        chosen = [key] if key is not None else list(self._keys)
        now = self._wall()
        for name in chosen:
            if name in self._keys:
                self._keys[name].expires_at = min(self._keys[name].expires_at, now)
        return [k for k in chosen if k in self._keys]

    def forget(self, key: str) -> None:
        found = self._keys.pop(key, None)
        if found is not None and self._by_account.get(found.api_key) == key:
            del self._by_account[found.api_key]


class UserStreams:
    """The ``EventSink`` of the order books, and the USD-M ``/private`` WebSocket endpoint."""

    def __init__(self, faults: FaultController, wall: WallClock, listen_keys: ListenKeys,
                 now_ms: Callable[[], int], ping_interval_s: float | None = None,
                 pong_timeout_s: float | None = None) -> None:
        self._faults = faults
        self._wall = wall
        self.listen_keys = listen_keys
        self._now_ms = now_ms
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self.connections: set[UserConnection] = set()
        self.events: deque[tuple[Market, str, dict[str, Any]]] = deque(maxlen=EVENT_LOG_SIZE)
        self.dropped = 0
        self._held: tuple[UserConnection, Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        faults.bind_user(self.drop_all, self.expire_listen_keys, self.terminate_spot)

    # -- EventSink ------------------------------------------------------------------------------

    def emit(self, venue: Market, api_key: str, event: dict[str, Any]) -> None:
        self.events.append((venue, api_key, event))
        for conn in list(self.connections):
            if conn.venue is not venue or conn.closing:
                continue
            if venue is Market.USDM:
                if conn.listen_key is None or \
                        self.listen_keys.account_of(conn.listen_key) != api_key:
                    continue
                self._deliver(conn, event)
            else:
                for sub_id, owner in list(conn.subscriptions.items()):
                    if owner == api_key:
                        self._deliver(conn, {"subscriptionId": sub_id, "event": event})

    def _deliver(self, conn: UserConnection, body: Any) -> None:
        faults = self._faults
        if faults.is_silent() or faults.user_silent():
            self.dropped += 1
            return
        if self._held is not None:
            held_conn, held = self._held
            self._held = None
            conn.push(body)
            held_conn.push(held)
            return
        if faults.take_user_reorder():
            self._held = (conn, body)  # goes out after the next event
            return
        conn.push(body)
        if faults.take_user_duplicate():
            conn.push(body)

    def events_for(self, api_key: str, venue: Market | None = None) -> list[dict[str, Any]]:
        return [e for v, k, e in self.events if k == api_key and (venue is None or v is venue)]

    # -- connections ----------------------------------------------------------------------------

    async def run(self, request: web.Request, conn: UserConnection,
                  on_text: Callable[[UserConnection, str], None] | None = None) -> None:
        """Serve a prepared connection until it closes."""
        self.connections.add(conn)
        writer = asyncio.get_running_loop().create_task(conn.writer())
        try:
            async for msg in conn.ws:
                if msg.type is WSMsgType.TEXT:
                    if on_text is not None and not self._faults.is_silent():
                        on_text(conn, msg.data)
                elif msg.type is WSMsgType.PING:
                    if not (self._faults.is_silent() or self._faults.user_silent()):
                        await conn.ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    conn.unanswered_ping = None
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.connections.discard(conn)
            conn.closing = True
            writer.cancel()

    async def serve_private(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("listen_key") or request.query.get("listenKey", "")
        ws = web.WebSocketResponse(autoping=False, max_msg_size=64 * 1024)
        await ws.prepare(request)
        conn = UserConnection(ws, Market.USDM, self._wall(), request.transport, listen_key=key)
        if not key or not self.listen_keys.known(key):
            await ws.close(code=1008, message=b"invalid listenKey")
            return ws
        if self.listen_keys.account_of(key) is None:
            conn.push(self._expired_event(key))
            self.connections.add(conn)
            writer = asyncio.get_running_loop().create_task(conn.writer())
            await conn.close(1000, "listenKey expired")
            writer.cancel()
            self.connections.discard(conn)
            return ws
        await self.run(request, conn)
        return ws

    def _expired_event(self, key: str, as_string: bool = False) -> dict[str, Any]:
        now = self._now_ms()
        return {"e": "listenKeyExpired", "E": str(now) if as_string else now, "listenKey": key}

    # -- faults and expiry ----------------------------------------------------------------------

    def drop_all(self, mode: str = "abort") -> int:
        conns = list(self.connections)
        for conn in conns:
            if mode == "abort":
                conn.abort()
            else:
                self._later(conn.close(1001, "going away"))
        return len(conns)

    def expire_listen_keys(self, key: str | None = None, as_string: bool = False) -> int:
        expired = self.listen_keys.expire(key)
        self._announce_expiry(expired, as_string)
        return len(expired)

    def _announce_expiry(self, keys: list[str], as_string: bool = False) -> None:
        for conn in list(self.connections):
            if conn.listen_key in keys and not conn.closing:
                if not self._faults.is_silent():
                    conn.push(self._expired_event(conn.listen_key or "", as_string))
                self._later(conn.close(1000, "listenKey expired"))

    def terminate_spot(self) -> int:
        count = 0
        for conn in list(self.connections):
            if conn.venue is not Market.SPOT:
                continue
            for sub_id in list(conn.subscriptions):
                conn.push({"subscriptionId": sub_id,
                           "event": {"e": "eventStreamTerminated", "E": self._now_ms()}})
                del conn.subscriptions[sub_id]
                count += 1
        return count

    def _later(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def housekeeping(self) -> None:
        """listenKey expiry, server pings and missing-pong disconnects."""
        due = [k for k in self.listen_keys.due()
               if any(c.listen_key == k and not c.closing for c in self.connections)]
        self._announce_expiry(due)
        if self._faults.is_silent() or self._faults.user_silent():
            return
        now = self._wall()
        for conn in list(self.connections):
            if conn.closing:
                continue
            interval, timeout = _PING[conn.venue]
            interval = self._ping_interval_s or interval
            timeout = self._pong_timeout_s or timeout
            if conn.unanswered_ping is not None and now - conn.unanswered_ping > timeout:
                self._later(conn.close(1008, "pong timeout"))
                continue
            if now - conn.last_ping >= interval:
                conn.last_ping = now
                if conn.unanswered_ping is None:
                    conn.unanswered_ping = now
                self._later(self._ping(conn))

    @staticmethod
    async def _ping(conn: UserConnection) -> None:
        try:
            await conn.ws.ping(b"")
        except (ConnectionError, RuntimeError):
            pass

    async def stop(self) -> None:
        for conn in list(self.connections):
            self._later(conn.close(1001, "server stopping"))
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
