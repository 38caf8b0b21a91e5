"""User-data streams: USD-M over a listenKey on ``/private``, spot over a WS-API subscription.

Each stream owns one task that reconnects forever with capped jittered backoff and hands every
decoded item to ``sink`` synchronously (user data is never queued away or dropped). After every
reconnect, key renewal or terminated subscription it emits ``UserStreamReconnected`` once the
new socket listens, so the engine's REST reconciliation cannot miss an event in between.
The listenKey is a bearer credential: it never appears in a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import aiohttp
import msgspec

from binbot.adapters.binance.backoff import Backoff
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.signed_rest import ApiKey
from binbot.adapters.binance.signing import sign_ws_api_params
from binbot.adapters.binance.trading_api import BinanceTradingApi
from binbot.adapters.binance.user_decoder import (
    ListenKeyExpired,
    StreamTerminated,
    Unrecognised,
    UserItem,
    WsApiReply,
    decode_user_message,
)
from binbot.domain.account import UserStreamReconnected
from binbot.domain.errors import ExchangeError, Rejected
from binbot.domain.market import Market

log = logging.getLogger(__name__)

INVALID_LISTEN_KEY: Final = -1125
_SOCKET_ERRORS: Final = (aiohttp.ClientError, OSError, TimeoutError)

UserSink = Callable[[UserItem | UserStreamReconnected], None]


@dataclass(frozen=True, slots=True)
class UserStreamOptions:
    keepalive_s: float = 30 * 60.0  # the key lives 60 min; Binance advises a PUT every 30
    heartbeat_s: float = 30.0
    connect_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    recv_window_ms: int = 5000


class _Stream(ABC):
    """The supervisor loop shared by both venues; subclasses open and prepare the socket."""

    market: Market

    def __init__(self, session: aiohttp.ClientSession, sink: UserSink,
                 options: UserStreamOptions | None) -> None:
        self._session = session
        self._sink = sink
        self.options = options or UserStreamOptions()
        self._backoff = Backoff(self.options.backoff_initial_s, self.options.backoff_max_s)
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.malformed = 0
        self.unrecognised = 0

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"binance-user {self.market}")
        return self._task

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self._after_close()

    async def _after_close(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Venue-specific cleanup (the listenKey DELETE)."""

    @abstractmethod
    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        """Connect (USD-M: the /private URL with a listenKey; spot: the WS API)."""

    async def _prepare(self, ws: aiohttp.ClientWebSocketResponse) -> None:  # noqa: B027
        """Optional hook, no-op by default: run after connecting, before data flows
        (the spot subscription)."""

    def _on_signal(self, item: UserItem) -> str | None:
        """A reason to reconnect, or None to hand the item to the sink."""
        return None

    async def _run(self) -> None:
        first = True
        reason = "start"
        attempts = 0
        while True:
            attempts += 1
            try:
                ws = await self._open()
                try:
                    await self._prepare(ws)
                except BaseException:
                    await ws.close()
                    raise
            except (*_SOCKET_ERRORS, ExchangeError) as e:
                delay = self._backoff.next_delay()
                log.warning("user stream %s: connect failed (%s), retry in %.2f s",
                            self.market.value, e, delay)
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()
            self._ws = ws
            self.connected.set()
            if not first:
                self.reconnects += 1
                self._sink(UserStreamReconnected(self.market, reason, attempts))
            first, attempts = False, 0
            try:
                reason = await self._pump(ws)
            finally:
                self.connected.clear()
                self._ws = None
                with contextlib.suppress(*_SOCKET_ERRORS):
                    await ws.close()
            log.info("user stream %s: %s, reconnecting", self.market.value, reason)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        try:
            async for message in ws:
                if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    continue
                try:
                    item = decode_user_message(message.data)
                except (msgspec.DecodeError, msgspec.ValidationError) as e:
                    # Missed data is recovered by reconciling: count it, log it, go on.
                    self.malformed += 1
                    log.error("user stream %s: malformed message (%s)", self.market.value, e)
                    continue
                if item is None:
                    continue
                if isinstance(item, Unrecognised):
                    self.unrecognised += 1
                    log.info("user stream %s: ignoring event %r", self.market.value,
                             item.event_type)
                    continue
                reason = self._on_signal(item)
                if reason is not None:
                    return reason
                if not isinstance(item, WsApiReply):
                    self._sink(item)
        except _SOCKET_ERRORS as e:
            return f"socket error {type(e).__name__}"
        return "connection closed"


class UsdmUserStream(_Stream):
    """USD-M user data: ``POST`` a listenKey, ``PUT`` it every ``keepalive_s``, connect
    ``<ws_usdm_root>/private/ws?listenKey=…``; a -1125 on ``PUT`` or ``listenKeyExpired``
    gets a new key and a new socket; ``close`` deletes the key."""

    market = Market.USDM

    def __init__(self, api: BinanceTradingApi, session: aiohttp.ClientSession, ws_root: str,
                 sink: UserSink, options: UserStreamOptions | None = None, *,
                 on_secret: Callable[[str], None] | None = None) -> None:
        if api.market is not Market.USDM:
            raise ValueError("UsdmUserStream needs a USD-M trading api")
        super().__init__(session, sink, options)
        self.api = api
        self.ws_root = ws_root.rstrip("/")
        self._on_secret = on_secret
        self._key: str | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self.keys_created = 0
        self.keepalives = 0

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        if self._key is None:
            self._key = await self.api.create_listen_key()
            self.keys_created += 1
            if self._on_secret is not None:
                self._on_secret(self._key)
        url = f"{self.ws_root}/private/ws?listenKey={self._key}"
        async with asyncio.timeout(self.options.connect_timeout_s):
            ws = await self._session.ws_connect(url, heartbeat=self.options.heartbeat_s,
                                                autoping=True, max_msg_size=0)
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.create_task(self._keep_alive(), name="binance-listenkey")
        return ws

    def _on_signal(self, item: UserItem) -> str | None:
        if isinstance(item, ListenKeyExpired):
            self._key = None
            return "listen key expired"
        return None

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.options.keepalive_s)
            if self._key is None:
                continue
            try:
                await self.api.keepalive_listen_key()
                self.keepalives += 1
            except Rejected as e:
                if e.code != INVALID_LISTEN_KEY:
                    log.warning("listenKey keepalive refused: %s", e)
                    continue
                log.warning("listenKey no longer valid (-1125): getting a new one")
                self._key = None
                ws = self._ws
                if ws is not None:
                    await ws.close()  # the supervisor reconnects with a new key
            except ExchangeError as e:
                log.warning("listenKey keepalive failed: %s", e)

    async def _after_close(self) -> None:
        keepalive, self._keepalive = self._keepalive, None
        if keepalive is not None:
            keepalive.cancel()
            await asyncio.wait([keepalive])
        if self._key is not None:
            self._key = None
            try:
                await self.api.delete_listen_key()
            except ExchangeError as e:
                log.warning("listenKey delete failed: %s", e)


class SpotUserStream(_Stream):
    """Spot user data: ``userDataStream.subscribe.signature`` on the WS-API; events arrive
    wrapped as ``{"subscriptionId", "event"}``. ``eventStreamTerminated`` reconnects."""

    market = Market.SPOT

    def __init__(self, session: aiohttp.ClientSession, ws_api_url: str, api_key: ApiKey,
                 clock: ClockOffset, sink: UserSink,
                 options: UserStreamOptions | None = None) -> None:
        super().__init__(session, sink, options)
        self.url = ws_api_url
        self._api_key = api_key
        self._clock = clock
        self._ids = itertools.count(1)
        self.subscription_id: int | None = None

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        async with asyncio.timeout(self.options.connect_timeout_s):
            return await self._session.ws_connect(self.url, heartbeat=self.options.heartbeat_s,
                                                  autoping=True, max_msg_size=0)

    async def _prepare(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        request_id = f"sub-{next(self._ids)}"
        params = sign_ws_api_params(
            {"apiKey": self._api_key.key, "recvWindow": self.options.recv_window_ms,
             "timestamp": self._clock.timestamp_ms()},
            self._api_key.signer,
        )
        request = {"id": request_id, "method": "userDataStream.subscribe.signature",
                   "params": params}
        await ws.send_str(msgspec.json.encode(request).decode())
        async with asyncio.timeout(self.options.connect_timeout_s):
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                reply = decode_user_message(message.data)
                if not isinstance(reply, WsApiReply) or reply.id != request_id:
                    continue
                if reply.status != 200:
                    raise Rejected(reply.error_code or 0, f"subscribe refused: {reply.error_msg}",
                                   reply.status)
                result = msgspec.json.decode(reply.result or b"{}", type=dict[str, int])
                self.subscription_id = result.get("subscriptionId")
                return
        raise aiohttp.ClientConnectionError("socket closed before the subscription answer")

    def _on_signal(self, item: UserItem) -> str | None:
        if isinstance(item, StreamTerminated):
            return "event stream terminated"
        if isinstance(item, WsApiReply):
            if item.status != 200:
                log.error("user stream spot: request %s failed: %s", item.id, item.error_msg)
            return None
        return None
