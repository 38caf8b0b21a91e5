"""Small aiohttp servers speaking the subset of Binance the client tests need (127.0.0.1:0)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

REPO_ROOT = Path(__file__).resolve().parents[4]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "binance"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_bytes(relative))


class FakeTime:
    """A wall clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def wall(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def start_app(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, int(port)


# ----------------------------------------------------------------------------- REST


@dataclass
class Fault:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    raw_query: str


class FakeRest:
    """Klines from a synthetic series, plus a queue of faults served before real answers."""

    def __init__(self, first_open_ms: int, count: int, interval_ms: int = 60_000) -> None:
        self.first_open_ms = first_open_ms
        self.count = count
        self.interval_ms = interval_ms
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.used_weight = 0
        self.max_limit = 1500
        self.server_time_ms = 1_700_000_000_000
        self.app = web.Application()
        self.app.router.add_get("/{prefix:api/v3|fapi/v1}/klines", self.klines)
        self.app.router.add_get("/fapi/v1/continuousKlines", self.klines)
        self.app.router.add_get("/{prefix:api/v3|fapi/v1}/time", self.time)
        self.app.router.add_get("/{prefix:api/v3|fapi/v1}/exchangeInfo", self.exchange_info)
        self.app.router.add_get("/{prefix:api/v3|fapi/v1}/ticker/price", self.fixture_route)
        self.app.router.add_get("/{prefix:api/v3|fapi/v1}/depth", self.fixture_route)
        self.app.router.add_get("/fapi/v1/premiumIndex", self.fixture_route)

    def _record(self, request: web.Request) -> web.Response | None:
        self.requests.append(
            Recorded(request.path, dict(request.query), request.raw_path.partition("?")[2])
        )
        if self.faults:
            fault = self.faults.pop(0)
            body = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            return web.Response(status=fault.status, text=body, headers=fault.headers)
        return None

    def _headers(self, weight: int) -> dict[str, str]:
        self.used_weight += weight
        return {"X-MBX-USED-WEIGHT-1M": str(self.used_weight)}

    def row(self, index: int) -> list[Any]:
        open_ms = self.first_open_ms + index * self.interval_ms
        price = 100.0 + index
        return [
            open_ms, f"{price:.2f}", f"{price + 1:.2f}", f"{price - 1:.2f}", f"{price + 0.5:.2f}",
            "10.5", open_ms + self.interval_ms - 1, "1050.0", 7, "5.25", "525.0", "0",
        ]

    def open_times(self) -> Iterator[int]:
        for index in range(self.count):
            yield self.first_open_ms + index * self.interval_ms

    async def klines(self, request: web.Request) -> web.Response:
        fault = self._record(request)
        if fault is not None:
            return fault
        start = int(request.query.get("startTime", self.first_open_ms))
        end = int(request.query.get("endTime", 2**62))
        limit = min(int(request.query.get("limit", 500)), self.max_limit)
        rows = [
            self.row(i) for i, t in enumerate(self.open_times()) if start <= t <= end
        ][:limit]
        return web.json_response(rows, headers=self._headers(5))

    async def time(self, request: web.Request) -> web.Response:
        fault = self._record(request)
        if fault is not None:
            return fault
        return web.json_response({"serverTime": self.server_time_ms}, headers=self._headers(1))

    async def exchange_info(self, request: web.Request) -> web.Response:
        fault = self._record(request)
        if fault is not None:
            return fault
        name = "futures" if request.path.startswith("/fapi") else "spot"
        body = fixture_bytes(f"recorded/http_responses/http_{name}_market_exchange_info.json")
        return web.Response(body=body, content_type="application/json", headers=self._headers(1))

    async def fixture_route(self, request: web.Request) -> web.Response:
        fault = self._record(request)
        if fault is not None:
            return fault
        name = "futures" if request.path.startswith("/fapi") else "spot"
        endpoint = {
            "price": "ticker_price", "depth": "depth", "premiumIndex": "premium_index",
        }[request.path.rsplit("/", 1)[1]]
        body = fixture_bytes(f"recorded/http_responses/http_{name}_market_{endpoint}.json")
        return web.Response(body=body, content_type="application/json", headers=self._headers(1))


# ----------------------------------------------------------------------------- WebSocket


@dataclass
class FakeSocket:
    path: str
    streams: set[str]
    ws: web.WebSocketResponse
    controls: list[dict[str, Any]] = field(default_factory=list)


class FakeStreams:
    """Combined-stream server on ``/stream``, ``/market/stream`` and ``/public/stream``.

    Sends nothing by itself: tests push messages with ``send``; ``drop`` closes sockets and
    ``mute`` makes the server ignore new data for a path, like a dead peer.
    """

    def __init__(self) -> None:
        self.sockets: list[FakeSocket] = []
        self.connects: list[tuple[str, list[str]]] = []
        self.reject_connects = 0
        self.changed = asyncio.Condition()
        self.app = web.Application()
        for path in ("/stream", "/market/stream", "/public/stream"):
            self.app.router.add_get(path, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        names = [n for n in request.query.get("streams", "").split("/") if n]
        self.connects.append((request.path, names))
        if self.reject_connects > 0:
            self.reject_connects -= 1
            return web.Response(status=503, text="try later")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sock = FakeSocket(request.path, set(names), ws)
        self.sockets.append(sock)
        await self._notify()
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                control = json.loads(message.data)
                sock.controls.append(control)
                if control["method"] == "SUBSCRIBE":
                    sock.streams.update(control["params"])
                elif control["method"] == "UNSUBSCRIBE":
                    sock.streams.difference_update(control["params"])
                await ws.send_str(json.dumps({"result": None, "id": control["id"]}))
                await self._notify()
        finally:
            if sock in self.sockets:
                self.sockets.remove(sock)
            await self._notify()
        return ws

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Any, limit_s: float = 5.0) -> None:
        async with asyncio.timeout(limit_s):
            async with self.changed:
                await self.changed.wait_for(predicate)

    def live(self, path: str | None = None) -> list[FakeSocket]:
        return [s for s in self.sockets if path is None or s.path == path]

    async def send(self, stream: str, data: dict[str, Any] | str) -> int:
        """Send to every socket subscribed to ``stream``; returns how many got it."""
        payload = data if isinstance(data, str) else json.dumps({"stream": stream, "data": data})
        sent = 0
        for sock in list(self.sockets):
            if stream in sock.streams and not sock.ws.closed:
                await sock.ws.send_str(payload)
                sent += 1
        return sent

    async def send_raw(self, sock: FakeSocket, text: str) -> None:
        await sock.ws.send_str(text)

    async def drop(self, path: str | None = None) -> None:
        for sock in self.live(path):
            await sock.ws.close()
