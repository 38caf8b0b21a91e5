"""WebSocket market streams: connections, subscriptions, fan-out, pings and lifetimes.

Each event is encoded once per stream (and wrapped once for combined connections); the
resulting frame bytes are appended to every subscriber's buffer and written with one
``transport.write`` per connection per replay batch. Connections never negotiate compression,
so those frames are valid as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiohttp import WSMsgType, web

from binbot.domain.market import Market
from binbot.exchange import wire
from binbot.exchange.aggregate import Bar
from binbot.exchange.clock import VirtualClock
from binbot.exchange.faults import FaultController
from binbot.exchange.klinedata import TradeTick
from binbot.exchange.market import MarketEngine, SymbolMarket
from binbot.exchange.streams import Category, Kind, StreamName, deliverable, parse_stream

log = logging.getLogger(__name__)

DAY_MS: Final = 24 * 3600 * 1000
_MAX_STREAMS: Final = 1024


@dataclass(frozen=True, slots=True)
class HubOptions:
    ping_interval_s: float | None = None  # None: Binance's (spot 20 s, USD-M 180 s)
    pong_timeout_s: float | None = None  # None: Binance's (spot 60 s, USD-M 600 s)
    max_lifetime_s: float | None = None  # wall-clock cut in addition to 24 h virtual
    virtual_lifetime_ms: int = DAY_MS
    shutdown_notice_s: float = 1.0  # serverShutdown is sent this long (wall) before the cut
    max_incoming_per_s: float | None = None  # None: Binance's (spot 5, USD-M 10)
    slow_client_bytes: int = 64 * 1024 * 1024  # a client this far behind is dropped


_PING: Final = {Market.SPOT: (20.0, 60.0), Market.USDM: (180.0, 600.0)}
_INCOMING: Final = {Market.SPOT: 5.0, Market.USDM: 10.0}


def text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final text frame (server to client)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def _malformed_frame(mode: str, payload: bytes) -> bytes:
    if mode == "utf8":
        return text_frame(b'{"e":"\xff\xfe"}')
    return text_frame(payload[: max(1, len(payload) // 2)])


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    transport: asyncio.Transport
    venue: Market
    category: Category | None
    combined: bool
    opened_wall: float
    opened_virtual: int
    streams: list[str] = field(default_factory=list)
    buffer: list[bytes] = field(default_factory=list)
    unanswered_ping: float | None = None
    last_ping: float = 0.0
    incoming: deque[float] = field(default_factory=deque)
    notified: bool = False
    closing: bool = False


class WsHub:
    """Implements ``MarketListener``: the engine calls it for every event."""

    def __init__(self, engine: MarketEngine, clock: VirtualClock, faults: FaultController,
                 options: HubOptions) -> None:
        self._engine = engine
        self._clock = clock
        self._faults = faults
        self._options = options
        self._symbols = frozenset(engine.markets)
        self._conns: set[Connection] = set()
        self._subs: dict[tuple[Market, str], list[Connection]] = {}
        self._interest: Counter[tuple[str, str]] = Counter()  # (symbol, interval or "mark")
        self._names = {s: s.lower() for s in engine.markets}
        self._tasks: set[asyncio.Task[None]] = set()
        self.messages_sent = 0
        self.connections_opened = 0
        self._silent = False
        faults.bind_ws(self.drop_all)
        engine.listener = self

    # -- state ---------------------------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    def begin_batch(self) -> None:
        self._silent = self._faults.is_silent()

    def catch_up(self) -> None:
        """Replay everything up to the virtual clock now and write it out."""
        self.begin_batch()
        self._engine.advance(self._clock.now_ms())
        self.flush()

    # -- MarketListener ------------------------------------------------------------------------

    def on_trade(self, market: SymbolMarket, trade: TradeTick) -> None:
        if self._silent:
            return
        lower = self._names[market.symbol]
        subs = self._subs
        for venue in (Market.USDM, Market.SPOT):
            name = lower + "@aggTrade"
            conns = subs.get((venue, name))
            if conns:
                self._publish(conns, name, orjson.dumps(
                    wire.agg_trade_event(venue, market.data, trade)))
            name = lower + "@bookTicker"
            conns = subs.get((venue, name))
            if conns:
                self._publish(conns, name, orjson.dumps(
                    wire.book_ticker_event(venue, market, trade.time)))

    def on_kline(self, market: SymbolMarket, interval: str, bar: Bar, closed: bool,
                 event_time: int) -> None:
        if self._silent:
            return
        lower = self._names[market.symbol]
        name = f"{lower}@kline_{interval}"
        payload: bytes | None = None
        for venue in (Market.USDM, Market.SPOT):
            conns = self._subs.get((venue, name))
            if conns:
                if payload is None:
                    payload = orjson.dumps(
                        wire.kline_event(market.data, interval, bar, closed, event_time))
                self._publish(conns, name, payload)
        name = f"{lower}_perpetual@continuousKline_{interval}"
        conns = self._subs.get((Market.USDM, name))
        if conns:
            self._publish(conns, name, orjson.dumps(
                wire.continuous_kline_event(market.data, interval, bar, closed, event_time)))

    def on_mark(self, market: SymbolMarket, event_time: int) -> None:
        if self._silent:
            return
        lower = self._names[market.symbol]
        payload: bytes | None = None
        names = [lower + "@markPrice@1s"]
        if event_time % 3000 == 0:
            names.append(lower + "@markPrice")
        for name in names:
            conns = self._subs.get((Market.USDM, name))
            if conns:
                if payload is None:
                    payload = orjson.dumps(wire.mark_price_event(market, event_time))
                self._publish(conns, name, payload)

    def _publish(self, conns: list[Connection], name: str, payload: bytes) -> None:
        raw: bytes | None = None
        wrapped: bytes | None = None
        malformed = self._faults.malformed_pending
        for conn in conns:
            if malformed:
                mode = self._faults.take_malformed()
                if mode is not None:
                    conn.buffer.append(_malformed_frame(mode, payload))
                    self.messages_sent += 1
                    continue
                malformed = False
            if conn.combined:
                if wrapped is None:
                    wrapped = text_frame(b'{"stream":"' + name.encode() + b'","data":'
                                         + payload + b"}")
                conn.buffer.append(wrapped)
            else:
                if raw is None:
                    raw = text_frame(payload)
                conn.buffer.append(raw)
        self.messages_sent += len(conns)

    # -- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every connection's pending frames (one write each)."""
        silent = self._silent or self._faults.is_silent()
        limit = self._options.slow_client_bytes
        for conn in self._conns:
            if not conn.buffer:
                continue
            if silent or conn.closing:
                conn.buffer.clear()
                continue
            data = b"".join(conn.buffer)
            conn.buffer.clear()
            transport = conn.transport
            if transport.is_closing():
                continue
            transport.write(data)
            if transport.get_write_buffer_size() > limit:
                log.warning("dropping a WebSocket client %d bytes behind",
                            transport.get_write_buffer_size())
                self._close_soon(conn, 1008, "slow consumer")

    def most_backlogged(self) -> int:
        """The largest unsent byte count of any connection (for backpressure)."""
        return max((c.transport.get_write_buffer_size() for c in self._conns
                    if not c.transport.is_closing()), default=0)

    def _send_now(self, conn: Connection, body: dict[str, Any]) -> None:
        if self._faults.is_silent():
            return
        conn.buffer.append(text_frame(orjson.dumps(body)))
        data = b"".join(conn.buffer)
        conn.buffer.clear()
        if not conn.transport.is_closing():
            conn.transport.write(data)

    # -- subscriptions -------------------------------------------------------------------------

    def _subscribe(self, conn: Connection, names: Iterable[str]) -> None:
        for name in names:
            if name in conn.streams:
                continue
            conn.streams.append(name)
            stream = parse_stream(name)
            if stream is None or not deliverable(stream, conn.venue, conn.category,
                                                 self._symbols):
                continue
            self._subs.setdefault((conn.venue, name), []).append(conn)
            self._add_interest(stream, +1)

    def _unsubscribe(self, conn: Connection, names: Iterable[str]) -> None:
        for name in names:
            if name not in conn.streams:
                continue
            conn.streams.remove(name)
            key = (conn.venue, name)
            conns = self._subs.get(key)
            if conns is None or conn not in conns:
                continue
            conns.remove(conn)
            if not conns:
                del self._subs[key]
            stream = parse_stream(name)
            if stream is not None:  # indexed streams always parse
                self._add_interest(stream, -1)

    def _add_interest(self, stream: StreamName, delta: int) -> None:
        if stream.kind in (Kind.KLINE, Kind.CONTINUOUS_KLINE) and stream.interval is not None:
            key = (stream.symbol, stream.interval)
        elif stream.kind in (Kind.MARK_PRICE, Kind.MARK_PRICE_1S):
            key = (stream.symbol, "mark")
        else:
            return
        before = self._interest[key]
        self._interest[key] = before + delta
        after = self._interest[key]
        if before == 0 and after > 0:
            if key[1] == "mark":
                self._engine.set_mark(key[0], True)
            else:
                self._engine.activate_interval(key[0], key[1])
        elif before > 0 and after == 0:
            del self._interest[key]
            if key[1] == "mark":
                self._engine.set_mark(key[0], False)
            else:
                self._engine.deactivate_interval(key[0], key[1])

    # -- connections ---------------------------------------------------------------------------

    async def serve(self, request: web.Request, venue: Market, category: Category | None,
                    combined: bool, streams: list[str]) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # the client went away during the handshake
            return ws
        now = self._clock.wall_s()
        conn = Connection(ws, transport, venue, category, combined, now, self._engine.now_ms,
                          last_ping=now)
        self._conns.add(conn)
        self.connections_opened += 1
        try:
            self._subscribe(conn, streams[:_MAX_STREAMS])
            async for msg in ws:
                if not self._count_incoming(conn):
                    self._close_soon(conn, 1008, "too many messages")
                    break
                if msg.type is WSMsgType.TEXT:
                    # Data up to now goes out before the reply, as from a live market.
                    self.catch_up()
                    self._on_text(conn, msg.data)
                elif msg.type is WSMsgType.PING:
                    if not self._faults.is_silent():
                        await ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    conn.unanswered_ping = None
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._forget(conn)
        return ws

    def _forget(self, conn: Connection) -> None:
        if conn in self._conns:
            self._conns.discard(conn)
            self._unsubscribe(conn, list(conn.streams))

    def _count_incoming(self, conn: Connection) -> bool:
        limit = self._options.max_incoming_per_s or _INCOMING[conn.venue]
        now = time.monotonic()
        window = conn.incoming
        window.append(now)
        while window and now - window[0] > 1.0:
            window.popleft()
        return len(window) <= limit

    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._send_now(conn, {"error": {"code": 3, "msg": "Invalid JSON: expected value"},
                                  "id": None})
            return
        if not isinstance(request, dict):
            self._send_now(conn, {"error": {"code": 3, "msg": "Invalid JSON: expected object"},
                                  "id": None})
            return
        ident = request.get("id")
        if (ident is not None and not isinstance(ident, int | str)) or isinstance(ident, bool):
            self._send_now(conn, {"error": {"code": 2, "msg": "Invalid request: request ID "
                                            "must be an unsigned integer"}, "id": None})
            return
        method = request.get("method")
        params = request.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                self._send_now(conn, {"error": {"code": 2, "msg": "Invalid request: params "
                                                "must be a list of stream names"}, "id": ident})
                return
            if method == "SUBSCRIBE":
                if len(conn.streams) + len(params) > _MAX_STREAMS:
                    self._send_now(conn, {"error": {"code": 2, "msg": "Invalid request: too "
                                                    "many streams"}, "id": ident})
                    return
                self._subscribe(conn, params)
            else:
                self._unsubscribe(conn, params)
            self._send_now(conn, {"result": None, "id": ident})
        elif method == "LIST_SUBSCRIPTIONS":
            self._send_now(conn, {"result": list(conn.streams), "id": ident})
        else:
            self._send_now(conn, {"error": {"code": 2, "msg": f"Invalid request: unknown "
                                            f"variant {method}, expected one of SUBSCRIBE, "
                                            "UNSUBSCRIBE, LIST_SUBSCRIPTIONS"}, "id": ident})

    def _close_soon(self, conn: Connection, code: int, reason: str) -> None:
        if conn.closing:
            return
        conn.closing = True
        task = asyncio.get_running_loop().create_task(self._close(conn, code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(conn.ws.close(code=code, message=reason.encode()), 2.0)
        except (TimeoutError, ConnectionError):
            conn.transport.abort()

    def drop_all(self, mode: str = "abort") -> int:
        conns = list(self._conns)
        for conn in conns:
            if mode == "abort":
                conn.closing = True
                conn.transport.abort()
            else:
                self._close_soon(conn, 1001, "going away")
        return len(conns)

    async def close_all(self) -> None:
        for conn in list(self._conns):
            self._close_soon(conn, 1001, "server stopping")
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- pings and lifetimes -------------------------------------------------------------------

    def housekeeping(self) -> None:
        """Server pings, missing-pong disconnects and the 24 h cut (run about once a second)."""
        if self._faults.is_silent():
            return  # a dead server neither pings nor cuts
        now = self._clock.wall_s()
        for conn in list(self._conns):
            if conn.closing:
                continue
            self._lifetime(conn, now)
            if conn.closing:
                continue
            interval, timeout = _PING[conn.venue]
            interval = self._options.ping_interval_s or interval
            timeout = self._options.pong_timeout_s or timeout
            if conn.unanswered_ping is not None and now - conn.unanswered_ping > timeout:
                self._close_soon(conn, 1008, "pong timeout")
                continue
            if now - conn.last_ping >= interval:
                conn.last_ping = now
                if conn.unanswered_ping is None:
                    conn.unanswered_ping = now
                payload = str(self._engine.now_ms).encode()
                # Control frames go in between whole data frames: flush first to keep order.
                self._write_pending(conn)
                conn.transport.write(bytes((0x89, len(payload))) + payload)

    def _write_pending(self, conn: Connection) -> None:
        if conn.buffer and not conn.transport.is_closing():
            conn.transport.write(b"".join(conn.buffer))
        conn.buffer.clear()

    def _lifetime(self, conn: Connection, now: float) -> None:
        speed = self._clock.speed
        virtual_left_ms = conn.opened_virtual + self._options.virtual_lifetime_ms \
            - self._clock.now_ms()
        left = virtual_left_ms / speed / 1000.0
        if self._options.max_lifetime_s is not None:
            left = min(left, conn.opened_wall + self._options.max_lifetime_s - now)
        if left <= self._options.shutdown_notice_s and not conn.notified:
            conn.notified = True
            event = wire.server_shutdown_event(self._clock.now_ms())
            body: dict[str, Any] = event if not conn.combined else {
                "stream": "!serverShutdown", "data": event}
            self._send_now(conn, body)
        if left <= 0:
            self._close_soon(conn, 1000, "connection lifetime reached")

    async def stop(self) -> None:
        await self.close_all()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
