"""What happens to every Binance REST request before and after its handler.

Counting (per path, for ``/__sim/state``), injected faults, request weight per IP with
``X-MBX-USED-WEIGHT-1M`` and 429 (-1003) when over the limit, and Binance error bodies.

Faults marked ``after_execute`` let the handler run first (the order executes) and then replace
its reply (5xx), hold it (delay) or cut the connection (drop). The fault's kind is left in
``request[FAULT_KEY]`` so the order handlers can note it in the ledger; faults that answer
before the handler are reported to ``on_refused`` for order placements.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.clock import WallClock
from binbot.exchange.faults import FaultController, RestFault
from binbot.exchange.ratelimit import WeightLimiter
from binbot.exchange.rest import BinanceError, Endpoint, Handler, error_response

FAULT_KEY = web.RequestKey("binbot.fault", str)
Refused = Callable[[web.Request, str, int | None], Awaitable[None]]


def _venue(path: str) -> Market | None:
    if path.startswith("/fapi/"):
        return Market.USDM
    if path.startswith(("/api/", "/sapi/")):
        return Market.SPOT
    return None


def _drop(request: web.Request) -> web.Response:
    """Cut the connection: the client sees it reset, with no reply."""
    if request.transport is not None:
        request.transport.abort()
    # aiohttp notices the transport is gone and writes nothing.
    return web.Response(status=500)


class RequestPolicy:
    def __init__(self, endpoints: Iterable[Endpoint], limiter: WeightLimiter,
                 faults: FaultController, wall: WallClock,
                 on_refused: Refused | None = None) -> None:
        self._endpoints = {(e.method, e.path): e for e in endpoints}
        self._limiter = limiter
        self._faults = faults
        self._wall = wall
        self._on_refused = on_refused
        self.requests: Counter[str] = Counter()

    def _weight_headers(self, venue: Market, used: int) -> dict[str, str]:
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if venue is Market.SPOT:
            headers["X-MBX-USED-WEIGHT"] = str(used)
        return headers

    def _fault_response(self, fault: RestFault, venue: Market, ip: str) -> web.Response:
        headers = self._weight_headers(venue, self._limiter.used(venue, ip))
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.kind == "rest_418":
            until = int((self._wall() + (fault.retry_after or 0)) * 1000)
            return error_response(-1003, f"Way too much request weight used; IP banned until "
                                         f"{until}. Please use WebSocket Streams for live "
                                         "updates to avoid bans.", 418, headers)
        body = fault.body or {"code": -1000, "msg": "An unknown error occurred."}
        return error_response(int(body["code"]), str(body["msg"]), fault.status, headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        venue = _venue(path)
        if venue is None:
            return await handler(request)
        self.requests[path] += 1
        ip = request.remote or "unknown"
        fault = self._faults.take_rest_fault(path, request.method)
        if fault is not None and fault.after_execute:
            request[FAULT_KEY] = fault.kind
            response = await self._answer(request, handler, venue, ip)
            if fault.kind == "execute_then_delay":
                await asyncio.sleep(fault.delay_s)
                return response
            if fault.kind == "execute_then_drop":
                return _drop(request)
            return self._fault_response(fault, venue, ip)
        if fault is not None:
            if fault.kind == "rest_delay":
                await asyncio.sleep(fault.delay_s)
            else:
                if self._on_refused is not None and request.method == "POST":
                    code = int(fault.body["code"]) if fault.body else (
                        -1003 if fault.kind == "rest_418" else None)
                    await self._on_refused(request, fault.kind, code)
                if fault.kind == "rest_drop":
                    return _drop(request)
                return self._fault_response(fault, venue, ip)
        return await self._answer(request, handler, venue, ip)

    async def _answer(self, request: web.Request, handler: Handler, venue: Market,
                      ip: str) -> web.StreamResponse:
        endpoint = self._endpoints.get((request.method, request.path))
        if endpoint is None:
            try:
                return await handler(request)
            except BinanceError as e:
                return error_response(e.code, e.msg, e.status)
        try:
            weight = endpoint.weight(request.query)
        except BinanceError:
            weight = 1
        verdict = self._limiter.charge(venue, ip, weight)
        headers = self._weight_headers(venue, verdict.used)
        if not verdict.allowed:
            headers["Retry-After"] = str(verdict.retry_after_s)
            limit = self._limiter.limit(venue)
            return error_response(-1003, f"Too many requests; current limit of IP({ip}) is "
                                         f"{limit} requests per minute. Please use the "
                                         "websocket for live updates to avoid polling the API.",
                                  429, headers)
        try:
            response = await handler(request)
        except BinanceError as e:
            return error_response(e.code, e.msg, e.status, headers)
        response.headers.update(headers)
        return response
