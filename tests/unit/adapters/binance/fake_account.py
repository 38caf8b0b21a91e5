"""A small signed-endpoint Binance fake (127.0.0.1:0) for the execution client tests.

It verifies every signature against the raw query it received (HMAC with the secret, Ed25519
with the public key), checks ``timestamp``/``recvWindow`` against its own clock, keeps orders
by client id (market orders fill at once), and serves scripted faults per route. It shares no
code with the client and none with ``binbot.exchange``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import WSMsgType, web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

API_KEY = "test-api-key"
SECRET = "test-secret"


@dataclass
class Script:
    """A scripted answer. ``execute`` first performs the request as normal (the venue
    executed it) and then answers with the fault; ``delay_s`` holds the answer."""

    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    execute: bool = False
    delay_s: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    params: dict[str, str]
    api_key: str | None


def error(code: int, msg: str, status: int = 400) -> Script:
    return Script(status, {"code": code, "msg": msg})


class FakeAccount:
    def __init__(self, *, public_key: Ed25519PublicKey | None = None,
                 secret: str = SECRET, fill_price: str = "50000.0") -> None:
        self.secret = secret
        self.public_key = public_key
        self.fill_price = fill_price
        self.clock_skew_ms = 0
        self.requests: list[Seen] = []
        self.bad_signatures = 0
        self.scripts: dict[tuple[str, str], list[Script]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.algo_orders: dict[str, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.hide_queries = 0  # answer -2013 to this many order queries (Memory->DB lag)
        self.next_id = 1000
        self.hedge = False
        self.restrictions = {"enableWithdrawals": False, "enableInternalTransfer": False,
                             "permitsUniversalTransfer": False, "enableReading": True}
        self.listen_keys: list[str] = []
        self.keepalive_answers: list[Script] = []
        self.keepalives = 0
        self.deleted_keys: list[str] = []
        self.sockets: list[tuple[str, web.WebSocketResponse]] = []
        self.socket_changed = asyncio.Event()
        self.app = web.Application()
        r = self.app.router
        for prefix in ("/fapi/v1", "/api/v3"):
            r.add_get(f"{prefix}/time", self.server_time)
            r.add_route("*", f"{prefix}/order", self.order)
            r.add_get(f"{prefix}/openOrders", self.open_orders)
        r.add_route("*", "/fapi/v1/algoOrder", self.algo_order)
        r.add_get("/fapi/v1/openAlgoOrders", self.open_algo_orders)
        r.add_get("/fapi/v1/userTrades", self.user_trades)
        r.add_get("/api/v3/myTrades", self.user_trades)
        r.add_get("/fapi/v1/positionSide/dual", self.position_mode)
        r.add_post("/fapi/v1/leverage", self.leverage)
        r.add_post("/fapi/v1/marginType", self.margin_type)
        r.add_get("/sapi/v1/account/apiRestrictions", self.api_restrictions)
        r.add_route("*", "/fapi/v1/listenKey", self.listen_key)
        r.add_get("/private/ws", self.private_ws)
        r.add_get("/ws-api/v3", self.ws_api)
        self.api_sockets: list[web.WebSocketResponse] = []
        self.subscribe_requests: list[tuple[dict[str, Any], bool]] = []

    # ------------------------------------------------------------------ plumbing

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_skew_ms

    def script(self, method: str, path: str, *answers: Script) -> None:
        self.scripts.setdefault((method, path), []).extend(answers)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.requests if s.method == method and s.path == path]

    def _verify(self, raw: str) -> bool:
        payload, _, signature = raw.rpartition("&signature=")
        if not payload:
            return False
        if self.public_key is not None:
            try:
                self.public_key.verify(base64.b64decode(unquote(signature)), payload.encode())
            except (InvalidSignature, ValueError):
                return False
            return True
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.lower())

    async def _enter(self, request: web.Request, *, signed: bool = True
                     ) -> tuple[dict[str, str], web.Response | None, Script | None]:
        raw = request.raw_path.partition("?")[2]
        params = dict(parse_qsl(raw, keep_blank_values=True))
        self.requests.append(Seen(request.method, request.path, raw, params,
                                  request.headers.get("X-MBX-APIKEY")))
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return params, _json({"code": -2015, "msg": "Invalid API-key."}, 401), None
        if signed:
            if not self._verify(raw):
                self.bad_signatures += 1
                return params, _json({"code": -1022, "msg": "Signature is not valid."}, 400), None
            now = self.now_ms()
            stamp = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
            if stamp >= now + 1000 or now - stamp > window:
                return params, _json({"code": -1021, "msg": "Timestamp outside recvWindow."},
                                     400), None
        queue = self.scripts.get((request.method, request.path))
        if queue:
            script = queue.pop(0)
            if not script.execute:
                await asyncio.sleep(script.delay_s)
                return params, _scripted(script), None
            return params, None, script
        return params, None, None

    async def _finish(self, answer: web.Response, script: Script | None) -> web.Response:
        if script is None:
            return answer
        await asyncio.sleep(script.delay_s)
        return _scripted(script)

    # ------------------------------------------------------------------ routes

    async def server_time(self, request: web.Request) -> web.Response:
        self.requests.append(Seen(request.method, request.path, "", {}, None))
        return _json({"serverTime": self.now_ms()})

    async def order(self, request: web.Request) -> web.Response:
        params, early, script = await self._enter(request)
        if early is not None:
            return early
        futures = request.path.startswith("/fapi")
        if request.method == "POST":
            cid = params["newClientOrderId"]
            existing = self.orders.get(cid)
            if existing is not None and existing["status"] in ("NEW", "PARTIALLY_FILLED"):
                return _json({"code": -4116 if futures else -2010,
                              "msg": "ClientOrderId is duplicated." if futures
                              else "Duplicate order sent."}, 400)
            return await self._finish(_json(self._create(params, futures)), script)
        cid = params.get("origClientOrderId")
        found = self.orders.get(cid) if cid else next(
            (o for o in self.orders.values() if str(o["orderId"]) == params.get("orderId")),
            None)
        if request.method == "GET":
            if found is None or self.hide_queries > 0:
                self.hide_queries = max(0, self.hide_queries - 1)
                return _json({"code": -2013, "msg": "Order does not exist."}, 400)
            return await self._finish(_json(found), script)
        if request.method == "DELETE":
            if found is None or found["status"] not in ("NEW", "PARTIALLY_FILLED"):
                return _json({"code": -2011, "msg": "Unknown order sent."}, 400)
            found["status"] = "CANCELED"
            return await self._finish(_json(found), script)
        return _json({"code": -1000, "msg": "method"}, 405)

    def _create(self, params: dict[str, str], futures: bool) -> dict[str, Any]:
        self.next_id += 1
        qty = params["quantity"]
        market = params["type"] == "MARKET"
        order: dict[str, Any] = {
            "symbol": params["symbol"], "orderId": self.next_id,
            "clientOrderId": params["newClientOrderId"], "side": params["side"],
            "type": params["type"], "origQty": qty, "price": params.get("price", "0"),
            "status": "FILLED" if market else "NEW",
            "executedQty": qty if market else "0", "reduceOnly": params.get("reduceOnly") == "true",
            "time": self.now_ms(), "updateTime": self.now_ms(),
        }
        if futures:
            order["avgPrice"] = self.fill_price if market else "0"
        else:
            order["cummulativeQuoteQty"] = str(float(qty) * float(self.fill_price))
        self.orders[order["clientOrderId"]] = order
        if market:
            self.next_id += 1
            trade = {"symbol": params["symbol"], "id": self.next_id, "orderId": order["orderId"],
                     "side": params["side"], "price": self.fill_price, "qty": qty,
                     "commission": "0.02", "commissionAsset": "USDT", "time": self.now_ms(),
                     "buyer": params["side"] == "BUY", "maker": False,
                     "isBuyer": params["side"] == "BUY", "isMaker": False}
            self.trades.append(trade)
        return order

    async def algo_order(self, request: web.Request) -> web.Response:
        params, early, script = await self._enter(request)
        if early is not None:
            return early
        if request.method == "POST":
            self.next_id += 1
            algo = {"algoId": self.next_id, "clientAlgoId": params["clientAlgoId"],
                    "algoType": params["algoType"], "orderType": params["type"],
                    "symbol": params["symbol"], "side": params["side"],
                    "quantity": params["quantity"], "triggerPrice": params["triggerPrice"],
                    "algoStatus": "NEW", "reduceOnly": params.get("reduceOnly") == "true",
                    "createTime": self.now_ms(), "updateTime": self.now_ms()}
            self.algo_orders[algo["clientAlgoId"]] = algo
            return await self._finish(_json(algo), script)
        found = self.algo_orders.get(params.get("clientAlgoId", ""))
        if found is None:
            return _json({"code": -2013, "msg": "Order does not exist."}, 400)
        if request.method == "DELETE":
            found["algoStatus"] = "CANCELED"
        return await self._finish(_json(found), script)

    async def open_orders(self, request: web.Request) -> web.Response:
        _params, early, _ = await self._enter(request)
        if early is not None:
            return early
        return _json([o for o in self.orders.values() if o["status"] == "NEW"])

    async def open_algo_orders(self, request: web.Request) -> web.Response:
        _params, early, _ = await self._enter(request)
        if early is not None:
            return early
        return _json([o for o in self.algo_orders.values() if o["algoStatus"] == "NEW"])

    async def user_trades(self, request: web.Request) -> web.Response:
        params, early, _ = await self._enter(request)
        if early is not None:
            return early
        rows = [t for t in self.trades if t["symbol"] == params["symbol"]]
        if "orderId" in params:
            rows = [t for t in rows if str(t["orderId"]) == params["orderId"]]
        if "fromId" in params:
            rows = [t for t in rows if t["id"] >= int(params["fromId"])]
        return _json(rows)

    async def position_mode(self, request: web.Request) -> web.Response:
        _, early, _ = await self._enter(request)
        return early or _json({"dualSidePosition": self.hedge})

    async def leverage(self, request: web.Request) -> web.Response:
        params, early, script = await self._enter(request)
        if early is not None:
            return early
        answer = _json({"leverage": int(params["leverage"]), "symbol": params["symbol"]})
        return await self._finish(answer, script)

    async def margin_type(self, request: web.Request) -> web.Response:
        _, early, script = await self._enter(request)
        return early or await self._finish(_json({"code": 200, "msg": "success"}), script)

    async def api_restrictions(self, request: web.Request) -> web.Response:
        _, early, _ = await self._enter(request)
        return early or _json(self.restrictions)

    async def listen_key(self, request: web.Request) -> web.Response:
        _, early, _ = await self._enter(request, signed=False)
        if early is not None:
            return early
        if request.method == "POST":
            key = f"key{len(self.listen_keys) + 1}" + "x" * 56
            self.listen_keys.append(key)
            return _json({"listenKey": key})
        if request.method == "PUT":
            self.keepalives += 1
            if self.keepalive_answers:
                return _scripted(self.keepalive_answers.pop(0))
            return _json({"listenKey": self.listen_keys[-1]})
        self.deleted_keys.append(self.listen_keys[-1])
        return _json({})

    async def private_ws(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey", "")
        if key not in self.listen_keys or key in self.deleted_keys:
            return web.Response(status=400, text="invalid listenKey")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append((key, ws))
        self.socket_changed.set()
        async for message in ws:
            if message.type is WSMsgType.CLOSE:
                break
        return ws

    async def ws_api(self, request: web.Request) -> web.StreamResponse:
        """Spot WS-API: ``userDataStream.subscribe.signature`` checked like Binance (HMAC over
        the params sorted by name, not percent-encoded)."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            req = json.loads(message.data)
            params = req["params"]
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
            expected = hmac.new(self.secret.encode(), payload.encode(),
                                hashlib.sha256).hexdigest()
            ok = params.get("apiKey") == API_KEY and hmac.compare_digest(
                expected, str(params.get("signature", "")))
            self.subscribe_requests.append((req, ok))
            if not ok:
                await ws.send_str(json.dumps({"id": req["id"], "status": 400, "error": {
                    "code": -1022, "msg": "Signature for this request is not valid."}}))
                continue
            await ws.send_str(json.dumps({"id": req["id"], "status": 200,
                                          "result": {"subscriptionId": len(self.api_sockets)}}))
            self.api_sockets.append(ws)
            self.socket_changed.set()
        return ws


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _scripted(script: Script) -> web.Response:
    body = script.body if isinstance(script.body, str) else json.dumps(script.body or {})
    return web.Response(status=script.status, text=body, headers=script.headers,
                        content_type="application/json")
