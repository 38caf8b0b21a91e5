"""USD-M WebSocket API (``/ws-fapi/v1``): orders over a WebSocket, as Binance serves them.

Requests are ``{"id": ..., "method": ..., "params": {...}}``; replies
``{"id": ..., "status": 200, "result": {...}, "rateLimits": [...]}`` or
``{"id": ..., "status": 4xx/5xx, "error": {"code": ..., "msg": ...}, "rateLimits": [...]}``.
Signed params carry ``apiKey``, ``timestamp``, ``signature`` (optional ``recvWindow``), checked
by ``ws_auth`` (the rule of the spot WS API). Methods:
- ``order.place``: the params of ``POST /fapi/v1/order``; the result is that endpoint's body
  (``newOrderRespType`` ACK by default, or RESULT). Conditional types answer -4120.
- ``order.cancel`` / ``order.status``: ``symbol`` and ``orderId`` or ``origClientOrderId``; the
  result is the order as ``DELETE`` / ``GET /fapi/v1/order`` answer it.
- ``session.logon`` (signed; result ``apiKey``, ``authorizedSince``, ``connectedSince``,
  ``returnRateLimits``, ``serverTime``), ``session.status``, ``session.logout``: after a logon,
  requests may leave ``apiKey`` and ``signature`` out (``timestamp`` stays mandatory).
- ``ping`` and ``time``.

An order goes through the same book, matching, ledger and user-data events as a REST one, and
suffers the same ``execute_then_*`` faults (the reply is then replaced by a 5xx error, sent
late, or the connection is cut); refusing faults hit it only when their ``path`` is
``/ws-fapi/v1``. Request weight is charged to the client IP's USD-M budget (-1003 with 429).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.account_rest import SignedContext
from binbot.exchange.clock import WallClock
from binbot.exchange.faults import FaultController, RestFault
from binbot.exchange.orders import usdm_wire
from binbot.exchange.orders.params import optional
from binbot.exchange.orders.usdm import FuturesBook
from binbot.exchange.ratelimit import WeightLimiter
from binbot.exchange.rest import BinanceError
from binbot.exchange.signed_rest import Authenticated, Permission
from binbot.exchange.user_conn import UserConnection
from binbot.exchange.user_streams import UserStreams
from binbot.exchange.ws_auth import authenticate_ws, text_params

_WEIGHTS: Final = {"order.place": 0, "order.cancel": 1, "order.status": 1,
                   "session.logon": 2, "session.status": 2, "session.logout": 2,
                   "ping": 1, "time": 1}
_ORDER_LIMITS: Final = {"10S": ("SECOND", 10, 300), "1M": ("MINUTE", 1, 1200)}


@dataclass(slots=True)
class _Session:
    ip: str
    connected_since: int
    api_key: str | None = None
    authorized_since: int | None = None


class _Reply(Exception):
    """A fault's error answer, after (or instead of) executing."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _load(text: str) -> Any:
    # Decimal keeps numbers as the client wrote them ("43187.00"), which the signature covers.
    return json.loads(text, parse_float=Decimal)


def _plain_id(ident: Any) -> Any:
    return float(ident) if isinstance(ident, Decimal) else ident


class UsdmWsApi:
    def __init__(self, ctx: SignedContext, streams: UserStreams, limiter: WeightLimiter,
                 faults: FaultController, wall: WallClock) -> None:
        self._ctx = ctx
        self._streams = streams
        self._limiter = limiter
        self._faults = faults
        self._wall = wall
        self._sessions: dict[UserConnection, _Session] = {}

    async def serve(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=False, max_msg_size=64 * 1024)
        await ws.prepare(request)
        conn = UserConnection(ws, Market.USDM, self._wall(), request.transport)
        self._sessions[conn] = _Session(request.remote or "unknown", int(self._wall() * 1000))
        try:
            await self._streams.run(request, conn, self.on_text)
        finally:
            self._sessions.pop(conn, None)
        return ws

    # -- replies --------------------------------------------------------------------------------

    def _rate_limits(self, session: _Session, orders: dict[str, str] | None) -> list[Any]:
        limits: list[Any] = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                              "intervalNum": 1, "limit": self._limiter.limit(Market.USDM),
                              "count": self._limiter.used(Market.USDM, session.ip)}]
        for label, used in (orders or {}).items():
            interval, num, limit = _ORDER_LIMITS[label.removeprefix("X-MBX-ORDER-COUNT-")]
            limits.append({"rateLimitType": "ORDERS", "interval": interval, "intervalNum": num,
                           "limit": limit, "count": int(used)})
        return limits

    def on_text(self, conn: UserConnection, text: str) -> None:
        session = self._sessions.get(conn)
        if session is None:
            return
        try:
            request = _load(text)
        except ValueError:
            conn.push(self._error(session, None, -1100, "Malformed request: invalid JSON."))
            return
        if not isinstance(request, dict):
            conn.push(self._error(session, None, -1100,
                                  "Malformed request: expected a JSON object."))
            return
        ident = _plain_id(request.get("id"))
        method = request.get("method")
        params = request.get("params", {})
        if not isinstance(params, dict):
            conn.push(self._error(session, ident, -1100,
                                  "Malformed request: 'params' must be an object."))
            return
        verdict = self._limiter.charge(Market.USDM, session.ip, _WEIGHTS.get(str(method), 1))
        if not verdict.allowed:
            conn.push(self._error(session, ident, -1003, "Too many requests; please use the "
                                  "websocket for live updates to avoid polling the API.", 429))
            return
        if method == "order.place":
            self._place(conn, session, ident, params)
            return
        try:
            result = self._call(session, method, params)
        except BinanceError as e:
            conn.push(self._error(session, ident, e.code, e.msg, e.status))
            return
        conn.push({"id": ident, "status": 200, "result": result,
                   "rateLimits": self._rate_limits(session, None)})

    def _error(self, session: _Session, ident: Any, code: int, msg: str,
               status: int = 400) -> dict[str, Any]:
        return {"id": ident, "status": status, "error": {"code": code, "msg": msg},
                "rateLimits": self._rate_limits(session, None)}

    # -- methods --------------------------------------------------------------------------------

    def _auth(self, session: _Session, params: dict[str, Any],
              permission: Permission) -> tuple[Authenticated, FuturesBook]:
        self._ctx.sync()
        auth = authenticate_ws(self._ctx.gate, params, permission, session.api_key)
        return auth, self._ctx.books.usdm[auth.spec.api_key]

    def _call(self, session: _Session, method: Any, params: dict[str, Any]) -> Any:
        if method == "order.status":
            auth, book = self._auth(session, params, Permission.READ)
            order = book.find_order(auth.params)
            return usdm_wire.order_json(order, book.view.rules(order.symbol))
        if method == "order.cancel":
            auth, book = self._auth(session, params, Permission.FUTURES)
            order = book.cancel(auth.params)
            return usdm_wire.order_json(order, book.view.rules(order.symbol))
        if method == "session.logon":
            auth = authenticate_ws(self._ctx.gate, params, Permission.READ)
            session.api_key = auth.spec.api_key
            session.authorized_since = int(self._wall() * 1000)
            return self._status(session)
        if method == "session.status":
            return self._status(session)
        if method == "session.logout":
            session.api_key = session.authorized_since = None
            return self._status(session)
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self._ctx.now_ms()}
        raise BinanceError(-1020, "This operation is not supported.")

    def _status(self, session: _Session) -> dict[str, Any]:
        return {"apiKey": session.api_key, "authorizedSince": session.authorized_since,
                "connectedSince": session.connected_since, "returnRateLimits": True,
                "serverTime": self._ctx.gate.server_ms()}

    def _place(self, conn: UserConnection, session: _Session, ident: Any,
               params: dict[str, Any]) -> None:
        fault = self._faults.take_ws_order_fault()
        try:
            result, orders = self._execute(session, params, fault)
        except _Reply as reply:
            if fault is not None and fault.kind == "rest_drop":
                conn.abort()
                return
            conn.push(self._error(session, ident, reply.code, reply.msg, reply.status))
            return
        except BinanceError as e:
            conn.push(self._error(session, ident, e.code, e.msg, e.status))
            return
        body = {"id": ident, "status": 200, "result": result,
                "rateLimits": self._rate_limits(session, orders)}
        if fault is None:
            conn.push(body)
        elif fault.kind == "execute_then_drop":
            conn.abort()
        elif fault.kind == "execute_then_delay":
            asyncio.get_running_loop().call_later(fault.delay_s, conn.push, body)
        else:  # execute_then_5xx
            code, msg = _fault_error(fault, self._wall())
            conn.push(self._error(session, ident, code, msg, fault.status))

    def _execute(self, session: _Session, params: dict[str, Any],
                 fault: RestFault | None) -> tuple[Any, dict[str, str]]:
        """Place the order as ``POST /fapi/v1/order`` does, with its ledger entry."""
        ctx = self._ctx
        fault_kind = fault.kind if fault is not None else None
        raw_key = params.get("apiKey")
        api_key = str(raw_key) if raw_key is not None else session.api_key
        if fault is not None and not fault.after_execute:
            code, msg = _fault_error(fault, self._wall())
            ctx.record_entry(Market.USDM, "order", text_params(params), api_key, False, None,
                             code if fault.kind != "rest_drop" else None, fault_kind)
            raise _Reply(fault.status, code, msg)
        try:
            auth, book = self._auth(session, params, Permission.FUTURES)
        except BinanceError as e:
            ctx.record_entry(Market.USDM, "order", text_params(params), api_key, False, None,
                             e.code, fault_kind)
            raise
        api_key = auth.spec.api_key
        try:
            resp_type = optional(auth.params, "newOrderRespType") or "ACK"
            if resp_type not in ("ACK", "RESULT"):
                raise BinanceError(-1100, "Illegal characters found in parameter "
                                          "'newOrderRespType'; legal range is 'ACK, RESULT'.")
            order = book.place(auth.params)
        except BinanceError as e:
            ctx.record_entry(Market.USDM, "order", auth.params, api_key, False, None, e.code,
                             fault_kind)
            raise
        ctx.record_entry(Market.USDM, "order", auth.params, api_key, True, order.order_id, None,
                         fault_kind)
        orders = ctx.orders.count(api_key, Market.USDM)
        rules = book.view.rules(order.symbol)
        body = usdm_wire.order_json(order, rules)
        if resp_type == "ACK":
            body = usdm_wire.acked(body, rules)
        return body, orders


def _fault_error(fault: RestFault, wall_s: float) -> tuple[int, str]:
    if fault.kind == "rest_418":
        until = int((wall_s + (fault.retry_after or 0)) * 1000)
        return -1003, f"Way too much request weight used; IP banned until {until}."
    body = fault.body or {"code": -1000, "msg": "An unknown error occurred."}
    return int(body["code"]), str(body["msg"])
