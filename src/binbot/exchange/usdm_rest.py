"""USD-M signed REST: orders, algo orders, positions, account, settings and the listenKey.

Endpoints (all SIGNED except the listenKey, which needs only ``X-MBX-APIKEY``):
``POST/GET/DELETE /fapi/v1/order``, ``DELETE /fapi/v1/allOpenOrders``,
``POST/GET/DELETE /fapi/v1/algoOrder``, ``GET /fapi/v1/openOrders``, ``/fapi/v1/openAlgoOrders``,
``/fapi/v1/allOrders``, ``/fapi/v1/allAlgoOrders``, ``/fapi/v1/userTrades``,
``/fapi/v3/positionRisk`` (v2 too), ``/fapi/v3/account`` (v2 too), ``/fapi/v3/balance`` (v2 too),
``POST /fapi/v1/leverage``, ``POST /fapi/v1/marginType``, ``GET/POST /fapi/v1/positionSide/dual``,
``POST/PUT/DELETE /fapi/v1/listenKey``. Conditional order types on ``/fapi/v1/order`` answer
-4120 (they live on the algo endpoint since 2025-12).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from binbot.domain.market import Market
from binbot.exchange.account_rest import SignedContext, select_by_time
from binbot.exchange.orders import usdm_wire
from binbot.exchange.orders.params import int_param, mandatory, optional
from binbot.exchange.orders.usdm import FuturesBook
from binbot.exchange.rest import BinanceError, Endpoint, Query, json_response
from binbot.exchange.signed_rest import Authenticated, Permission, Security, raw_params
from binbot.exchange.user_streams import ListenKeys


def _fixed(weight: int) -> Callable[[Query], int]:
    return lambda _query: weight


def _per_symbol(with_symbol: int, without: int) -> Callable[[Query], int]:
    return lambda query: with_symbol if query.get("symbol") else without


class UsdmRest:
    def __init__(self, ctx: SignedContext, listen_keys: ListenKeys) -> None:
        self._ctx = ctx
        self._keys = listen_keys

    def endpoints(self) -> list[Endpoint]:
        u = Market.USDM

        def e(method: str, path: str, handler: Any, weight: Callable[[Query], int]) -> Endpoint:
            return Endpoint(path, u, handler, weight, method)

        return [
            e("POST", "/fapi/v1/order", self.new_order, _fixed(0)),
            e("GET", "/fapi/v1/order", self.get_order, _fixed(1)),
            e("DELETE", "/fapi/v1/order", self.cancel_order, _fixed(1)),
            e("DELETE", "/fapi/v1/allOpenOrders", self.cancel_all, _fixed(1)),
            e("POST", "/fapi/v1/algoOrder", self.new_algo, _fixed(0)),
            e("GET", "/fapi/v1/algoOrder", self.get_algo, _fixed(1)),
            e("DELETE", "/fapi/v1/algoOrder", self.cancel_algo, _fixed(1)),
            e("GET", "/fapi/v1/openOrders", self.open_orders, _per_symbol(1, 40)),
            e("GET", "/fapi/v1/openAlgoOrders", self.open_algos, _per_symbol(1, 40)),
            e("GET", "/fapi/v1/allOrders", self.all_orders, _fixed(5)),
            e("GET", "/fapi/v1/allAlgoOrders", self.all_algos, _fixed(5)),
            e("GET", "/fapi/v1/userTrades", self.user_trades, _fixed(5)),
            e("GET", "/fapi/v3/positionRisk", self.position_risk_v3, _fixed(5)),
            e("GET", "/fapi/v2/positionRisk", self.position_risk_v2, _fixed(5)),
            e("GET", "/fapi/v3/account", self.account, _fixed(5)),
            e("GET", "/fapi/v2/account", self.account, _fixed(5)),
            e("GET", "/fapi/v3/balance", self.balance, _fixed(5)),
            e("GET", "/fapi/v2/balance", self.balance, _fixed(5)),
            e("POST", "/fapi/v1/leverage", self.leverage, _fixed(1)),
            e("POST", "/fapi/v1/marginType", self.margin_type, _fixed(1)),
            e("GET", "/fapi/v1/positionSide/dual", self.get_dual, _fixed(30)),
            e("POST", "/fapi/v1/positionSide/dual", self.set_dual, _fixed(1)),
            e("POST", "/fapi/v1/listenKey", self.listen_key_new, _fixed(1)),
            e("PUT", "/fapi/v1/listenKey", self.listen_key_keepalive, _fixed(1)),
            e("DELETE", "/fapi/v1/listenKey", self.listen_key_delete, _fixed(1)),
        ]

    async def _auth(self, request: web.Request,
                    permission: Permission = Permission.READ) -> tuple[Authenticated, FuturesBook]:
        self._ctx.sync()
        auth = await self._ctx.gate.authenticate(request, Security.SIGNED, permission)
        return auth, self._ctx.books.usdm[auth.spec.api_key]

    # -- orders ---------------------------------------------------------------------------------

    async def new_order(self, request: web.Request) -> web.Response:
        return await self._place(request, "order")

    async def new_algo(self, request: web.Request) -> web.Response:
        return await self._place(request, "algo")

    async def _place(self, request: web.Request, kind: str) -> web.Response:
        ctx = self._ctx
        api_key = request.headers.get("X-MBX-APIKEY")
        try:
            auth, book = await self._auth(request, Permission.FUTURES)
        except BinanceError as e:
            ctx.record(request, Market.USDM, kind, await raw_params(request), api_key, False,
                       None, e.code)
            raise
        params = auth.params
        try:
            if kind == "algo":
                algo = book.place_algo(params)
            else:
                resp_type = optional(params, "newOrderRespType") or "ACK"
                if resp_type not in ("ACK", "RESULT"):
                    raise BinanceError(-1100, "Illegal characters found in parameter "
                                              "'newOrderRespType'; legal range is 'ACK, RESULT'.")
                order = book.place(params)
        except BinanceError as e:
            ctx.record(request, Market.USDM, kind, params, api_key, False, None, e.code)
            raise
        headers = ctx.orders.count(auth.spec.api_key, Market.USDM)
        if kind == "algo":
            ctx.record(request, Market.USDM, kind, params, api_key, True, algo.algo_id, None)
            return json_response(usdm_wire.algo_json(algo, book.view.rules(algo.symbol)),
                                 headers=headers)
        ctx.record(request, Market.USDM, kind, params, api_key, True, order.order_id, None)
        rules = book.view.rules(order.symbol)
        body = usdm_wire.order_json(order, rules)
        if resp_type == "ACK":
            body = usdm_wire.acked(body, rules)
        return json_response(body, headers=headers)

    async def get_order(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        order = book.find_order(auth.params)
        return json_response(usdm_wire.order_json(order, book.view.rules(order.symbol)))

    async def cancel_order(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.FUTURES)
        order = book.cancel(auth.params)
        return json_response(usdm_wire.order_json(order, book.view.rules(order.symbol)))

    async def cancel_all(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.FUTURES)
        book.cancel_all(mandatory(auth.params, "symbol"))
        return json_response({"code": 200, "msg": "The operation of cancel all open order is "
                                                  "done."})

    async def get_algo(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        algo = book.find_algo(auth.params)
        return json_response(usdm_wire.algo_json(algo, book.view.rules(algo.symbol)))

    async def cancel_algo(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.FUTURES)
        algo = book.cancel_algo(auth.params)
        return json_response({"algoId": algo.algo_id, "clientAlgoId": algo.client_algo_id,
                              "code": "200", "msg": "success"})

    def _symbol_filter(self, book: FuturesBook, params: Any, required: bool) -> str | None:
        symbol = mandatory(params, "symbol") if required else optional(params, "symbol")
        if symbol is not None:
            book.view.rules(symbol)
        return symbol

    async def open_orders(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, False)
        return json_response([usdm_wire.order_json(o, book.view.rules(o.symbol))
                              for o in book.open_orders.values()
                              if symbol is None or o.symbol == symbol])

    async def open_algos(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, False)
        return json_response([usdm_wire.algo_json(a, book.view.rules(a.symbol))
                              for a in book.open_algos.values()
                              if symbol is None or a.symbol == symbol])

    async def all_orders(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, True)
        rows = select_by_time((o for o in book.orders.values() if o.symbol == symbol),
                              auth.params, lambda o: o.time, lambda o: o.order_id, "orderId",
                              500, 1000)
        return json_response([usdm_wire.order_json(o, book.view.rules(o.symbol)) for o in rows])

    async def all_algos(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, True)
        rows = select_by_time((a for a in book.algos.values() if a.symbol == symbol),
                              auth.params, lambda a: a.create_time, lambda a: a.algo_id,
                              "algoId", 500, 1000)
        return json_response([usdm_wire.algo_json(a, book.view.rules(a.symbol)) for a in rows])

    async def user_trades(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, True)
        order_id = int_param(auth.params, "orderId")
        fills = (f for f in book.fills if f.symbol == symbol
                 and (order_id is None or f.order_id == order_id))
        rows = select_by_time(fills, auth.params, lambda f: f.time, lambda f: f.trade_id,
                              "fromId", 500, 1000)
        return json_response([usdm_wire.trade_json(f, book.view.rules(f.symbol)) for f in rows])

    # -- positions and account ------------------------------------------------------------------

    async def position_risk_v3(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, False)
        if symbol is not None:
            return json_response([usdm_wire.position_risk(book, symbol)])
        busy = {o.symbol for o in book.open_orders.values()}
        symbols = sorted(s for s, p in book.positions.items() if p.amt != 0 or s in busy)
        return json_response([usdm_wire.position_risk(book, s) for s in symbols])

    async def position_risk_v2(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        symbol = self._symbol_filter(book, auth.params, False)
        symbols = [symbol] if symbol is not None else self._ctx.books.symbols
        return json_response([usdm_wire.position_risk(book, s) for s in symbols])

    async def account(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        return json_response(usdm_wire.account_json(
            book, auth.spec.permission("enableWithdrawals")))

    async def balance(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request)
        return json_response(usdm_wire.balance_rows(book, auth.spec.api_key[:4]))

    async def leverage(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.FUTURES)
        return json_response(book.set_leverage(auth.params))

    async def margin_type(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.FUTURES)
        return json_response(book.set_margin_type(auth.params))

    async def get_dual(self, request: web.Request) -> web.Response:
        _, book = await self._auth(request)
        return json_response({"dualSidePosition": book.dual_side})

    async def set_dual(self, request: web.Request) -> web.Response:
        auth, book = await self._auth(request, Permission.FUTURES)
        return json_response(book.set_dual_side(auth.params))

    # -- listenKey ------------------------------------------------------------------------------

    async def _api_key(self, request: web.Request) -> str:
        auth = await self._ctx.gate.authenticate(request, Security.USER_STREAM)
        return auth.spec.api_key

    async def listen_key_new(self, request: web.Request) -> web.Response:
        return json_response({"listenKey": self._keys.create(await self._api_key(request))})

    async def listen_key_keepalive(self, request: web.Request) -> web.Response:
        return json_response({"listenKey": self._keys.keepalive(await self._api_key(request))})

    async def listen_key_delete(self, request: web.Request) -> web.Response:
        self._keys.delete(await self._api_key(request))
        return json_response({})
