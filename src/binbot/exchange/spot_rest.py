"""Spot signed REST: orders, trades, the account and the key's restrictions.

Endpoints (SIGNED): ``POST/GET/DELETE /api/v3/order``, ``GET/DELETE /api/v3/openOrders``,
``GET /api/v3/allOrders``, ``GET /api/v3/myTrades``, ``GET /api/v3/account``,
``GET /sapi/v1/account/apiRestrictions``. ``newOrderRespType`` ACK, RESULT or FULL (FULL is the
default for MARKET and LIMIT, ACK for the other types, as on Binance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.account_rest import SignedContext, select_by_time
from binbot.exchange.orders import spot_wire
from binbot.exchange.orders.params import int_param, mandatory, optional
from binbot.exchange.orders.spot import SpotBook
from binbot.exchange.rest import BinanceError, Endpoint, Query, json_response
from binbot.exchange.signed_rest import Authenticated, Permission, Security, raw_params


def _fixed(weight: int) -> Callable[[Query], int]:
    return lambda _query: weight


def _per_symbol(with_symbol: int, without: int) -> Callable[[Query], int]:
    return lambda query: with_symbol if query.get("symbol") else without


def _trades_weight(query: Query) -> int:
    return 5 if query.get("orderId") else 20


class SpotRest:
    def __init__(self, ctx: SignedContext) -> None:
        self._ctx = ctx

    def endpoints(self) -> list[Endpoint]:
        s = Market.SPOT

        def e(method: str, path: str, handler: Any, weight: Callable[[Query], int]) -> Endpoint:
            return Endpoint(path, s, handler, weight, method)

        return [
            e("POST", "/api/v3/order", self.new_order, _fixed(1)),
            e("GET", "/api/v3/order", self.get_order, _fixed(4)),
            e("DELETE", "/api/v3/order", self.cancel_order, _fixed(1)),
            e("GET", "/api/v3/openOrders", self.open_orders, _per_symbol(6, 80)),
            e("DELETE", "/api/v3/openOrders", self.cancel_open_orders, _fixed(1)),
            e("GET", "/api/v3/allOrders", self.all_orders, _fixed(20)),
            e("GET", "/api/v3/myTrades", self.my_trades, _trades_weight),
            e("GET", "/api/v3/account", self.account, _fixed(20)),
            e("GET", "/sapi/v1/account/apiRestrictions", self.restrictions, _fixed(1)),
        ]

    async def _auth(self, request: web.Request,
                    permission: Permission = Permission.READ) -> tuple[Authenticated, SpotBook]:
        self._ctx.sync()
        auth = await self._ctx.gate.authenticate(request, Security.SIGNED, permission)
        return auth, self._ctx.books.spot[auth.spec.api_key]

    async def new_order(self, request: web.Request) -> web.Response:
        ctx = self._ctx
        api_key = request.headers.get("X-MBX-APIKEY")
        try:
            auth, book = await self._auth(request, Permission.SPOT_TRADE)
        except BinanceError as e:
            ctx.record(request, Market.SPOT, "order", await raw_params(request), api_key, False,
                       None, e.code)
            raise
        params = auth.params
        try:
            kind = params.get("type", "")
            default = "FULL" if kind in ("MARKET", "LIMIT") else "ACK"
            resp_type = optional(params, "newOrderRespType") or default
            if resp_type not in ("ACK", "RESULT", "FULL"):
                raise BinanceError(-1100, "Illegal characters found in parameter "
                                          "'newOrderRespType'; legal range is 'ACK, RESULT, "
                                          "FULL'.")
            order = book.place(params)
        except BinanceError as e:
            ctx.record(request, Market.SPOT, "order", params, api_key, False, None, e.code)
            raise
        ctx.record(request, Market.SPOT, "order", params, api_key, True, order.order_id, None)
        headers = ctx.orders.count(auth.spec.api_key, Market.SPOT)
        return json_response(spot_wire.new_order(order, resp_type), headers=headers)

    async def get_order(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        return json_response(spot_wire.order_json(book.find_order(auth.params)))

    async def cancel_order(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.SPOT_TRADE)
        order, cancel_id = book.cancel(auth.params)
        return json_response(spot_wire.canceled(order, cancel_id, self._ctx.now_ms()))

    async def cancel_open_orders(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.SPOT_TRADE)
        done = book.cancel_all(mandatory(auth.params, "symbol"))
        if not done:
            raise BinanceError(-2011, "Unknown order sent.")
        now = self._ctx.now_ms()
        return json_response([spot_wire.canceled(o, c, now) for o, c in done])

    async def open_orders(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = optional(auth.params, "symbol")
        if symbol is not None:
            book.view.rules(symbol)
        return json_response([spot_wire.order_json(o) for o in book.open_orders.values()
                              if symbol is None or o.symbol == symbol])

    async def all_orders(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = mandatory(auth.params, "symbol")
        book.view.rules(symbol)
        rows = select_by_time((o for o in book.orders.values() if o.symbol == symbol),
                              auth.params, lambda o: o.time, lambda o: o.order_id, "orderId",
                              500, 1000)
        return json_response([spot_wire.order_json(o) for o in rows])

    async def my_trades(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = mandatory(auth.params, "symbol")
        book.view.rules(symbol)
        order_id = int_param(auth.params, "orderId")
        fills = (f for f in book.fills if f.symbol == symbol
                 and (order_id is None or f.order_id == order_id))
        rows = select_by_time(fills, auth.params, lambda f: f.time, lambda f: f.trade_id,
                              "fromId", 500, 1000)
        return json_response([spot_wire.trade_json(f) for f in rows])

    async def account(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        uid = sum(auth.spec.api_key.encode()) * 7919 % 1_000_000_000
        return json_response(spot_wire.account_json(
            book.free, book.locked, book.maker_fee, book.taker_fee,
            auth.spec.permission("enableWithdrawals"), book.update_time, uid))

    async def restrictions(self, request: web.Request) -> web.Response:
        self._ctx.sync()
        auth = await self._ctx.gate.authenticate(request, Security.SIGNED)
        return json_response(auth.spec.restrictions())
