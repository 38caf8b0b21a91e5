"""Spot WebSocket API (``/ws-api/v3``): the user data stream subscription.

Requests are ``{"id": ..., "method": ..., "params": {...}}``; replies
``{"id": ..., "status": 200, "result": ..., "rateLimits": [...]}`` or
``{"id": ..., "status": 4xx, "error": {"code": ..., "msg": ...}}``. Methods:
- ``userDataStream.subscribe.signature`` (``apiKey``, ``timestamp``, ``signature``,
  optional ``recvWindow``): signed over every param but ``signature``, sorted by name and not
  percent-encoded (HMAC hex or Ed25519 base64). Result ``{"subscriptionId": N}``; the account's
  events then arrive as ``{"subscriptionId": N, "event": {...}}``. One per account per
  connection (-2035 otherwise).
- ``userDataStream.unsubscribe`` (optional ``subscriptionId``), ``session.subscriptions``,
  ``ping``, ``time``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.clock import WallClock
from binbot.exchange.rest import BinanceError
from binbot.exchange.signed_rest import SignedGate
from binbot.exchange.user_conn import UserConnection
from binbot.exchange.user_streams import UserStreams
from binbot.exchange.ws_auth import authenticate_ws

_RATE_LIMITS: Final = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                        "intervalNum": 1, "limit": 6000, "count": 2}]


def _error(ident: Any, code: int, msg: str, status: int = 400) -> dict[str, Any]:
    return {"id": ident, "status": status, "error": {"code": code, "msg": msg},
            "rateLimits": _RATE_LIMITS}


def _ok(ident: Any, result: Any) -> dict[str, Any]:
    return {"id": ident, "status": 200, "result": result, "rateLimits": _RATE_LIMITS}


class WsApi:
    def __init__(self, gate: SignedGate, streams: UserStreams, wall: WallClock,
                 virtual_now: Callable[[], int]) -> None:
        self._gate = gate
        self._streams = streams
        self._wall = wall
        self._virtual_now = virtual_now

    async def serve(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=False, max_msg_size=64 * 1024)
        await ws.prepare(request)
        conn = UserConnection(ws, Market.SPOT, self._wall(), request.transport)
        await self._streams.run(request, conn, self.on_text)
        return ws

    def on_text(self, conn: UserConnection, text: str) -> None:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.push(_error(None, -1100, "Malformed request: invalid JSON."))
            return
        if not isinstance(request, dict):
            conn.push(_error(None, -1100, "Malformed request: expected a JSON object."))
            return
        ident = request.get("id")
        method = request.get("method")
        params = request.get("params", {})
        if not isinstance(params, dict):
            conn.push(_error(ident, -1100, "Malformed request: 'params' must be an object."))
            return
        try:
            conn.push(_ok(ident, self._call(conn, method, params)))
        except BinanceError as e:
            conn.push(_error(ident, e.code, e.msg, e.status))

    def _call(self, conn: UserConnection, method: Any, params: dict[str, Any]) -> Any:
        if method == "userDataStream.subscribe.signature":
            return self._subscribe(conn, params)
        if method == "userDataStream.unsubscribe":
            sub = params.get("subscriptionId")
            if sub is None:
                conn.subscriptions.clear()
            elif conn.subscriptions.pop(int(sub), None) is None:
                raise BinanceError(-2036, "Subscription not found.")
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in conn.subscriptions]
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self._virtual_now()}
        raise BinanceError(-1020, "This operation is not supported.")

    def _subscribe(self, conn: UserConnection, params: dict[str, Any]) -> dict[str, Any]:
        spec = authenticate_ws(self._gate, params).spec
        if spec.api_key in conn.subscriptions.values():
            raise BinanceError(-2035, "User Data Stream subscription already active.")
        sub_id = conn.next_subscription
        conn.next_subscription += 1
        conn.subscriptions[sub_id] = spec.api_key
        return {"subscriptionId": sub_id}
