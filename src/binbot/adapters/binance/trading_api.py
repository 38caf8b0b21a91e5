"""``BinanceTradingApi``: the signed endpoints of one market, one method each.

Answers come back as domain values or ``account_parsing`` views; errors as domain errors
(``Rejected.code`` keeps the Binance code for the callers that decide on it). Nothing here
retries a mutation or decides what an error means for an order: that is the execution client's
job. No method makes a request the caller did not ask for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

import msgspec

from binbot.adapters.binance import account_parsing as parse
from binbot.adapters.binance.order_params import OrderRequest
from binbot.adapters.binance.signed_rest import SignedTransport
from binbot.adapters.binance.signing import ParamValue
from binbot.adapters.binance.wire_account import (
    WireAlgoOrder,
    WireApiRestrictions,
    WireFuturesAssetBalance,
    WireListenKey,
    WireOrder,
    WirePositionMode,
    WirePositionRisk,
    WireSpotAccount,
    WireTrade,
)
from binbot.domain.account import Balance, PositionSnapshot
from binbot.domain.errors import TransientError
from binbot.domain.market import Market

T = TypeVar("T")

_ORDER: Final = {Market.SPOT: "/api/v3/order", Market.USDM: "/fapi/v1/order"}
_OPEN: Final = {Market.SPOT: "/api/v3/openOrders", Market.USDM: "/fapi/v1/openOrders"}
_TRADES: Final = {Market.SPOT: "/api/v3/myTrades", Market.USDM: "/fapi/v1/userTrades"}
ALGO_ORDER: Final = "/fapi/v1/algoOrder"
LISTEN_KEY: Final = "/fapi/v1/listenKey"


def _decode(kind: type[T], body: bytes) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise TransientError(f"unexpected response body ({e}): {body[:200]!r}") from e


class BinanceTradingApi:
    """Signed REST for one market (spot or USD-M) over a ``SignedTransport``."""

    def __init__(self, transport: SignedTransport) -> None:
        self.transport = transport
        self.market = transport.market

    def _usdm_only(self, what: str) -> None:
        if self.market is not Market.USDM:
            raise ValueError(f"{what} exists on USD-M only")

    async def _call(self, method: str, path: str, params: Sequence[tuple[str, ParamValue]],
                    *, weight: int, mutation: bool) -> bytes:
        return await self.transport.request(method, path, params, weight=weight,
                                            mutation=mutation)

    # ------------------------------------------------------------------ orders

    async def place(self, request: OrderRequest) -> parse.ExchangeOrder:
        """``POST`` the order (regular or algo); never retried (see ``SignedTransport``)."""
        body = await self._call("POST", request.path, request.params, weight=1, mutation=True)
        if request.is_algo:
            return parse.algo_order(_decode(WireAlgoOrder, body))
        return parse.exchange_order(_decode(WireOrder, body), self.market)

    async def cancel(self, symbol: str, client_order_id: str) -> parse.ExchangeOrder:
        params = (("symbol", symbol), ("origClientOrderId", client_order_id))
        body = await self._call("DELETE", _ORDER[self.market], params, weight=1, mutation=True)
        return parse.exchange_order(_decode(WireOrder, body), self.market)

    async def cancel_algo(self, client_algo_id: str) -> parse.ExchangeOrder:
        self._usdm_only("algo orders")
        body = await self._call("DELETE", ALGO_ORDER, (("clientAlgoId", client_algo_id),),
                                weight=1, mutation=True)
        return parse.algo_order(_decode(WireAlgoOrder, body))

    async def order(self, symbol: str, client_order_id: str | None = None,
                    order_id: str | None = None) -> parse.ExchangeOrder:
        """``GET`` one order by client id (``origClientOrderId``) or exchange id."""
        params: list[tuple[str, ParamValue]] = [("symbol", symbol)]
        if client_order_id is not None:
            params.append(("origClientOrderId", client_order_id))
        elif order_id is not None:
            params.append(("orderId", order_id))
        else:
            raise ValueError("need a client order id or an order id")
        weight = 4 if self.market is Market.SPOT else 1
        body = await self._call("GET", _ORDER[self.market], params, weight=weight,
                                mutation=False)
        return parse.exchange_order(_decode(WireOrder, body), self.market)

    async def algo_order(self, client_algo_id: str) -> parse.ExchangeOrder:
        self._usdm_only("algo orders")
        body = await self._call("GET", ALGO_ORDER, (("clientAlgoId", client_algo_id),),
                                weight=1, mutation=False)
        return parse.algo_order(_decode(WireAlgoOrder, body))

    async def open_orders(self, symbol: str | None = None) -> list[parse.ExchangeOrder]:
        params = (("symbol", symbol),) if symbol else ()
        if self.market is Market.SPOT:
            weight = 6 if symbol else 80
        else:
            weight = 1 if symbol else 40
        body = await self._call("GET", _OPEN[self.market], params, weight=weight,
                                mutation=False)
        return [parse.exchange_order(w, self.market) for w in _decode(list[WireOrder], body)]

    async def open_algo_orders(self, symbol: str | None = None) -> list[parse.ExchangeOrder]:
        self._usdm_only("algo orders")
        params = (("symbol", symbol),) if symbol else ()
        body = await self._call("GET", "/fapi/v1/openAlgoOrders", params,
                                weight=1 if symbol else 40, mutation=False)
        return [parse.algo_order(w) for w in _decode(list[WireAlgoOrder], body)]

    async def trades(self, symbol: str, *, from_id: int | None = None,
                     order_id: str | None = None, limit: int = 1000) -> list[parse.TradeReport]:
        """The account's trades on ``symbol``: from trade id ``from_id`` on, or of one order."""
        params: list[tuple[str, ParamValue]] = [("symbol", symbol)]
        if order_id is not None:
            params.append(("orderId", order_id))
        if from_id is not None:
            params.append(("fromId", from_id))
        params.append(("limit", limit))
        if self.market is Market.SPOT:
            weight = 5 if order_id is not None else 20
        else:
            weight = 5
        body = await self._call("GET", _TRADES[self.market], params, weight=weight,
                                mutation=False)
        return [parse.trade_report(w) for w in _decode(list[WireTrade], body)]

    # ------------------------------------------------------------------ account

    async def positions(self, symbol: str | None = None) -> list[PositionSnapshot]:
        self._usdm_only("positionRisk")
        params = (("symbol", symbol),) if symbol else ()
        body = await self._call("GET", "/fapi/v3/positionRisk", params, weight=5,
                                mutation=False)
        return [parse.position_snapshot(w) for w in _decode(list[WirePositionRisk], body)]

    async def balances(self) -> list[Balance]:
        if self.market is Market.USDM:
            body = await self._call("GET", "/fapi/v3/balance", (), weight=5, mutation=False)
            return parse.futures_balances(_decode(list[WireFuturesAssetBalance], body))
        body = await self._call("GET", "/api/v3/account", (("omitZeroBalances", "true"),),
                                weight=20, mutation=False)
        return parse.spot_balances(_decode(WireSpotAccount, body))

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        self._usdm_only("leverage")
        await self._call("POST", "/fapi/v1/leverage",
                         (("symbol", symbol), ("leverage", leverage)), weight=1, mutation=True)

    async def set_margin_type(self, symbol: str, margin_type: str) -> None:
        """``ISOLATED`` or ``CROSSED``; the venue answers -4046 when nothing changes."""
        self._usdm_only("margin type")
        await self._call("POST", "/fapi/v1/marginType",
                         (("symbol", symbol), ("marginType", margin_type)),
                         weight=1, mutation=True)

    async def hedge_mode(self) -> bool:
        """True when the account is in hedge (dual-side) position mode."""
        self._usdm_only("position mode")
        body = await self._call("GET", "/fapi/v1/positionSide/dual", (), weight=30,
                                mutation=False)
        return _decode(WirePositionMode, body).dualSidePosition

    async def api_restrictions(self) -> WireApiRestrictions:
        """``GET /sapi/v1/account/apiRestrictions`` on the spot host (absent on testnets)."""
        body = await self._call("GET", "/sapi/v1/account/apiRestrictions", (), weight=1,
                                mutation=False)
        return _decode(WireApiRestrictions, body)

    # ------------------------------------------------------------------ listenKey (USD-M)

    async def create_listen_key(self) -> str:
        self._usdm_only("listenKey")
        body = await self.transport.request("POST", LISTEN_KEY, (), weight=1, mutation=True,
                                            signed=False)
        return _decode(WireListenKey, body).listenKey

    async def keepalive_listen_key(self) -> None:
        self._usdm_only("listenKey")
        await self.transport.request("PUT", LISTEN_KEY, (), weight=1, mutation=True,
                                     signed=False)

    async def delete_listen_key(self) -> None:
        self._usdm_only("listenKey")
        await self.transport.request("DELETE", LISTEN_KEY, (), weight=1, mutation=True,
                                     signed=False)
