"""``WsApiOrderTransport``: signed requests over one persistent WebSocket API connection.

The USD-M WebSocket API answers the same order JSON as REST with less latency (no TLS handshake
or HTTP framing per order). A request is ``{"id", "method", "params"}`` with ``apiKey``,
``recvWindow``, ``timestamp`` and ``signature`` inside ``params`` (signing.py); the answer carries
the same ``id`` with ``status`` 200 and ``result``, or an HTTP-like ``status`` and
``error: {code, msg}``, which goes through the one classifier (errors.py).

Outcome rules are those of a REST mutation (reliability.md §1): a request whose answer does not
arrive within ``timeout_s``, or that was in flight when the connection dropped, or whose send
failed, may have executed: ``UnknownOutcome`` for a mutation, never resent. Only a failure to
connect proves nothing was sent (``TransientError``). ``-1021``/``-5028`` (refused before the
matching engine) resync the clock and re-sign and resend once, as the REST transport does.

After a drop the transport reconnects in the background (capped backoff), and a request finding
no connection connects first. A late answer to a request that already timed out is logged and
dropped: the execution client's resolver learns the outcome by querying.

Weight: each request passes the REST weight gate of the market (per IP, shared with REST), and
429/418 close that gate. The WS-API usage counts are not fed back into the gate: its count is
the REST header's, and the two may be different counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import aiohttp
import msgspec

from binbot.adapters.binance.backoff import Backoff
from binbot.adapters.binance.clock import ClockOffset
from binbot.adapters.binance.errors import classify, classify_network
from binbot.adapters.binance.signed_rest import ApiKey, SignedTransport
from binbot.adapters.binance.signing import ParamValue, sign_ws_api_params
from binbot.adapters.binance.weights import WeightGate
from binbot.domain.errors import (
    ExchangeError,
    IPBanned,
    RateLimited,
    TimestampError,
    TransientError,
)

log = logging.getLogger(__name__)

_CONNECT_ERRORS: Final = (aiohttp.ClientError, TimeoutError, OSError)


class _WsError(msgspec.Struct):
    code: int | None = None
    msg: str = ""
    data: dict[str, object] | None = None


class _Answer(msgspec.Struct):
    id: int | str | None = None
    status: int = 0
    result: msgspec.Raw = msgspec.Raw(b"")  # the result's JSON, undecoded (empty: none)
    error: _WsError | None = None


_answer_decoder: Final = msgspec.json.Decoder(_Answer)


class ConnectionDropped(ConnectionError):
    """The connection closed while a request waited for its answer."""


@dataclass(eq=False)
class _Connection:
    ws: aiohttp.ClientWebSocketResponse
    pending: dict[int, asyncio.Future[_Answer]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None


class WsApiOrderTransport:
    """Signed request/answer pairs over one WebSocket API connection (USD-M order entry)."""

    def __init__(
        self,
        url: str,
        api_key: ApiKey,
        *,
        session: aiohttp.ClientSession,
        clock: ClockOffset,
        gate: WeightGate | None = None,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        heartbeat_s: float = 20.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        resync_clock: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if not 1 <= recv_window_ms <= 60_000:
            raise ValueError(f"recv_window_ms must be within 1..60000, was {recv_window_ms}")
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"WS-API url must be ws:// or wss://, was {url!r}")
        self.url = url
        self._api_key = api_key
        self._session = session
        self.clock = clock
        self.gate = gate
        self.recv_window_ms = recv_window_ms
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.heartbeat_s = heartbeat_s
        self._backoff = Backoff(backoff_initial_s, backoff_max_s)
        self._resync_clock = resync_clock
        self._ids = itertools.count(1)
        self._conn: _Connection | None = None
        self._connect_lock = asyncio.Lock()
        self._reconnector: asyncio.Task[None] | None = None
        self._closed = False
        self.connects = 0  # connections opened (the first one included)
        self.sent = 0  # request frames handed to the socket
        self.late_answers = 0  # answers that arrived after their request gave up

    @classmethod
    def beside(cls, rest: SignedTransport, url: str, *, timeout_s: float = 10.0
               ) -> WsApiOrderTransport:
        """A WS-API transport sharing ``rest``'s key, session, clock, weight gate,
        ``recvWindow`` and clock resync."""
        return cls(url, rest.api_key, session=rest.session, clock=rest.clock, gate=rest.gate,
                   recv_window_ms=rest.recv_window_ms, timeout_s=timeout_s,
                   resync_clock=rest.resync_clock)

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.ws.closed

    # ------------------------------------------------------------------ requests

    async def request(
        self,
        method: str,
        params: Sequence[tuple[str, ParamValue]],
        *,
        mutation: bool,
        weight: int = 1,
    ) -> bytes:
        """Send one signed request; return the raw JSON of ``result`` (as a REST body) or
        raise the domain error its answer, its absence or the connection means."""
        clock_retry = True
        while True:
            try:
                return await self._attempt(method, params, mutation=mutation, weight=weight)
            except TimestampError as e:
                if not clock_retry:
                    raise
                clock_retry = False
                log.warning("WS-API %s: %s; resyncing the clock and re-signing once", method, e)
                if self._resync_clock is not None:
                    await self._resync_clock()
            except (IPBanned, RateLimited) as e:
                if self.gate is not None:
                    self.gate.close_for(e.retry_after)
                raise

    async def _attempt(self, method: str, params: Sequence[tuple[str, ParamValue]], *,
                       mutation: bool, weight: int) -> bytes:
        if self.gate is not None:
            await self.gate.acquire(weight)
        conn = await self._connection()  # TransientError when it cannot connect: not sent
        request_id = next(self._ids)
        signed = sign_ws_api_params(
            {**dict(params), "apiKey": self._api_key.key, "recvWindow": self.recv_window_ms,
             "timestamp": self.clock.timestamp_ms()},
            self._api_key.signer,
        )
        frame = msgspec.json.encode({"id": request_id, "method": method, "params": signed})
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        conn.pending[request_id] = future
        try:
            self.sent += 1
            await conn.ws.send_str(frame.decode())
            async with asyncio.timeout(self.timeout_s):
                answer = await future
        except (aiohttp.ClientError, ConnectionError, TimeoutError, OSError) as e:
            # The frame may have left (a write can fail after the bytes did): unknown.
            raise classify_network(e, mutation=mutation, sent=True) from e
        finally:
            conn.pending.pop(request_id, None)
        return self._result(answer, mutation=mutation)

    def _result(self, answer: _Answer, *, mutation: bool) -> bytes:
        if answer.status == 200 and len(answer.result):
            return bytes(answer.result)
        error = answer.error or _WsError(None, f"no result in a status {answer.status} answer")
        raise classify(answer.status, error.code, error.msg, mutation=mutation,
                       retry_after=self._retry_after(error))

    def _retry_after(self, error: _WsError) -> float | None:
        """429/418 answers carry ``data.retryAfter``: the epoch ms when requests may resume."""
        until = (error.data or {}).get("retryAfter")
        if not isinstance(until, int) or isinstance(until, bool):
            return None
        return max(0.0, (until - self.clock.now_ms()) / 1000.0)

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        """Open the connection now (else the first request does); raises ``TransientError``."""
        await self._connection()

    async def _connection(self) -> _Connection:
        conn = self._conn
        if conn is not None and not conn.ws.closed:
            return conn
        async with self._connect_lock:
            conn = self._conn
            if conn is not None and not conn.ws.closed:
                return conn
            if self._closed:
                raise TransientError("WS-API transport closed")
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    ws = await self._session.ws_connect(
                        self.url, heartbeat=self.heartbeat_s, autoping=True, max_msg_size=0
                    )
            except _CONNECT_ERRORS as e:
                raise TransientError(f"WS-API connect to {self.url} failed: {e!r}") from e
            conn = _Connection(ws)
            conn.reader = asyncio.create_task(self._read(conn), name="binance-ws-api reader")
            self._conn = conn
            self.connects += 1
            self._backoff.reset()
            return conn

    async def _read(self, conn: _Connection) -> None:
        try:
            async for message in conn.ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    self._dispatch(conn, message.data)
                elif message.type is aiohttp.WSMsgType.ERROR:
                    break
        except _CONNECT_ERRORS as e:
            log.warning("WS-API connection to %s failed: %r", self.url, e)
        finally:
            # Everything still waiting was in flight when the connection went: it may
            # have executed, and no answer will come on another connection.
            dropped = ConnectionDropped(f"WS-API connection to {self.url} dropped")
            for future in conn.pending.values():
                if not future.done():
                    future.set_exception(dropped)
            if not conn.ws.closed:
                with contextlib.suppress(*_CONNECT_ERRORS):
                    await conn.ws.close()
            if self._conn is conn and not self._closed:
                log.warning("WS-API connection to %s dropped; reconnecting", self.url)
                self._reconnector = asyncio.create_task(self._reconnect(),
                                                        name="binance-ws-api reconnect")

    def _dispatch(self, conn: _Connection, text: str) -> None:
        try:
            answer = _answer_decoder.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("WS-API: undecodable frame %r", text[:200])
            return
        future = conn.pending.get(answer.id) if isinstance(answer.id, int) else None
        if future is None or future.done():
            self.late_answers += 1
            log.warning("WS-API: answer to request %r that no longer waits (status %s)",
                        answer.id, answer.status)
            return
        future.set_result(answer)

    async def _reconnect(self) -> None:
        while not self._closed and not self.connected:
            try:
                await self._connection()
            except ExchangeError as e:
                delay = self._backoff.next_delay()
                log.warning("WS-API reconnect failed (%s); retry in %.2f s", e, delay)
                await asyncio.sleep(delay)

    async def close(self) -> None:
        self._closed = True
        reconnector, self._reconnector = self._reconnector, None
        if reconnector is not None:
            reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconnector
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.ws.close()
            if conn.reader is not None:
                await conn.reader

    async def __aenter__(self) -> WsApiOrderTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
