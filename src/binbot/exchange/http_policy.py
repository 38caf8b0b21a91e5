"""What happens to every Binance REST request before and after its handler.

Counting (per path, for ``/__sim/state``), injected faults, request weight per IP with
``X-MBX-USED-WEIGHT-1M`` and 429 (-1003) when over the limit, and Binance error bodies.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.clock import WallClock
from binbot.exchange.faults import FaultController, RestFault
from binbot.exchange.ratelimit import WeightLimiter
from binbot.exchange.rest import BinanceError, Endpoint, Handler, error_response


def _venue(path: str) -> Market | None:
    if path.startswith("/fapi/"):
        return Market.USDM
    if path.startswith("/api/"):
        return Market.SPOT
    return None


class RequestPolicy:
    def __init__(self, endpoints: Iterable[Endpoint], limiter: WeightLimiter,
                 faults: FaultController, wall: WallClock) -> None:
        self._endpoints = {e.path: e for e in endpoints}
        self._limiter = limiter
        self._faults = faults
        self._wall = wall
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
        fault = self._faults.take_rest_fault(path)
        if fault is not None:
            if fault.kind == "rest_delay":
                await asyncio.sleep(fault.delay_s)
            else:
                return self._fault_response(fault, venue, ip)
        endpoint = self._endpoints.get(path)
        if endpoint is None:
            return await handler(request)
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
