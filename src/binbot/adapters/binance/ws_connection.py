"""One logical market-data connection: a combined stream that never gives up.

A supervisor task owns the socket(s): it reconnects forever with capped jittered backoff and
emits ``Reconnected`` after every break, detects silence (``StaleData``), and replaces the socket
make-before-break before Binance's 24 h cut or on ``serverShutdown`` (old and new overlap; the
router's dedupe drops the doubles, so no ``Reconnected`` is needed there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import aiohttp
import msgspec

from binbot.adapters.binance.backoff import Backoff, WindowLimiter
from binbot.adapters.binance.stream_decoder import ControlReply, ServerShutdown
from binbot.adapters.binance.stream_names import combined_url
from binbot.adapters.binance.stream_router import MessageRouter
from binbot.domain.market import Market
from binbot.domain.market_events import MarketEvent, Reconnected, StaleData
from binbot.domain.streams import StreamKey

log = logging.getLogger(__name__)

_CONNECT_ERRORS: Final = (aiohttp.ClientError, OSError, TimeoutError)
_SUBSCRIBE_BATCH: Final = 100


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Supervision settings (see ``MarketDataSettings``); tests shrink the times to seconds."""

    heartbeat_s: float = 30.0
    stale_after_s: float = 10.0
    rotate_after_s: float = 23.5 * 3600
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 10.0
    rotation_ready_timeout_s: float = 5.0
    url_max_chars: int = 1500


def control_limit(market: Market) -> int:
    """Control frames per second, one below Binance's limit to leave room for pongs."""
    return 4 if market is Market.SPOT else 9


class StreamConnection:
    """A set of stream names on one WebSocket root, kept connected by its own task."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        root: str,
        market: Market,
        streams: Mapping[str, StreamKey],
        sink: Callable[[MarketEvent], None],
        options: StreamOptions,
    ) -> None:
        self.root = root
        self.market = market
        self.names: dict[str, StreamKey] = dict(streams)
        self.reconnects = 0
        self._session = session
        self._sink = sink
        self._options = options
        self.router = MessageRouter(market, sink)
        self._backoff = Backoff(options.backoff_initial_s, options.backoff_max_s)
        self._limiter = WindowLimiter(control_limit(market))
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pumps: dict[aiohttp.ClientWebSocketResponse, asyncio.Task[None]] = {}
        self._ready: dict[aiohttp.ClientWebSocketResponse, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_data_at = time.monotonic()
        self._shutdown_seen = False
        self._next_id = 0
        self._opened_with: set[str] = set()

    # ------------------------------------------------------------------ public

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"binance-ws {self.root}")
            self._task.add_done_callback(self._log_failure)
        return self._task

    def _log_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("stream %s: supervisor died", self.root, exc_info=task.exception())

    def keys(self) -> tuple[StreamKey, ...]:
        return tuple(self.names.values())

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def add(self, streams: Mapping[str, StreamKey]) -> None:
        async with self._lock:
            new = [name for name in streams if name not in self.names]
            self.names.update((name, streams[name]) for name in new)
            if new and self._ws is not None and not self._ws.closed:
                await self._control(self._ws, "SUBSCRIBE", new)

    async def remove(self, names: Iterable[str]) -> None:
        async with self._lock:
            gone = [name for name in names if name in self.names]
            for name in gone:
                del self.names[name]
            self.router.dedupe.forget(gone)
            if gone and self._ws is not None and not self._ws.closed:
                await self._control(self._ws, "UNSUBSCRIBE", gone)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await _cancel_and_wait(task)

    # ------------------------------------------------------------------ supervisor

    async def _run(self) -> None:
        try:
            ws, _ = await self._connect()
            while True:
                try:
                    ws = await self._cycle(ws)
                except _CONNECT_ERRORS as e:
                    # Defensive: _cycle handles these itself; never let the stream die of them.
                    log.warning("stream %s: unexpected %r, reconnecting", self.root, e)
        finally:
            await self._teardown()

    async def _cycle(self, ws: aiohttp.ClientWebSocketResponse) -> aiohttp.ClientWebSocketResponse:
        reason = await self._watch(ws)
        if reason == "rotate":
            return await self._rotate(ws)
        await self._drop(ws)
        self.router.dedupe.forget(self.names)
        new_ws, attempts = await self._connect()
        self.reconnects += 1
        self._sink(Reconnected(self.keys(), attempts))
        return new_ws

    async def _watch(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Wait until the socket drops, goes silent, must rotate, or the server shuts down."""
        options = self._options
        rotate_at = time.monotonic() + options.rotate_after_s
        pump = self._pumps[ws]
        while True:
            self._wake.clear()
            now = time.monotonic()
            if pump.done():
                return "dropped"
            if self._shutdown_seen:
                log.info("stream %s: serverShutdown, replacing the connection", self.root)
                return "rotate"
            if now >= rotate_at:
                return "rotate"
            silent = now - self._last_data_at
            if silent >= options.stale_after_s:
                log.warning("stream %s: silent for %.1f s, reconnecting", self.root, silent)
                self._sink(StaleData(self.keys(), silent))
                return "stale"
            timeout = min(rotate_at - now, options.stale_after_s - silent)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _rotate(
        self, old: aiohttp.ClientWebSocketResponse
    ) -> aiohttp.ClientWebSocketResponse:
        """Make-before-break: open the replacement, let it deliver, then close the old one."""
        self._shutdown_seen = False
        old_pump = self._pumps[old]
        new, _ = await self._connect(swap=False)
        gap = old_pump.done()
        if not gap:
            ready = self._ready[new]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), self._options.rotation_ready_timeout_s)
        async with self._lock:
            self._ws = new
        await self._drop(old)
        if gap:
            self.reconnects += 1
            self._sink(Reconnected(self.keys(), 1))
        return new

    # ------------------------------------------------------------------ sockets

    async def _connect(
        self, *, swap: bool = True
    ) -> tuple[aiohttp.ClientWebSocketResponse, int]:
        """Connect (retrying forever with backoff), subscribe everything, start its pump.

        Returns the socket and the number of attempts it took.
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                ws = await self._open()
            except _CONNECT_ERRORS as e:
                delay = self._backoff.next_delay()
                log.warning("stream %s: connect failed (%r), retry in %.2f s", self.root, e, delay)
                await asyncio.sleep(delay)
                continue
            try:
                async with self._lock:
                    await self._subscribe_rest(ws)
                    if swap or self._ws is None or self._ws.closed:
                        self._ws = ws
            except _CONNECT_ERRORS as e:
                await ws.close()
                delay = self._backoff.next_delay()
                log.warning(
                    "stream %s: subscribe failed (%r), retry in %.2f s", self.root, e, delay
                )
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()
            self._last_data_at = time.monotonic()
            ready = asyncio.Event()
            self._ready[ws] = ready
            self._pumps[ws] = asyncio.create_task(self._pump(ws, ready), name="binance-ws pump")
            return ws, attempts

    def _url_batch(self) -> list[str]:
        batch: list[str] = []
        length = len(self.root) + 16
        for name in self.names:
            length += len(name) + 1
            if batch and length > self._options.url_max_chars:
                break
            batch.append(name)
        return batch

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        url_names = self._url_batch()
        url = combined_url(self.root, url_names) if url_names else f"{self.root}/stream"
        async with asyncio.timeout(self._options.connect_timeout_s):
            ws = await self._session.ws_connect(
                url, heartbeat=self._options.heartbeat_s, autoping=True, max_msg_size=0
            )
        self._opened_with = set(url_names)
        return ws

    async def _subscribe_rest(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Subscribe names that did not fit in the URL or were added while connecting."""
        in_url = self._opened_with
        missing = [name for name in self.names if name not in in_url]
        for start in range(0, len(missing), _SUBSCRIBE_BATCH):
            await self._control(ws, "SUBSCRIBE", missing[start : start + _SUBSCRIBE_BATCH])
        stale = [name for name in in_url if name not in self.names]
        if stale:
            await self._control(ws, "UNSUBSCRIBE", stale)

    async def _control(
        self, ws: aiohttp.ClientWebSocketResponse, method: str, names: list[str]
    ) -> None:
        await self._limiter.acquire()
        self._next_id += 1
        request = {"method": method, "params": names, "id": self._next_id}
        await ws.send_str(msgspec.json.encode(request).decode())

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, ready: asyncio.Event) -> None:
        feed = self.router.feed
        text = aiohttp.WSMsgType.TEXT
        try:
            async for message in ws:
                if message.type is not text and message.type is not aiohttp.WSMsgType.BINARY:
                    continue
                signal = feed(message.data)
                if signal is None:
                    self._last_data_at = time.monotonic()
                    if not ready.is_set():
                        ready.set()
                elif isinstance(signal, ServerShutdown):
                    self._shutdown_seen = True
                    self._wake.set()
                elif isinstance(signal, ControlReply) and signal.error is not None:
                    log.error(
                        "stream %s: request %s failed: %s", self.root, signal.id, signal.error
                    )
        except _CONNECT_ERRORS as e:
            log.info("stream %s: socket error %r", self.root, e)
        finally:
            self._wake.set()

    async def _drop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        pump = self._pumps.pop(ws, None)
        self._ready.pop(ws, None)
        if self._ws is ws:
            self._ws = None
        with contextlib.suppress(*_CONNECT_ERRORS):
            await ws.close()
        if pump is not None:
            await _cancel_and_wait(pump)

    async def _teardown(self) -> None:
        for ws in list(self._pumps):
            with contextlib.suppress(*_CONNECT_ERRORS):
                await self._drop(ws)
        self._ws = None


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel a child task and wait for it without swallowing our own cancellation."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s failed", task.get_name(), exc_info=task.exception())
